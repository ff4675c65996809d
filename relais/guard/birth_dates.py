"""Dates of birth: a date announced as a birth ("né le 12/03/1985", "DOB: 1985-03-12", "born on March 12, 1985").

A date alone is everywhere in a pharma text (batch dates, expiry dates, audit dates), so only a date
right after a birth word is reported. An age ("âgé de 42 ans") is not a date of birth. Dates are
read in the formats people type: 12/03/1985, 12.03.1985, 12-03-85, 1985-03-12, 12 mars 1985,
1er mars 1985, March 12, 1985, 12 March 1985, and a year alone after "né en" / "born in".
"""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.birth_forms import birthday_lists, dates_in_words, inserted_births
from relais.guard.recognizers import LANGUAGE, is_sample
from relais.guard.tables import tables

SCORE = 0.85
_FRENCH_MONTHS = (r"janvier|janv\.?|février|fevrier|févr?\.?|fevr?\.?|mars|avril|avr\.?|mai|juin|juillet|juil\.?|"
                  r"août|aout|septembre|sept?\.?|octobre|oct\.?|novembre|nov\.?|décembre|decembre|déc\.?|dec\.?")
_ENGLISH_MONTHS = (r"january|jan\.?|february|feb\.?|march|mar\.?|april|apr\.?|may|june|jun\.?|july|jul\.?|"
                   r"august|aug\.?|september|sept?\.?|october|oct\.?|november|nov\.?|december|dec\.?")
MONTH = rf"(?:{_FRENCH_MONTHS}|{_ENGLISH_MONTHS})"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:er|st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d"
_NUMERIC = (r"(?:0?[1-9]|[12]\d|3[01])[/.\-](?:0?[1-9]|1[0-2])[/.\-](?:(?:19|20)\d\d|\d\d)"  # 12/03/1985, 12.03.85
            r"|(?:19|20)\d\d[/.\-](?:0?[1-9]|1[0-2])[/.\-](?:0?[1-9]|[12]\d|3[01])"  # 1985-03-12
            r"|(?:0?[1-9]|1[0-2])/(?:1[3-9]|2\d|3[01])/(?:19|20)\d\d")  # 07/14/1985: a US date (day > 12)
_WRITTEN = (rf"{_DAY}[^\S\n]+{MONTH}[^\S\n]+{_YEAR}"  # 12 mars 1985, 1er mars 1985
            rf"|{_DAY}-{MONTH}-{_YEAR}"  # 04-Jul-1992 (passports, airline forms)
            rf"|{MONTH}[^\S\n]+{_DAY},?[^\S\n]+{_YEAR}")  # March 12, 1985
_DATE = rf"(?<![\w/.\-])(?:{_NUMERIC}|{_WRITTEN})(?![\w/]|[.\-]\d)"
# The words that announce a birth date, then a few filler words ("le", "on", ":", "à Lyon le").
BIRTH_WORDS = (
    r"née?s?|né\(e\)s?|date\s+de\s+naissance|dates\s+de\s+naissance|naissance|d\.?d\.?n\.?|dob|d\.o\.b\.|"
    r"born|birth\s*date|date\s+of\s+birth|birthday|anniversaire|geboren|geb\.|nacido|nata?"
    # the other European languages of a form or a mail (« data de nascimento », « Meu aniversário é »,
    # « fecha de nacimiento », « data di nascita », « Geburtsdatum », « geboortedatum »)
    r"|data\s+de\s+nascimento|nascid[oa]|aniversário|aniversario|fecha\s+de\s+nacimiento|nacida|cumpleaños|"
    r"data\s+di\s+nascita|compleanno|geburtsdatum|geburtstag|geboortedatum|verjaardag|födelsedatum|fødselsdato"
    # « "birth": "1991-06-19" », « birth=… »: « birth » alone only as a key
    r"|birth(?=[\"'`]?[^\S\n]*[:=])"
    # keys of JSON, CSV headers and code: "date_naissance": "1992-11-03", birth_date=, dateOfBirth
    r"|date_?naissance|date_?de_?naissance|birth_?date|date_?of_?birth|dateofbirth|dob_?date"
)
# « DOB (passport): 1990-06-18 »: a short note in parentheses may come between; « <DateOfBirth>… »: a tag's end.
_FILLER = (r"(?:[^\S\n]*(?:le|la|du|on|is|was|est|était|é|es|ist|am|op|il|el|em|:|-|–|=|>|[\"'`]|"
           r"à\s+[\w'’\-]+(?:\s+[\w'’\-]+)?,?|"
           r"in\s+[\w'’\-]+,?|\([^()\n]{1,25}\)|\(|,))*[^\S\n]*")
_DATE_AFTER_BIRTH = regex.compile(rf"(?i:(?<![\w])(?:{BIRTH_WORDS})(?![\w]){_FILLER})(?P<date>(?i:{_DATE}))")
# "né en 1985", "born in 1985": a year alone is a date of birth too, after these words only.
# « DDN 03071984 », « dob: 19840703 »: a date typed without separators, after a birth word only.
_UNSEPARATED_AFTER_BIRTH = regex.compile(
    rf"(?i:(?<![\w])(?:{BIRTH_WORDS})(?![\w]){_FILLER})"
    r"(?P<date>(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])(?:19|20)\d\d|(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
    r"(?!\d)"
)
_EIGHT_DIGITS = regex.compile(r"\d{8}")
# « Gérard Lamy (° 14/11/1958 à Roanne) »: the degree sign of genealogies and civil records says « born ».
_DEGREE_BIRTH = regex.compile(rf"(?<![\w°])°[^\S\n]*(?P<date>(?i:{_DATE}))")
# A year of birth of anyone at all (« for someone born in 1964 », « les assurés nés en 1965 ») is a cohort, a rule's
# case, nobody's birth date.
_ANYONE = (r"(?<!(?i:\b(?:someone|somebody|anyone|anybody|a\s+person|people|persons|those|employees|workers|"
           r"quelqu['’]un|une\s+personne|des\s+personnes|les\s+personnes|ceux|celles|les\s+salariés|un\s+salarié|"
           r"une\s+salariée|les\s+assurés|un\s+assuré|une\s+assurée|générations?|generations?|cohortes?|cohorts?))"
           r"[^\S\n]+)")
_YEAR_AFTER_BIRTH = regex.compile(rf"(?i:(?=n|b)){_ANYONE}(?i:(?<![\w])(?:née?s?|born)[^\S\n]+(?:en|in)[^\S\n]+)"
                                  rf"(?P<date>{_YEAR})(?!\d)")
_BIRTH_HEADER = regex.compile(rf"(?i:{BIRTH_WORDS}|ddn|date[\s_]naiss\.?|birth)")
_BIRTH_HEADER_WORD = regex.compile(r"(?i:naiss|ddn|dob|birth|née?\b|born)")
# « trie ces anniversaires : Maxime 04/07/1979, Élodie 29/02/1996 », « dates of birth: … »: a plural birth word
# announces a list, and every date on the rest of its line is one.
_BIRTH_LIST = regex.compile(r"(?i:(?<![\w])(?:anniversaires|birthdays|dates\s+de\s+naissance|dates\s+of\s+birth|"
                            r"birth\s*dates)(?![\w]))[^\n]{0,300}")
_DATES = regex.compile(rf"(?i:{_DATE})")
# "Name (12/03/1985)" is not enough evidence; "Nom, 42 ans" is an age. Only announced dates count.


class BirthDateRecognizer(EntityRecognizer):
    """DATE_NAISSANCE: a date (or a year) after a word that announces a birth."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["DATE_NAISSANCE"], supported_language=LANGUAGE,
                         name="BirthDateRecognizer")

    def load(self) -> None:
        """Nothing to load: patterns only."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Dates announced as births."""
        spans = {match.span("date") for pattern in (_DATE_AFTER_BIRTH, _YEAR_AFTER_BIRTH)
                 for match in pattern.finditer(text)}
        if _EIGHT_DIGITS.search(text):
            spans |= {match.span("date") for match in _UNSEPARATED_AFTER_BIRTH.finditer(text)}
        if "°" in text:
            spans |= {match.span("date") for match in _DEGREE_BIRTH.finditer(text)}
        spans |= set(_dates_of_birth_columns(text))
        spans |= {*dates_in_words(text), *birthday_lists(text), *inserted_births(text)}
        for listed in _BIRTH_LIST.finditer(text):
            spans |= {date.span() for date in _DATES.finditer(text, listed.start(), listed.end())}
        # « obviously fake data: … DOB 01/01/1970 »: a sample's date is no one's birth
        return [RecognizerResult("DATE_NAISSANCE", start, end, SCORE) for start, end in sorted(spans)
                if not is_sample(text, start)]


# compiled once: a pattern given as a string is looked up in `regex`'s cache at each call, and recompiled when
# the cache (500 patterns, tossed at random when full: the e-mail names' patterns fill it) has dropped it
_WHOLE_DATE = regex.compile(_DATE, regex.IGNORECASE)


def _dates_of_birth_columns(text: str):
    """The dates in a table column whose header announces births (« ddn », « Date de naissance », « DOB »)."""
    if not _BIRTH_HEADER_WORD.search(text):
        return
    for table in tables(text):
        columns = {i for i, title in enumerate(table.header) if _BIRTH_HEADER.fullmatch(title.strip(" *_"))}
        for row in table.rows[1:]:
            for column in columns & set(range(len(row))):
                start, end = row[column]
                if _WHOLE_DATE.fullmatch(text[start:end]):
                    yield start, end

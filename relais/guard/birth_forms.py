"""Dates of birth in the forms round 13 added: in words, in a list of birthdays, in an SQL insert.

- In words after a birth word (« born on the fourteenth of February nineteen eighty-three », « né le vingt-sept
  juillet mil neuf cent quatre-vingt-un »): what an attestation or a dictated letter writes out.
- A list of birthdays one per line (« anniversaires de l'équipe : », then « Céline – 12/01 », « Maxime – 3 avril
  1988 »): a day and month alone is the birthday there.
- « INSERT INTO staff (name, dob, …) VALUES ('…', '1985-02-13', …) »: the value in the birth column.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex

_MONTHS = (r"(?:janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|"
           r"decembre|january|february|march|april|may|june|july|august|september|october|november|december)")
_NUMBER_WORD = (r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
                r"fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|one|two|three|"
                r"four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
                r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|and|"
                r"premier|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|"
                r"seize|vingts?|trente|quarante|cinquante|soixante|cents?|mille|mil|et)")
_WORDS = rf"{_NUMBER_WORD}(?:[\s-]+{_NUMBER_WORD})*"
# after « né le », « born on », « date de naissance : »
_IN_WORDS = regex.compile(
    r"(?i:(?<![\w])(?:née?|born|date\s+de\s+naissance|date\s+of\s+birth)[^\S\n]+(?:(?:le|on|:)[^\S\n]+)?)"
    rf"(?P<date>(?i:(?:the[^\S\n]+)?{_WORDS}(?:[^\S\n]+of)?[^\S\n]+{_MONTHS}(?:,?[^\S\n]+{_WORDS}(?<![^\S\n-]et)"
    r"|,?[^\S\n]+(?:19|20)\d\d)?)(?![\w]))"
)
_BIRTHDAYS = regex.compile(r"(?i:(?<![\w])(?:anniversaires|birthdays|dates\s+de\s+naissance|dates\s+of\s+birth)"
                           r"(?![\w]))[^\n]*\n")
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:er|st|nd|rd|th)?"
_LIST_DATE = (rf"{_DAY}[/.](?:0?[1-9]|1[0-2])(?:[/.](?:19|20)?\d\d)?"
              rf"|{_DAY}[^\S\n]+{_MONTHS}(?:[^\S\n]+(?:19|20)\d\d)?|{_MONTHS}[^\S\n]+{_DAY}(?:,?[^\S\n]+(?:19|20)\d\d)?")
# « Céline – 12/01 », « Bastien G. – 17 décembre », « Soraya – née le 28.09.1992 »: who, a dash or a colon, the date.
_LIST_LINE = regex.compile(
    r"[^\S\n]*[-*•]?[^\S\n]*[^\n:–—\-]{1,40}?[^\S\n]*[–—:\-][^\S\n]*(?:(?i:née?|born)[^\S\n]+(?:(?i:le|on)[^\S\n]+)?)?"
    rf"(?P<date>(?i:{_LIST_DATE}))[^\S\n]*(?:\n|$)"
)
_INSERT = regex.compile(r"(?is:insert\s+into\s+[\w.`\"\[\]]+\s*\((?P<columns>[^()]*)\)"
                        r"\s*values\s*\((?P<values>[^()]*)\))")
_BIRTH_COLUMN = regex.compile(r"(?i:[`\"\[]?(?:dob|ddn|birth_?date|date_?of_?birth|date_?naissance|"
                              r"date_?de_?naissance|naissance|birthday)[`\"\]]?)")
_VALUE = regex.compile(r"[^\s,'\"][^,]*?(?=['\"]?\s*(?:,|$))")


def dates_in_words(text: str) -> Iterator[tuple[int, int]]:
    """Birth dates written out in words after a birth word."""
    for match in _IN_WORDS.finditer(text):
        yield match.span("date")


def birthday_lists(text: str) -> Iterator[tuple[int, int]]:
    """The dates of the lines that follow a list of birthdays' heading, one person a line."""
    for heading in _BIRTHDAYS.finditer(text):
        position = heading.end()
        while line := _LIST_LINE.match(text, position):
            yield line.span("date")
            position = line.end()


def inserted_births(text: str) -> Iterator[tuple[int, int]]:
    """The value of a birth column in an SQL INSERT."""
    for insert in _INSERT.finditer(text):
        columns = [column.strip() for column in insert.group("columns").split(",")]
        births = {i for i, column in enumerate(columns) if _BIRTH_COLUMN.fullmatch(column)}
        position = insert.start("values")
        for index, piece in enumerate(insert.group("values").split(",")):
            value = _VALUE.search(piece) if index in births else None
            if value:
                yield position + value.start(), position + value.end()
            position += len(piece) + 1

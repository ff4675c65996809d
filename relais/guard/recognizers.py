"""Presidio recognisers for the personal and sensitive data of a French pharma company.

Every identifier with a check digit is validated (NIR key, IBAN mod 97, Luhn), so that batch
numbers, CAS numbers and product codes do not pass for personal data. SIREN/SIRET numbers pass
Luhn one time in ten by chance: they also need a context word ("SIRET", "société"...).
Identifiers are found however they were typed: any letter case, and split by up to three spaces,
a tab or a line break (a NIR wrapped at the end of a line, an IBAN pasted from a PDF). The
patterns allow that whitespace themselves, so spans stay exact and no second pass is needed.
Importing this module imports Presidio (not spaCy); the engine imports it lazily.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import regex
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

from relais.guard.checksums import (
    company_number_is_valid,
    iban_is_valid,
    luhn_is_valid,
    nir_is_valid,
    nir_without_key_is_valid,
)
from relais.guard.tables import tables

LANGUAGE = "fr"  # every text goes through the French pipeline, English ones included
WORD_LISTS = Path(__file__).resolve().parents[2] / "knowledge" / "guard"
CASE_SENSITIVE = regex.DOTALL | regex.MULTILINE
# Between the groups of an identifier: a dot, a hyphen, or up to three blanks with at most one line break.
BLANKS = r"(?:[^\S\n]{1,3}|[^\S\n]{0,2}\n[^\S\n]{0,2})"
SEP = rf"(?:[.\-]|{BLANKS})?"

# A word that can be part of a name: Capitalised (Dupont, Lefèvre, O'Neil, Wiśniewski, Öztürk) or in
# capitals (DUPONT). Any Latin letter with its diacritics (\p{Lu}/\p{Ll}, `regex` patterns only).
NAME_WORD = r"(?:(?:O['’]|Ma?c(?=\p{Lu}\p{Ll}))?\p{Lu}\p{Ll}+(?:['’-]\p{Lu}?\p{Ll}+)*|\p{Lu}{2,}(?:-\p{Lu}{2,})?)"
NAME = rf"{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,2}}"
TITLES = r"M\.|MM\.|Mme|Mmes|Mlle|Mr\.?|Mrs\.?|Ms\.?|Dr\.?|Pr\.?|Docteur|Professeur|Monsieur|Madame|Mademoiselle"
NAME_CONTEXT = (
    r"(?i:patiente?s?|né(?:e)?\s+|nommée?|m'appelle|je\s+suis|signée?\s+par|rédigée?\s+par|approuvée?\s+par|"
    r"vérifiée?\s+par|de\s+la\s+part\s+de|written\s+by|signed\s+by|approved\s+by|my\s+name\s+is|patients?|"
    r"opérat(?:eur|rice)|technicien(?:ne)?|salariée?|employée?|collègue|auditrice|inspect(?:eur|rice)|"
    r"operator|technician|employee|colleague)"
)


class _ValidatedPatternRecognizer(PatternRecognizer):
    """A pattern recogniser whose matches must pass `is_valid`; case-sensitive unless said."""

    def __init__(self, entity: str, patterns: list[Pattern], context: list[str] | None = None,
                 *, flags: int = CASE_SENSITIVE, needs_context: bool = False) -> None:
        super().__init__(supported_entity=entity, name=f"{entity.title()}Recognizer", supported_language=LANGUAGE,
                         patterns=patterns, context=context or [], global_regex_flags=flags)
        self._needs_context = needs_context

    def is_valid(self, text: str) -> bool:
        """Whether a match is a real identifier; every match by default."""
        return True

    def validate_result(self, pattern_text: str) -> bool | None:
        """Presidio hook: an invalid match is dropped; a valid one that needs context keeps its low score."""
        if not self.is_valid(pattern_text):
            return False
        return None if self._needs_context else True


class NirRecognizer(_ValidatedPatternRecognizer):
    """French social-security number: sex, year, month, department (2A/2B for Corsica), commune, order, key.

    Typed in the card's groups (1 85 03 75 123 456 78), with dots or hyphens, the key after "clé", or
    unspaced. Complete, it must pass its key. Without its key (13 characters) it is still a NIR when
    typed in the card's groups, or next to a context word ("sécurité sociale", "NIR") when unspaced.
    """

    def __init__(self) -> None:
        body = (rf"(?<![\w])[1-478]{SEP}\d{{2}}{SEP}(?:0[1-9]|1[0-2]|[2-9]\d){SEP}(?:\d{{2}}|2[AB])"
                rf"{SEP}\d{{3}}{SEP}\d{{3}}")
        key = rf"(?:{SEP}|[^\S\n]*[(\[]?(?i:clé|cle|key)[^\S\n]*:?[^\S\n]*)\d{{2}}[)\]]?(?![\w])"
        grouped = (r"(?<![\w])[1-478][ .\-]\d{2}[ .\-]\d{2}[ .\-](?:\d{2}|2[AB])[ .\-]\d{3}[ .\-]\d{3}"
                   rf"(?![\w]|{SEP}\d)")
        patterns = [Pattern("nir", body + key, 0.5), Pattern("nir_without_key", grouped, 0.5),
                    Pattern("nir_unspaced_without_key", r"(?<![\w])[1-478]\d{4}(?:\d{2}|2[AB])\d{6}(?![\w])", 0.3)]
        super().__init__("NIR", patterns, ["sécurité", "sociale", "sécu", "nir", "insee", "ssn", "immatriculation"])

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):  # noqa: D102
        # « exemple de NIR fictif pour nos tests : 1 23 45 67 890 123 XX »: a sample, no one's (as for IBANs)
        return [result for result in super().analyze(text, entities, nlp_artifacts, regex_flags)
                if not is_sample(text, result.start)]

    def validate_result(self, pattern_text: str) -> bool | None:
        """A complete NIR passes its key; 13 unspaced digits keep their low score until a context word raises it."""
        if nir_is_valid(_without_key_word(pattern_text)):
            return True
        if not nir_without_key_is_valid(pattern_text):
            return False
        return None if pattern_text.isalnum() else True


_KEY_WORD = regex.compile(r"(?i:clé|cle|key)|[()\[\]:]")


def _without_key_word(text: str) -> str:
    return _KEY_WORD.sub("", text)


class IbanRecognizer(PatternRecognizer):
    """IBAN of any country, in any letter case and grouping, checked mod 97.

    A lower-case IBAN is followed by lower-case words ("fr76 ... 189 pour le virement"), so a
    match is cut back, group by group, to the longest prefix that passes the check.
    """

    PATTERN = regex.compile(rf"(?<![\w])(?i:[A-Z]{{2}}\d{{2}}(?:{SEP}[A-Z0-9]{{1,4}}){{3,8}})(?![\w])")
    GROUP_END = regex.compile(r"[A-Za-z0-9](?![A-Za-z0-9])")
    SCORE = 0.9

    def __init__(self) -> None:
        super().__init__(supported_entity="IBAN", name="IbanRecognizer", supported_language=LANGUAGE,
                         patterns=[Pattern("iban", self.PATTERN.pattern, self.SCORE)])

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None, regex_flags=None):  # noqa: D102
        results = []
        for match in self.PATTERN.finditer(text):
            end = self._longest_valid_end(text, match.start(), match.end())
            if end is not None and not _is_example(text, match.start()) and not _is_zeros(text[match.start() + 4:end]):
                results.append(RecognizerResult("IBAN", match.start(), end, self.SCORE))
        return results

    def _longest_valid_end(self, text: str, start: int, end: int) -> int | None:
        ends = [group.end() for group in self.GROUP_END.finditer(text, start, end)]
        for candidate in reversed(ends):
            if iban_is_valid(text[start:candidate]):
                return candidate
        return None


# An IBAN given as an example (« la norme donne comme exemple d'IBAN … », « the documented test vectors … »): what
# announces it, then nothing that makes it someone's account or a payment.
_EXAMPLE_BEFORE = regex.compile(r"(?i:\b(?:exemples?|examples?|test\s+vectors?|sp[ée]cimens?|documented|"
                                r"fictifs?|fictive|fictitious|fictional|placeholders?|dummy|sample|fake)\b)")
_OWNED_OR_PAID = regex.compile(r"(?i:\b(?:mon|ma|mes|son|sa|ses|notre|nos|votre|vos|my|his|her|their|our|your|"
                               r"virements?|versée?s?|verser|payée?s?|paid|pay|transfer|wire|rembours\w*|refund\w*|bénéficiaire|"
                               r"beneficiary)\b)")
EXAMPLE_REACH = 80
# compiled once: a pattern given as a string is looked up in `regex`'s cache at each call, and recompiled when
# the cache (500 patterns, tossed at random when full: the e-mail names' patterns fill it) has dropped it
_SENTENCE_BREAK = regex.compile(r"[.!?;\n]")
_NON_DIGIT = regex.compile(r"\D")
_OPENING_QUOTE = regex.compile(r"([«“\"'‘])[^\S\n]*$")


# Whose a NIR or a birth date is (« son NIR », « Mme Roy, née le … »); « nos tests » owns no number.
_PERSONAL_OWNER = regex.compile(r"(?i:\b(?:mon|ma|mes|son|sa|ses|votre|ton|ta|my|his|her|their|your|"
                                r"mme|mlle|madame|monsieur|mr|mrs|ms|dr)\b)")


def is_sample(text: str, start: int) -> bool:
    """Whether a person's value (a NIR, a birth date) is announced as a sample, and whose it is is not said."""
    return _is_example(text, start, _PERSONAL_OWNER)


def _is_zeros(digits: str) -> bool:
    """Whether a number's body is all zeros but for its last four digits (« FR76 0000 0000 … », « 4000 … 0002 »)."""
    body = _NON_DIGIT.sub("", digits)
    return len(body) >= 10 and body[:-4].strip("0") == ""  # « 4000 0000 0000 9995 »: its last group is free


def _is_example(text: str, start: int, owners: regex.Pattern = _OWNED_OR_PAID) -> bool:
    """Whether the words before a value in its sentence give it as an example (`_EXAMPLE_BEFORE`), no one's."""
    window = text[max(0, start - EXAMPLE_REACH) : start]
    window = _SENTENCE_BREAK.split(window)[-1]
    cues = list(_EXAMPLE_BEFORE.finditer(window))
    return bool(cues) and not owners.search(window, cues[-1].end())


class PaymentCardRecognizer(_ValidatedPatternRecognizer):
    """Payment card numbers (13 to 19 digits, Visa/Mastercard/Amex/CB prefixes), Luhn-checked."""

    def __init__(self) -> None:
        # Visa, Mastercard, CB, Amex prefixes; grouped by four, Amex 4-6-5, or unspaced.
        prefix = r"(?<![\w])(?=4|5[1-5]|2[2-7]|6|3[47])"
        patterns = [
            Pattern("card_groups", prefix + rf"\d{{4}}(?:-|{BLANKS})\d{{4}}(?:-|{BLANKS})\d{{4}}(?:-|{BLANKS})\d{{1,4}}"
                                            rf"(?:(?:-|{BLANKS})\d{{3}})?(?![\w])", 0.5),
            Pattern("card_amex", prefix + rf"\d{{4}}(?:-|{BLANKS})\d{{6}}(?:-|{BLANKS})\d{{5}}(?![\w])", 0.5),
            Pattern("card_digits", prefix + r"\d{13,19}(?![\w])", 0.5),
        ]
        super().__init__("CARTE_BANCAIRE", patterns, ["carte", "card", "visa", "cb", "paiement"])

    def is_valid(self, text: str) -> bool:  # noqa: D102
        digits = "".join(c for c in text if c.isdigit())
        # an Amex number (34, 37) has 15 digits: thirteen from « 34 » are a French barcode (CIP13, EAN-13 « 3400936… »)
        if digits.startswith(("34", "37")) and len(digits) != 15:
            return False
        return 13 <= len(digits) <= 19 and luhn_is_valid(text)

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):  # noqa: D102
        cards = self._cards(text, entities, nlp_artifacts, regex_flags)
        if not cards:
            return cards
        details = [(card, match.span(group)) for card in cards if (match := _EXPIRY_AFTER.match(text, card.end))
                   for group in ("date", "code") if match.group(group)]
        # an expiry or a security code said as such elsewhere (« Titulaire : … – exp 09/27 », « CVV 417 ») is
        # this card's too, once the text holds a card
        details += [(cards[0], match.span("value")) for match in _SAID_EXPIRY.finditer(text)]
        # the code with its keyword, as the secrets' recogniser takes it (« CVV 482 »): one span, not two pieces
        details += [(cards[0], match.span()) for match in _SAID_SECURITY_CODE.finditer(text)]
        return cards + [self._detail(card, start, end) for card, (start, end) in details]

    def _detail(self, card: RecognizerResult, start: int, end: int) -> RecognizerResult:
        """A card's expiry date or security code, explained as the card is (Presidio's context step reads both)."""
        explanation = self.build_regex_explanation("PaymentCardRecognizer", "card_expiry", _EXPIRY_AFTER.pattern,
                                                   card.score, True, 0)
        return RecognizerResult("CARTE_BANCAIRE", start, end, card.score, analysis_explanation=explanation,
                                recognition_metadata=dict(card.recognition_metadata or {}))

    def _cards(self, text, entities, nlp_artifacts, regex_flags):
        # Two digits repeated (« 4242 4242 4242 4242 », « 4111 1111 1111 1111 », « 5555 5555 5555 4444 ») is the
        # shape of the test numbers that networks and payment providers publish: in a sentence about testing
        # (« test card », « sandbox », « recette ») it is that public number; said to be debited, it stands for a card.
        return [result for result in super().analyze(text, entities, nlp_artifacts, regex_flags)
                if not ((len(set(_NON_DIGIT.sub("", text[result.start:result.end]))) <= 2
                         or _is_zeros(text[result.start + 1:result.end]))
                        and _TESTING.search(text[text.rfind("\n", 0, result.start) + 1 : result.start + 200]))]


_EXPIRY_WORD = (r"(?i:exp(?:\.|ir(?:y|es?|ation|ing))?|expire|expirant|"
                r"valid(?:e|ité)?\s+(?:jusqu['’]au|until|thru|through)|date\s+d['’]expiration|fin\s+de\s+validité)\b\.?")
_EXPIRY_DATE = r"(?:0[1-9]|1[0-2])[^\S\n]?[/-][^\S\n]?(?:20)?\d{2}(?![\d/])"
_SECURITY_WORD = (r"(?i:cvv2?|cvc2?|csc|cryptogramme(?:\s+visuel)?|crypto|code\s+de\s+sécurité|security\s+code|"
                  r"card\s+verification(?:\s+code)?)")
# A card's expiry date right after its number (« 4974 1701 6175 0836, exp. 09/27 », « … 0836 — 11/26 — 417 »), and
# the security code after that date (« expires 10/26, code 087 »).
_EXPIRY_AFTER = regex.compile(rf"[^\S\n]*[,;:/–—-]?[^\S\n]*(?:\(?{_EXPIRY_WORD}[^\S\n]*:?[^\S\n]*)?"
                              rf"(?P<date>{_EXPIRY_DATE})"
                              rf"(?:[^\S\n]*[,;/–—-]?[^\S\n]*(?:{_SECURITY_WORD}|(?i:code))[^\S\n]*:?[^\S\n]*"
                              r"(?P<code>\d{3,4})(?!\d))?")
# Said as such anywhere in a text that holds a card: « Titulaire : … – exp 09/27 », « CVV : 417 ».
_SAID_EXPIRY = regex.compile(rf"(?<![\w-]){_EXPIRY_WORD}[^\S\n]*:?[^\S\n]*(?P<value>{_EXPIRY_DATE})")
_SAID_SECURITY_CODE = regex.compile(rf"(?<![\w-]){_SECURITY_WORD}[^\S\n]*[:=]?[^\S\n]*\d{{3,4}}(?!\d)")
# « test » in an identifier too (« TEST_CARD_DECLINED=4000 0000 0000 0002 »): « _ » parts words there.
_TESTING = regex.compile(r"(?i:(?<![^\W_])(?:test|tests|testing|sandbox|bac\s+à\s+sable|recette|UAT|staging|dummy|"
                         r"fake|fictive?|exemple|example|documentation|docs)(?![^\W_]))")


class CompanyNumberRecognizer(_ValidatedPatternRecognizer):
    """SIREN (9 digits) or SIRET (14 digits), Luhn-checked, reported only next to a context word."""

    CONTEXT = ["siren", "siret", "rcs", "société", "entreprise", "immatriculée", "immatriculé", "immatriculation",
               "fournisseur", "numéro"]

    def __init__(self, entity: str) -> None:
        groups = r"\d{3}[ \u00a0]?\d{3}[ \u00a0]?\d{3}" + (r"[ \u00a0]?\d{5}" if entity == "SIRET" else "")
        pattern = Pattern(entity.lower(), rf"(?<![\w])(?:{groups})(?![\w])", 0.3)
        super().__init__(entity, [pattern], self.CONTEXT, needs_context=True)

    def is_valid(self, text: str) -> bool:  # noqa: D102
        return company_number_is_valid(text)


def phone_recognizer() -> PatternRecognizer:
    """French numbers (0X XX XX XX XX, +33...) and spaced international ones (+44 20 7946 0958).

    Unspaced ten-digit numbers other than mobiles (06, 07) need a context word: ISBNs and
    internal references look the same.
    """
    # Not glued to a code by a hyphen either: "0612345678-B" is a batch number.
    # Nor right after a word that names a code: « numéro de lot 06 12 45 78 90 » is a batch.
    not_isbn = (r"(?<!ISBN(?:-1[03])?[ :]{0,2})(?<!\w-)"
                r"(?<!(?i:\blots?|\bbatch|\bréf\.?|\bréférence|\bref\.?|\barticle|\bcode|\bn°)[ :°]{0,3})"
                # a company's switchboard or help line is nobody's number (« le standard du site est le 04… »)
                r"(?<!(?i:\b(?:standard|switchboard|hotline|helpdesk|numéro\s+vert|freephone|toll-free|"
                r"service\s+client|customer\s+service|"
                # a department's line (« contactez le service paie au 04 72 … »)
                r"service\s+(?:paie|rh|du\s+personnel|achats|comptabilité|informatique|qualité|technique)|"
                r"(?:payroll|hr|it|purchasing)\s+(?:team|department|desk)|"
                # a fax is an office's line; a poison centre and the emergency services are public numbers
                r"fax|télécopie|télécopieur|centre\s+anti-?poisons?|poison\s+(?:control|cent(?:re|er))|samu|"
                r"sos\s+médecins|pompiers|gendarmerie|commissariat|"
                # a conference's dial-in is a bridge's number (« numéro d'accès audio +33 1 70… », « dial-in: »)
                r"dial-?in|audio\s+(?:access|bridge)|accès\s+audio|audioconférence|conference\s+(?:line|bridge|number))"
                r"\b)[^\n\d]{0,40})"
                # a front desk's line as a label (« Reception: +44 20… », « Accueil : 04… »): a directory's entry
                r"(?<!(?i:\b(?:accueil|r[ée]ception|front\s+desk|security\s+desk|poste\s+de\s+garde))[ \t]*:[ \t]*)")
    spaced = (rf"{not_isbn}(?<![\w+])(?:(?:\+|00)33[ .\-]?(?:\(0\)[ .\-]?)?|0)[1-9]"
              rf"(?:(?:[.\-]|{BLANKS})\d{{2}}){{4}}(?![\w]|-\w)")
    unspaced_mobile = rf"{not_isbn}(?<![\w+])(?:(?:\+|00)33|0)[67]\d{{8}}(?![\w]|-\w)"
    unspaced_other = rf"{not_isbn}(?<![\w+])(?:(?:\+|00)33|0)[1-59]\d{{8}}(?![\w]|-\w)"
    international = (rf"{not_isbn}(?<![\w+])\+(?!33)[1-9]\d{{0,2}}(?:[ .\-]?\(?\d{{1,4}}\)?){{2,5}}(?![\w])"
                     r"(?<=(?:\d\D*){8,})")  # at least 8 digits: "+3 %" or "+1 mois" are not numbers
    # Any grouping after a label that says it is a phone (« Mobile 07823 441 907 », « tel: 0645 12 87 33 »).
    # The label may be followed by a few words before its colon (« His mobile if needed: 07700 912 384 »).
    labelled = (r"(?<=(?i:\b(?:mobile|portable|phone|tél\.?|tel\.?|cell|gsm|téléphone))"
                r"(?:[ \t]*:?|(?:[ \t]+[\w'’]+){1,3}[ \t]*:)[ \t]*)"
                r"\+?\d(?:[ .\-]?\d){8,13}(?![\w])")
    # A country code written « (0034) » before the number.
    country_in_parentheses = r"(?<![\w(])\(00[1-9]\d{0,2}\)[ .\-]?\d(?:[ .\-]?\d){7,12}(?![\w])"
    # National forms of other countries, each in its own grouping: a UK mobile (« 07700 914 382 ») and a North
    # American number with its area code in parentheses (« (617) 482-3391 »).
    uk_mobile = rf"{not_isbn}(?<![\w+])07\d{{3}}(?:{BLANKS})?\d{{3}}(?:{BLANKS})?\d{{3}}(?![\w]|[ .\-]?\d)"
    north_american = r"(?<![\w(])\([2-9]\d{2}\)[ .\-]?[2-9]\d{2}[ .\-]\d{4}(?![\w]|[ .\-]?\d)"
    patterns = [Pattern("fr_spaced", spaced, 0.6), Pattern("fr_mobile", unspaced_mobile, 0.6),
                Pattern("fr_unspaced", unspaced_other, 0.3), Pattern("international", international, 0.5),
                Pattern("labelled", labelled, 0.6), Pattern("country_in_parentheses", country_in_parentheses, 0.6),
                Pattern("uk_mobile", uk_mobile, 0.6), Pattern("north_american", north_american, 0.6)]
    context = ["téléphone", "tél", "portable", "mobile", "phone", "appeler", "joindre", "call", "standard", "fax"]
    return _PhoneRecognizer(supported_entity="TELEPHONE", name="TelephoneRecognizer", supported_language=LANGUAGE,
                            patterns=patterns, context=context, global_regex_flags=CASE_SENSITIVE)


# A table's column of office lines (« standard », « switchboard », « fax », « accueil »): nobody's number.
_OFFICE_LINE_HEADER = regex.compile(r"(?i:standard|switchboard|fax|télécopie|accueil|reception|hotline|main\s+line)")


class _PhoneRecognizer(PatternRecognizer):
    """The phone patterns, less the numbers of a table's column of office lines."""

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):  # noqa: D102
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        if not results:
            return results
        office = [row[column] for table in tables(text) for column, title in enumerate(table.header)
                  if _OFFICE_LINE_HEADER.fullmatch(title.strip(" *_")) for row in table.rows[1:]]
        numbers = [(result, text[result.start:result.end]) for result in results]
        formats = _numbers_shown_in_formats(number for _, number in numbers)
        return [result for result, number in numbers
                if not any(start <= result.start and result.end <= end for start, end in office)
                and not _is_dummy_number(number) and _national_digits(number) not in formats]


FORMATS_SHOWN = 3


def _numbers_shown_in_formats(numbers: Iterable[str]) -> set[str]:
    """The numbers a text writes three ways or more (« 06 12 34 56 78, 06.12.34.56.78, +33 6 12 34 56 78 »).

    Someone who gives their number writes it once; a number spelt in several formats illustrates the formats
    (a regular expression to write, a style guide).
    """
    spellings: dict[str, set[str]] = {}
    for number in numbers:
        spellings.setdefault(_national_digits(number), set()).add(number)
    return {digits for digits, forms in spellings.items() if len(forms) >= FORMATS_SHOWN}


def _national_digits(number: str) -> str:
    """A number's last nine digits: the same line with or without its country code or trunk prefix."""
    return _NON_DIGIT.sub("", number)[-9:]


def _is_dummy_number(number: str) -> bool:
    """Whether a number is a form's filler: the ten digits in order, or one digit repeated after the prefix.

    « 01 23 45 67 89 » and « 06 00 00 00 00 » are nobody's line; « 06 12 34 56 78 » is left to be masked (real
    numbers start so too).
    """
    digits = _NON_DIGIT.sub("", number)
    return digits == "0123456789" or (len(digits) == 10 and digits.startswith("0") and len(set(digits[2:])) == 1)


def email_recognizer() -> PatternRecognizer:
    """E-mail addresses (a plain pattern: Presidio's own checks domains with tldextract)."""
    # A template of the address format (« firstname.lastname@… », « prenom.nom@… ») names nobody.
    template = (r"(?!(?i:(?:first|given)[._-]?name|prenom|prénom|last[._-]?name|surname|nom|name|initiales?|initials|"
                r"user(?:name)?|utilisateur|john\.doe|jane\.doe|jdoe|xxx+)(?:[._-](?:first|last)?[._-]?(?:name|nom|"
                r"prenom|prénom|surname|initiales?))?@)")
    # A function's mailbox (« pharmacovigilance@… », « contact@… », « rh@… ») is no one's address, and so is
    # one that starts with a function (« rh-paie@… », « pv.france@… », « support-it@… »).
    function = (r"(?!(?i:pharmacovigilance|pv|paie|paye|payroll|medinfo|information[._-]?medicale|contact|info|infos|"
                r"support|helpdesk|"
                r"hotline|rh|hr|qualite|qualité|quality|qa|rgpd|gdpr|dpo|privacy|compliance|noreply|no-reply|admin|"
                r"infomed|medicalinfo|medical[._-]?information|security|securite|sécurité|cybersecurity|legal|juridique|"
                r"safety|drugsafety|regulatory|affaires[._-]?reglementaires|ethics|ethique|audit|formation|training|"
                r"accueil|reception|secretariat|secrétariat|service[._-]?client|customer[._-]?service|sales|ventes|"
                r"achats|purchasing|recrutement|recruitment|careers|jobs|communication|press|presse|alertes?|"
                r"alerts?|webmaster|postmaster|it|si|dsi|factures?|invoices?|comptabilite|accounting)"
                r"(?:[._-][a-z]+)*@)")
    # The domains reserved for documentation and tests (RFC 2606: « example.com », « *.test », « *.invalid ») receive
    # no mail: an address there is a sample, nobody's.
    # no mail, so a sample's mailbox there (« test1@example.com », « demo.user@app.test ») is nobody's. A person's name
    # is still a person's, whatever the domain (« hugo.martin@corp.example »).
    # Tried at the « @ » only (a look-ahead at every word would cost every request).
    sample = (r"(?!(?<=(?<![\w.+-])(?i:(?:test|tests|testing|user|users|demo|sample|dummy|fake|foo|bar|baz|example|"
              r"employee|qa|dev|admin|nobody|someone|agent|reviewer|approver|tester)\d*(?:[._-](?:test|user|demo|sample|"
              r"dummy|fake|qa|agent|admin|employee|reviewer|approver|account)?\d*)?)@)"
              r"(?:[\w-]+\.)*(?:(?i:example)\.(?:com|org|net)|[\w-]+\.(?i:example|test|invalid|localhost))"
              r"(?![\w-]|\.[\w-]))")
    email = rf"(?<![\w.+-]){template}{function}[\w.+-]+@{sample}[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{{2,}}(?![\w])"
    return PatternRecognizer(supported_entity="EMAIL", name="EmailRecognizer", supported_language=LANGUAGE,
                             patterns=[Pattern("email", email, 0.9)], global_regex_flags=CASE_SENSITIVE)


def confidential_marking_recognizer() -> PatternRecognizer:
    """Documents marked confidential: a marking, not the word used in a sentence ("clause de confidentialité").

    A marking is a label ("CONFIDENTIEL", "Classification : Restreint"), a handling instruction ("ne pas
    diffuser", "internal use only", "sous embargo"), a trade secret ("secret industriel") or a statement
    that this document or these figures are confidential; a question about confidentiality is none.
    """
    patterns = [
        Pattern("capitals", r"\b(?:STRICTEMENT\s+)?CONFIDENTIEL(?:LE)?S?\b|\b(?:STRICTLY\s+)?CONFIDENTIAL\b", 0.9),
        # « Confidentiel Direction », « Confidentiel RH »: a marking and whom it restricts to.
        Pattern("restricted_to", r"\b(?:[Cc]onfidentiel(?:le)?|CONFIDENTIEL(?:LE)?)[^\S\n]+"
                                 r"(?:[Dd]irection|DIRECTION|RH|[Ss]ociété|[Ee]ntreprise|[Gg]roupe|COMEX|CODIR)\b",
                0.9),
        # « HR CONFIDENTIAL », « Legal Confidential », « Board confidential »: a marking and the function it belongs to.
        Pattern("company_confidential", r"\b(?:[Cc]ompany|COMPANY|[Bb]usiness|BUSINESS|[Hh]ighly|HIGHLY|HR|RH|"
                                        r"[Ll]egal|LEGAL|[Bb]oard|BOARD|[Pp]ersonnel|PERSONNEL|[Ff]inance|FINANCE|"
                                        r"[Mm]anagement|MANAGEMENT|[Ee]xecutive|EXECUTIVE)[^\S\n]+"
                                        r"(?:[Cc]onfidential|CONFIDENTIAL)\b", 0.9),
        # The same label in the other languages of the group's sites (German, Dutch, Spanish, Portuguese,
        # Italian), in capitals as a label is written: « VERTRAULICH », « STRENG VERTRAULICH », « RISERVATO ».
        Pattern("foreign_capitals", r"\b(?:STRENG[^\S\n]+)?VERTRAULICH\b|\b(?:STRIKT[^\S\n]+)?VERTROUWELIJK\b|"
                                    r"\bCONFIDENCIAL\b|\bRISERVATO\b|\bRISERVATA\b|\bRESERVADO\b", 0.9),
        Pattern("strictly", r"\b[Ss]trictement\s+confidentiel(?:le)?s?\b|\b[Ss]trictly\s+[Cc]onfidential\b", 0.9),
        Pattern("restricted", r"\b(?:[Dd]iffusion|DIFFUSION)\s+(?:restreinte|RESTREINTE)\b", 0.9),
        Pattern("heading", r"^[ \t]*(?:Confidentiel(?:le)?|Confidential)\b", 0.8),
        # « Sensitive – Personal Data », « SENSIBLE : RH » heading a document
        Pattern("sensitive_heading", r"^[ \t]*(?:Sensitive|SENSITIVE|Sensible|SENSIBLE)(?=[^\S\n]*[–—:-][^\S\n]*\S|"
                                     r"[^\S\n]+(?:[Pp]ersonal|PERSONAL)[^\S\n]+(?:[Dd]ata|DATA))", 0.8),
        Pattern("label", r"(?i:classification|classement|sensibilité|sensitivity)\s*:\s*"
                         r"(?i:confidentiel(?:le)?|confidential|secret|restreint)", 0.9),
        # Handling instructions that mark a document, in French and English.
        Pattern("do_not_share", r"(?i:\b(?:à\s+)?ne\s+pas\s+(?:diffuser|divulguer|transmettre|communiquer|"
                                r"faire\s+circuler)(?!\s+(?:de|d['’]|les?|la|des)\s)|"
                                r"\bdo\s+not\s+(?:distribute|disclose|forward|share)\b|"
                                r"\bnot\s+for\s+(?:distribution|disclosure)\b|\b(?:for\s+)?internal\s+(?:use\s+)?only\b|"
                                r"\busage\s+(?:strictement\s+)?interne(?:\s+uniquement|\s+seulement)\b|"
                                r"\bdiffusion\s+(?:interne\s+uniquement|limitée|interdite)\b|"
                                r"\bsous\s+embargo\b)", 0.85),
        Pattern("trade_secret", r"(?i:\bsecret\s+(?:industriel|de\s+fabrication|des\s+affaires)\b|\btrade\s+secret\b)"
                                r"(?![^\n?]*\?)", 0.85),
        Pattern("declared", r"(?i:\b(?:ce|cette|ces|this|these|le|la|les|the)\s+(?:document|fichier|rapport|dossier|"
                            r"informations?|données|chiffres|résultats|projet|présentation|note|file|report|figures|data|"
                            r"results|information)s?\s+(?:(?:est|sont|reste|restent|is|are|remains?)\s+)?"
                            r"(?:strictement\s+|strictly\s+|hautement\s+|highly\s+)?"
                            r"(?:confidentiel(?:le)?s?|confidential))(?![^\n?]*\?)", 0.9),
        Pattern("keep_secret", r"(?i:\bc['’]est\s+(?:strictement\s+)?confidentiel(?:le)?\b|"
                               r"\b(?:garder|gardez|garde|rester|reste|restent|traiter|traitez|keep|treat)\s+"
                               r"(?:(?:ça|cela|ceci|this|it)\s+)?(?:strictement\s+|strictly\s+)?"
                               r"(?:confidentiel(?:le)?s?|confidential)\b)(?![^\n?]*\?)"
                               # a contract's defined term (« shall keep Confidential Information secret »)
                               r"(?![^\S\n]+(?i:information|informations|data|materials?)\b)", 0.85),
    ]
    return MarkingRecognizer(supported_entity="CONFIDENTIEL", name="ConfidentialMarkingRecognizer",
                             supported_language=LANGUAGE, patterns=patterns, global_regex_flags=CASE_SENSITIVE)


MARKING_LINE_WORDS = 8
_WORDS = regex.compile(r"\w+")


# « Diffusion restreinte – Comité de direction », « VERTRAULICH – Personalakte »: after a dash, whom or what
# the marking restricts to is part of it (capitalised words and their particles, four at most).
_MARKING_TAIL = regex.compile(r"[^\S\n]*[–—-][^\S\n]*\p{Lu}[\p{L}'’]*"
                              r"(?:[^\S\n]+(?:\p{Lu}[\p{L}'’]*|(?:de|du|des|of|the)[^\S\n]+(?:(?:la|le)[^\S\n]+|l['’])?"
                              r"\p{L}[\p{L}'’]*|d['’]\p{L}+)){0,3}"
                              # or, without a dash, a body's acronym (« Diffusion restreinte COMEX », « … CODIR »)
                              r"|[^\S\n]+\p{Lu}{2,6}(?![\w'’-])")
# Words in capitals on either side of a marking in capitals are part of its label (« DOCUMENT CONFIDENTIEL, NE PAS
# IMPRIMER »), up to MARKING_REACH characters before it.
MARKING_REACH = 40
_CAPITALS_BEFORE = regex.compile(r"(?<![\p{L}\d'’-])(?:\p{Lu}[\p{Lu}'’-]+[^\S\n]+)+$")
_CAPITALS_AFTER = regex.compile(r"(?:[^\S\n]*[,:–—-]?[^\S\n]*\p{Lu}[\p{Lu}'’-]+(?![\p{L}\d]))*")
# A marking that opens a quotation marks what is quoted (« CONFIDENTIEL – … Le comité a validé l'arrêt … », 'STRICTLY
# CONFIDENTIAL. We will close …'): the passage up to its closing quote is what the marking covers, so it is reported
# whole. An apostrophe inside a word (« l'annonce », « don't ») does not close a quotation.
PASSAGE_REACH = 3000
_QUOTE_CLOSERS = {"«": regex.compile(r"»"), "“": regex.compile(r"”"), "\"": regex.compile(r"\""),
                  "'": regex.compile(r"(?<![\p{L}\d])'|'(?![\p{L}\d])"), "‘": regex.compile(r"’(?![\p{L}\d])")}


# A question about the labels themselves (« CONFIDENTIEL, DIFFUSION RESTREINTE, USAGE INTERNE : quelle est la
# différence entre ces niveaux ? ») names markings without marking anything.
_ABOUT_LABELS = regex.compile(r"(?i:\bdifférences?\s+entre|\bdifference\s+between|\bniveaux?\s+de\s+(?:classification|"
                              r"confidentialité|sensibilité)|\b(?:classification|confidentiality|sensitivity)\s+levels?|"
                              r"\bque\s+(?:signifie|veut\s+dire)|\bwhat\s+does\b|\b(?:quelle?s?|which)\s+(?:mentions?|labels?|"
                              r"étiquettes?|marquages?|markings?)\b)")


# ... or a request to explain them (« Rédige une note expliquant nos niveaux de classification … »).
_EXPLAINS = regex.compile(r"(?i:\bexpli(?:que|quer|quant|quez)\b|\bexplain(?:s|ing)?\b|"
                          r"\bcomment\s+(?:apposer|appliquer|utiliser)|\bhow\s+to\s+(?:apply|use|add))")


def _asks_about_labels(text: str, position: int) -> bool:
    """Whether the line holding a marking is a question about classification labels."""
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    line = text[line_start : len(text) if line_end == -1 else line_end]
    return ("?" in line or bool(_EXPLAINS.search(line))) and bool(_ABOUT_LABELS.search(line))


class MarkingRecognizer(PatternRecognizer):
    """Markings; one on a short line of its own is the whole line (« INTERNAL – DO NOT FORWARD »)."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None, regex_flags=None):  # noqa: D102
        results = [result for result in super().analyze(text, entities, nlp_artifacts, regex_flags)
                   if not _asks_about_labels(text, result.start)]
        for result in results:
            tail = _MARKING_TAIL.match(text, result.end)
            if tail:
                result.end = tail.end()
            if text[result.start:result.end].isupper():  # « DOCUMENT CONFIDENTIEL, NE PAS IMPRIMER »: one label
                before = _CAPITALS_BEFORE.search(text, max(0, result.start - MARKING_REACH), result.start)
                result.start = before.start() if before else result.start
                result.end = _CAPITALS_AFTER.match(text, result.end).end()
            opener = _OPENING_QUOTE.search(text[max(0, result.start - 4) : result.start])
            if opener:
                closer = _QUOTE_CLOSERS[opener.group(1)].search(text, result.end, result.end + PASSAGE_REACH)
                if closer:
                    result.end = max(result.end, len(text[: closer.start()].rstrip()))
                    continue
            line_start = text.rfind("\n", 0, result.start) + 1
            line_end = text.find("\n", result.end)
            line_end = len(text) if line_end == -1 else line_end
            line = text[line_start:line_end]
            if "?" not in line and len(_WORDS.findall(line)) <= MARKING_LINE_WORDS:
                result.start = line_start + len(line) - len(line.lstrip())
                result.end = line_start + len(line.rstrip())
        return results


@lru_cache(maxsize=4)
def read_word_list(name: str) -> frozenset[str]:
    """A word list of knowledge/guard (one entry a line, `#` comments)."""
    lines = (WORD_LISTS / name).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


# Letters people often type without their accent (« diabete », « sclerose », « hospitalisee »).
_UNACCENTED = {"é": "e", "è": "e", "ê": "e", "ë": "e", "à": "a", "â": "a", "ç": "c", "î": "i", "ï": "i",
               "ô": "o", "ù": "u", "û": "u", "ü": "u", "É": "E", "È": "E", "À": "A"}


def accent_tolerant(pattern: str) -> str:
    """`pattern` matching its words typed with or without their accents (« thérapeutique », « therapeutique »).

    Each accented letter outside a character class becomes a class of both forms (« é » → « [ée] »);
    classes (« [A-ZÀ-Ý] », ranges included) and escapes are kept as they are.
    """
    out, in_class, escaped = [], False, False
    for char in pattern:
        plain = _UNACCENTED.get(char)
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[" and not in_class:
            in_class = True
            out.append(char)
        elif char == "]" and in_class:
            in_class = False
            out.append(char)
        elif plain is None or in_class:
            out.append(char)
        else:
            out.append(f"[{char}{plain}]")
    return "".join(out)


def literal_alternation(terms: Iterable[str]) -> str:
    """One pattern matching any of the terms, their common beginnings written once (a trie).

    The terms are literal words; in them a blank matches any run of blanks and an apostrophe either
    apostrophe. Written as a plain alternation of 600 terms, the regex engine tries every term at every
    position of the text (4 ms on a 2,000-character request); the trie settles a position after a letter
    or two. A term that goes on is tried before the term that stops (greedy), so the longest wins, as in
    an alternation sorted longest first.
    """
    trie: dict[str, dict] = {}
    for term in sorted(terms):  # the same pattern in every process (a set's order is not)
        node = trie
        for char in " ".join(term.replace("’", "'").split()):
            node = node.setdefault(char, {})
        node[_END] = {}
    return _trie_pattern(trie)


_END = ""  # the key that marks where a term ends, in `literal_alternation`'s trie
_ATOMS = {" ": r"\s+", "'": "['’]"}


def _trie_pattern(node: dict[str, dict]) -> str:
    branches = [_ATOMS.get(char, regex.escape(char)) + _trie_pattern(child) for char, child in node.items()
                if char != _END]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if _END in node else body

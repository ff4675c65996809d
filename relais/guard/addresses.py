"""Postal addresses: "14 rue des Lilas", "3 bis avenue Jean Jaurès", "69003 Lyon", "221B Baker Street".

A street is a number, a type of way and a name; a French postal code is five digits and a town.
A postal code alone is common in a pharma text ("10000 UFC", a batch), so it is reported only
next to a street or after a word that announces an address (adresse, habite, domicile, livrer...).
The published address of a public body named just before it (`organismes_publics.txt`: ANSM,
EMA, EDQM, HAS...) is public and a letter to a regulator needs it: it is left in clear. Every
other address is reported, companies' sites included: the guard cannot tell a site from a home.
"""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.recognizers import LANGUAGE, read_word_list

STREET_SCORE = 0.85
TOWN_SCORE = 0.75
PUBLIC_BODY_WINDOW = 40  # characters before an address where a public body's name makes it public
ANNOUNCE_WINDOW = 60

_WAY = (
    r"rue|avenue|av\.|bd|boulevard|place|pl\.|chemin|ch\.|allée|allee|impasse|imp\.|route|rte|quai|cours|square|"
    r"passage|voie|sentier|cité|résidence|lotissement|hameau|parvis|esplanade|promenade|faubourg|fbg|rond-point|"
    r"traverse|montée|ruelle|villa|domaine|lieu-dit|zone\s+industrielle|zi|za|zac"
)
_NUMBER = r"\d{1,4}(?:\s?-\s?\d{1,4})?(?:\s?(?:bis|ter|quater|[A-Da-d])\b)?"
# The way's name runs to a comma, a line break, a postal code or the end of the clause.
_WAY_NAME = r"(?:[^\S\n]+(?:d['’]|l['’])?[\w'’\-]+){1,6}?(?=\s*(?:[,;:.)\n]|\d{5}\b|$|[^\S\n]+(?:à|au|pour|et|:)\b))"
_FRENCH_STREET = rf"(?<![\w,.])(?:{_NUMBER}),?[^\S\n]+(?i:{_WAY})\b{_WAY_NAME}"
_ENGLISH_STREET = (r"(?<![\w,.])\d{1,5}[A-Z]?[^\S\n]+(?:[A-Z][a-z]+[^\S\n]+){1,3}"
                   r"(?:Street|St\.|Road|Rd\.?|Avenue|Ave\.?|Lane|Drive|Way|Boulevard|Place|Square|Court|Terrace|Close)\b")
_TOWN = (r"[A-ZÀ-Ý][\w'’\-]*"
         r"(?:[^\S\n]?-[^\S\n]?[\w'’\-]+|[^\S\n]+(?:sur|sous|lès|les|le|la|de|du|en|aux?|[A-ZÀ-Ý][\w'’\-]*))*")
_POSTCODE_TOWN = (rf"(?<![\w,.])(?:0[1-9]|[1-8]\d|9[0-8])\d{{3}}[^\S\n]+{_TOWN}"
                  r"(?:[^\S\n]+(?i:cedex)(?:[^\S\n]+\d{1,2})?)?")
_UK_TOWN_POSTCODE = r"\b[A-Z][a-z]+[^\S\n]+[A-Z]{1,2}\d[A-Z\d]?[^\S\n]?\d[A-Z]{2}\b"
_STREETS = regex.compile(f"{_FRENCH_STREET}|{_ENGLISH_STREET}")
_TOWNS = regex.compile(f"{_POSTCODE_TOWN}|{_UK_TOWN_POSTCODE}")
_ANNOUNCES = regex.compile(
    r"(?i:adresse|domicile|domicilié|habite|demeur|réside|déménag|livr|expédi|envoy|envoi|courrier|colis|"
    r"address|lives|ship|deliver|mail\s+to)"
)


class AddressRecognizer(EntityRecognizer):
    """ADRESSE: streets, and postal codes with their town next to a street or an announcing word."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["ADRESSE"], supported_language=LANGUAGE, name="AddressRecognizer")
        bodies = sorted(read_word_list("organismes_publics.txt"), key=len, reverse=True)
        self._public_body = regex.compile(r"\b(?:" + "|".join(regex.escape(b) for b in bodies) + r")\b")

    def load(self) -> None:
        """Nothing to load: the list of public bodies is read in the constructor."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Streets and towns of the text, except a public body's published address."""
        streets = [match.span() for match in _STREETS.finditer(text)]
        results = [RecognizerResult("ADRESSE", start, end, STREET_SCORE) for start, end in streets]
        for match in _TOWNS.finditer(text):
            start, end = match.span()
            after_street = any(0 <= start - street_end <= 30 for _, street_end in streets)
            announced = _ANNOUNCES.search(text, max(0, start - ANNOUNCE_WINDOW), start)
            if after_street or announced:
                results.append(RecognizerResult("ADRESSE", start, end, TOWN_SCORE))
        return [result for result in results if not self._is_public(text, result.start, streets)]

    def _is_public(self, text: str, start: int, streets: list[tuple[int, int]]) -> bool:
        """Whether a public body is named just before the address (its street, if it has one)."""
        address_start = min([s for s, e in streets if s <= start <= e + 30] or [start])
        return self._public_body.search(text, max(0, address_start - PUBLIC_BODY_WINDOW), address_start) is not None

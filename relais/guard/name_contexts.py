"""Names in no list, found by the way people write them: greetings, requests, initials, e-mail addresses.

A first name that no list knows ("Ferhat", "Gwendoline") is still a person when it is greeted
("Bonjour Ferhat,", "Hi Bartholomew,"), asked ("demande à Ferhat", "voir avec Ferhat"), given a role
("la stagiaire Maëlys Guérin"), in a pasted e-mail's header ("De : Ferhat Ouali"), written with
an initial ("J. Martin", "P.-Y. Lefort"), named after "Maître"/"Me", or when it is the name of an
e-mail address in the same text ("jean-baptiste.moreau@..." makes "Moreau" and "Jean-Baptiste"
names). "Chez X" names a company as often as a person: it counts only when spaCy tags X as a person.
A candidate that is a common word, a word of the GMP vocabulary (`non_personnes.txt`) or an acronym
is dropped ("Bonjour Madame", "Hi team", "demande à Qualité").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import regex

from relais.guard.first_names import sentence_around
from relais.guard.lexicon import ADJECTIVE, ADVERB, common_words, french_lexicon
from relais.guard.recognizers import NAME

# "Bonjour Ferhat," "Hi Bartholomew!" "Dear Dr Okafor": a greeting, a name, then a pause.
_GREETING = regex.compile(
    r"(?<![\w])(?i:bonjour|bonsoir|salut|coucou|hello|hi|hey|dear|cher|chère|chers|merci|thanks|thank\s+you)"
    rf"[ \u00a0]+(?P<name>{NAME})[ \u00a0]*(?=[,!:;.\n]|$)"
)
# "demande à Ferhat", "voir avec Ferhat", "de la part de Ferhat", "ask Ferhat": someone asked or quoted.
_REQUEST = regex.compile(
    r"(?<![\w])(?i:demander?|demandez|dis|dites|écris|écrivez|réponds|répondez|transmets|transmettez|"
    r"envoie|envoyez)"
    r"[ \u00a0]+(?:à|a)[ \u00a0]+(?P<name>" + NAME + r")"
    r"|(?<![\w])(?i:voir|vois|voyez|vérifie|vérifiez|check|confirm)[ \u00a0]+(?i:avec|with)[ \u00a0]+"
    r"(?P<name>" + NAME + r")"
    r"|(?<![\w])(?i:ask|tell|ping|cc)[ \u00a0]+(?P<name>" + NAME + r")"
    r"|(?<![\w])(?:Maître|Me)[ \u00a0]+(?P<name>" + NAME + r")"
)
# "J. Martin", "P.-Y. Lefort": initials, then a capitalised surname (not in capitals: "A. ORIENTATIONS" is a heading).
_INITIALS = regex.compile(r"(?<![\w.])(?:(?P<compound>\p{Lu}\.?-\p{Lu}\.)|\p{Lu}\.)[ \u00a0]?"
                          r"(?P<surname>\p{Lu}\p{Ll}+(?:['’-]\p{Lu}?\p{Ll}+)*)(?![\w])")
# "la stagiaire Maëlys Guérin", "our contractor Oluwaseun Adebayo": a role, then a name.
_ROLE = regex.compile(
    r"(?<![\w])(?i:stagiaire|intérimaire|alternante?|apprentie?|prestataire|consultante?|auditeur|auditrice|"
    r"manager|responsable|directeur|directrice|cheffe?|pharmacienne?|analyste|superviseur|superviseuse|"
    r"médecin|infirmière?|candidate?|nouvel(?:le)?\s+arrivante?|remplaçante?|binôme|"
    r"intern|trainee|contractor|consultant|auditor|analyst|supervisor|nurse|doctor|newcomer)"
    rf"[ \u00a0]+(?P<name>{NAME})"
)
# A pasted e-mail's header: "De : Ferhat Ouali", "To: Siobhan Kelly", "Cc : J. Martin".
_HEADER = regex.compile(
    r"(?m:^[ \t]*(?i:de|à|a|pour|from|to|cc|cci|bcc|expéditeur|destinataire|sender|recipient)[ \t]*:[ \t]*)"
    rf"(?P<name>{NAME})"
)
_CHEZ = regex.compile(rf"(?<![\w])(?i:chez)[ \u00a0]+(?P<name>{NAME})")
# The name part of an e-mail address: "jean-baptiste.moreau@", "m.dupont@", "sophie_martin@".
_EMAIL_NAME = regex.compile(r"(?<![\w.+-])(?P<first>\p{L}[\p{L}-]+)[._](?P<last>\p{L}[\p{L}-]+)@[\w-]+\.")
_NOT_A_NAME_POS = frozenset({ADJECTIVE, ADVERB})  # not verbs: the tables take "Martinez" for one
_NOT_NAMES = frozenset({"madame", "monsieur", "mademoiselle", "messieurs", "mesdames", "team", "all", "everyone",
                        "tous", "toutes", "équipe", "collègues", "sir", "madam", "docteur", "professeur", "maître"})


class ContextNames:
    """Spans of names found by context alone, each checked against common words and the GMP vocabulary."""

    def __init__(self, not_names: frozenset[str], ner: Callable[[str], list[tuple[int, int, str]]] | None) -> None:
        self._not_names = not_names
        self._ner = ner

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of every name found by a greeting, a request, initials, "chez" or an e-mail."""
        for pattern in (_GREETING, _REQUEST, _ROLE, _HEADER):
            for match in pattern.finditer(text):
                yield from self._name_span(match)
        for match in _INITIALS.finditer(text):
            # a compound first name's initials (« M.-L. Roux », « J-P. Moreau ») are evidence enough for an adjective
            if self._is_name(match.group("surname"), strong_evidence=match.group("compound") is not None):
                yield match.span()
        for match in _CHEZ.finditer(text):
            if self._is_name(match.group("name")) and self._spacy_says_person(text, match.start("name")):
                yield match.span("name")
        yield from self._email_names(text)

    def _name_span(self, match) -> Iterator[tuple[int, int]]:
        start, end = match.span("name")
        words = match.group("name").split()
        kept = 0
        for word in words:
            if not self._is_name(word):
                break
            kept += 1
        if kept:
            yield start, start + len(" ".join(words[:kept]))

    def _is_name(self, word: str, *, strong_evidence: bool = False) -> bool:
        """Not a common word, a GMP term, a short acronym, nor (without strong evidence) an adjective or adverb."""
        lower = word.lower()
        if lower in _NOT_NAMES or lower in common_words() or word in self._not_names or word.title() in self._not_names:
            return False
        if word.isupper() and len(word) <= 4:
            return False
        return strong_evidence or not (french_lexicon().parts_of_speech(lower) & _NOT_A_NAME_POS)

    def _spacy_says_person(self, text: str, position: int) -> bool:
        if self._ner is None:
            return False
        sentence = sentence_around(text, position)
        return any(label in ("PER", "PERSON") and sentence.start() + start <= position < sentence.start() + end
                   for start, end, label in self._ner(sentence.group()))

    def _email_names(self, text: str) -> Iterator[tuple[int, int]]:
        """Where the first and last names of an e-mail address appear elsewhere in the text, capitalised.

        Both names side by side ("Claire Fontaine") are one span, even when one is also a word.
        """
        for match in _EMAIL_NAME.finditer(text):
            first, last = (regex.escape(part) for part in match.group("first", "last"))
            for pair in regex.finditer(rf"(?<![\w.@-])(?i:{first}[ \u00a0]+{last}|{last}[ \u00a0]+{first})(?![\w@-])",
                                       text):
                if pair.group()[0].isupper():
                    yield pair.span()
            for part in match.group("first", "last"):
                # The address itself is the evidence: "moreau" is also an adjective, but not in "x.moreau@".
                if len(part) < 3 or not self._is_name(part.title(), strong_evidence=True):
                    continue
                pattern = regex.compile(rf"(?<![\w.@-])(?i:{regex.escape(part)})(?![\w@-]|\.\w)")
                for found in pattern.finditer(text):
                    if found.group()[0].isupper():
                        yield found.span()

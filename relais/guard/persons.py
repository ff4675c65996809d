"""Names of persons, without flagging the vocabulary of GMP texts.

The small French spaCy model tags "Personne Qualifiée", "Résume l'Annexe" or "Deming" as persons,
and on the GMP guide "Bulletin Officiel Spécial", "Hazard Analysis" or "Look Back". A name is
therefore reported only with evidence: a title ("M.", "Mme", "Dr"), a context word ("patient",
"signé par", "written by", "l'opérateur"), a known first name followed by a surname, or a known
first name alone that spaCy tags PER ("le mail de Julien"). A candidate is cut at the first word of
`non_personnes.txt` or roman numeral; methods named after people ("méthode de Karl Fischer") and
authors in bibliographic references (near "ISBN", "et al.") are public, not personal data.
"""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.recognizers import LANGUAGE, NAME, NAME_CONTEXT, NAME_WORD, TITLES, read_word_list

TITLE_SCORE = 0.85
CONTEXT_SCORE = 0.8
FIRST_NAME_SCORE = 0.75
SPACY_SCORE = 0.6
BIBLIOGRAPHY_WINDOW = 80

# Not after a number: "0,1 M. Ensuite" is a molarity, not Monsieur Ensuite.
_AFTER_TITLE = regex.compile(rf"(?<![\w,.])(?<!\d[ \u00a0])(?:{TITLES})[ \u00a0]+(?P<name>{NAME})")
_AFTER_CONTEXT = regex.compile(rf"\b{NAME_CONTEXT}[ \u00a0]+(?:(?:{TITLES})[ \u00a0]+)?(?P<name>{NAME})")
_NAME_RUN = regex.compile(rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{1,2}})")
_NAME_WORD_ONLY = regex.compile(rf"{NAME_WORD}")
# "méthode de Karl Fischer", "loi d'Arrhenius": a method or law named after someone is not personal data.
_EPONYM_BEFORE = regex.compile(
    r"(?i:méthode|loi|test|équation|diagramme|titrage|modèle|principe|théorème|échelle|effet|réaction|coefficient|"
    r"method|law|equation|model|titration|principle|scale)\s+(?:(?:de|du|des|of)\s+|d['’])?$"
)
_BIBLIOGRAPHY = regex.compile(r"ISBN|\bet al\.|(?i:traduit par|translated by|edited by)")
_ROMAN_NUMERAL = regex.compile(r"[IVXLC]{1,6}")


class PersonNameRecognizer(EntityRecognizer):
    """PERSONNE: titles, context words, first names (with a surname, or alone when spaCy agrees)."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSONNE"], supported_language=LANGUAGE, name="PersonNameRecognizer")
        self._first_names = read_word_list("prenoms.txt")
        self._not_names = read_word_list("non_personnes.txt")
        self._multi_word_terms = tuple(term for term in self._not_names if " " in term)

    def load(self) -> None:
        """Nothing to load: the word lists are read in the constructor."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Candidates from each kind of evidence, the best score kept per span."""
        candidates: dict[tuple[int, int], float] = {}
        for start, end, score in self._candidates(text, nlp_artifacts):
            end = self._end_of_name(text, start, end)
            if end is not None:
                candidates[(start, end)] = max(score, candidates.get((start, end), 0.0))
        return [RecognizerResult("PERSONNE", start, end, score) for (start, end), score in candidates.items()]

    def _candidates(self, text: str, nlp_artifacts: NlpArtifacts | None):
        for match in _AFTER_TITLE.finditer(text):
            yield (*match.span("name"), TITLE_SCORE)
        for match in _AFTER_CONTEXT.finditer(text):
            yield (*match.span("name"), CONTEXT_SCORE)
        for match in _NAME_RUN.finditer(text, overlapped=True):
            first = match.group("name").split()[0]
            if first in self._first_names:
                yield (*match.span("name"), FIRST_NAME_SCORE)
        for entity in nlp_artifacts.entities if nlp_artifacts else ():
            if entity.label_ in ("PERSON", "PER"):
                yield from self._spacy_candidate(text, entity.start_char, entity.end_char)

    def _spacy_candidate(self, text: str, start: int, end: int):
        # A known first name alone is ambiguous ("Claire", "Pierre"): spaCy's PER tag settles it.
        word = _NAME_WORD_ONLY.match(text, start, end)
        if word and word.group() in self._first_names:
            yield (*word.span(), SPACY_SCORE)

    def _end_of_name(self, text: str, start: int, end: int) -> int | None:
        """Where the name ends once trailing non-name words are cut ("Dupont Directeur"); None if no name."""
        if self._inside_known_term(text, start, end):
            return None
        if _EPONYM_BEFORE.search(text, max(0, start - 30), start):
            return None
        if _BIBLIOGRAPHY.search(text, max(0, start - BIBLIOGRAPHY_WINDOW), end + BIBLIOGRAPHY_WINDOW):
            return None
        name_end = None
        for word in _NAME_WORD_ONLY.finditer(text, start, end):
            value = word.group()
            if value in self._not_names or value.title() in self._not_names or _ROMAN_NUMERAL.fullmatch(value):
                break
            name_end = word.end()
        return name_end

    def _inside_known_term(self, text: str, start: int, end: int) -> bool:
        """Whether the candidate overlaps a multi-word non-name ("Pierre" of "Pierre Fabre")."""
        for term in self._multi_word_terms:
            low = max(0, start - len(term))
            position = text.find(term, low, end + len(term))
            while position != -1:
                if position < end and position + len(term) > start:
                    return True
                position = text.find(term, position + 1, end + len(term))
        return False

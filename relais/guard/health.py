"""Health data about a person (GDPR special category): diagnoses, sick leave, treatments, disability.

A pharma company's texts name diseases all day (indications, SmPCs, study protocols, HR policies),
so a term of `knowledge/guard/sante.txt` is reported only in a sentence that is about someone:
a first or second person ("je", "mon", "ma fille", "my"), a person designated by role ("ma
collègue", "le technicien", "la salariée", "our QA lead"), a title ("Mme", "M."), a known first
name, or a name spaCy tags. "Chez les patients diabétiques" stays clean; "Hugo est diabétique"
does not. Qualifiers that follow a term are part of it ("cancer du sein", "diabétique de type 1"),
and a sick leave and its cause form one span ("arrêt maladie pour burn-out").
"""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.recognizers import LANGUAGE, TITLES, read_word_list

SCORE = 0.8
_QUALIFIER = (
    r"(?:[^\S\n]+(?i:sévères?|graves?|chroniques?|aigu[ëe]?s?|légère?s?|modérée?s?|avancée?s?|précoces?|"
    r"severe|chronic|acute|positive|positif)"
    r"|[^\S\n]+(?i:de\s+type\s+(?:[12]|I{1,2})|type\s+[12]|de\s+\d+\s+(?:mois|semaines)|"
    r"(?:du|de\s+la|de\s+l['’]|des|aux|au|à\s+la)\s*[\w-]+))"
)
_CAUSE = (r"[^\S\n]+(?i:pour|suite\s+à|à\s+cause\s+(?:de|du|des|d['’])|après|for|due\s+to)[^\S\n]+"
          r"(?i:une?[^\S\n]+|sa[^\S\n]+|son[^\S\n]+|an?[^\S\n]+)?")
_ROLE = (
    r"collègue|salariée?|patiente?|opérat(?:eur|rice)|technicien(?:ne)?|employée?|agent|collaborat(?:eur|rice)|"
    r"stagiaire|intérimaire|candidate?|responsable|manager|chef|directeur|directrice|pharmacien(?:ne)?|"
    r"fils|fille|mari|femme|épouse|époux|enfant|conjointe?|"
    r"colleague|employee|lead|operator|technician|patient|wife|husband|son|daughter|boss|analyst"
)
# What makes a sentence about someone in particular (the generic "chez le patient" does not).
_ABOUT_SOMEONE = regex.compile(
    r"(?i:\b(?:je|j['’]|me|m['’]|moi|mon|ma|mes|tu|ton|ta|tes|my|I['’]m)\b)"
    r"|\bI\b|(?i:\b(?:he|she|his|her|him)\b)"
    rf"|(?<!(?i:chez)\s)(?i:\b(?:le|la|l['’]|ce|cette|cet|mon|ma|notre|votre|our|my|the|this)\s+(?:{_ROLE})\b"
    r"(?!\s+(?:type|moyen|standard|typique)\b))"
    rf"|(?<![\w,.])(?:{TITLES})[ \u00a0]+[A-ZÀ-Ý]"
    r"|(?i:\b(?:est|suis|es|était|a\s+été|ai\s+été|is|was|has\s+been)\s+"
    r"(?:atteinte?|diagnostiquée?|hospitalisée?|opérée?|en\s+arrêt|enceinte|diagnosed|hospitali[sz]ed|on\s+sick))"
)
# A sentence ends at . ! ? ; or a line break, but not after a title ("M. Besson", "Dr. Watson").
_SENTENCE_END = regex.compile(r"(?<=[.!?;])(?<!\b(?:M|Dr|Mr|Mrs|Ms|Pr|St)\.)\s+|\n")
_CAPITALISED = regex.compile(r"\b[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)?\b")


class HealthRecognizer(EntityRecognizer):
    """SANTE: health terms in a sentence about an identifiable person."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["SANTE"], supported_language=LANGUAGE, name="HealthRecognizer")
        self._first_names = read_word_list("prenoms.txt")
        self._terms = _compile_terms(read_word_list("sante.txt"))

    def load(self) -> None:
        """Nothing to load: the term list is read in the constructor."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Health terms (with their qualifiers and causes) of the sentences about someone."""
        persons = [(e.start_char, e.end_char) for e in (nlp_artifacts.entities if nlp_artifacts else ())
                   if e.label_ in ("PER", "PERSON")]
        if not self._terms.search(text):
            return []  # most texts: no health term at all, one search
        results = []
        for start, end in _sentences(text):
            sentence = text[start:end]
            if not self._terms.search(sentence):
                continue
            if not (self._is_about_someone(sentence)
                    or any(start <= person_start < end for person_start, _ in persons)):
                continue
            results += [RecognizerResult("SANTE", start + s, start + e, SCORE) for s, e in self._spans(sentence)]
        return results

    def _is_about_someone(self, sentence: str) -> bool:
        if _ABOUT_SOMEONE.search(sentence):
            return True
        return any(word.group() in self._first_names for word in _CAPITALISED.finditer(sentence))

    def _spans(self, sentence: str) -> list[tuple[int, int]]:
        """Term spans, then a sick leave joined to its cause ("arrêt maladie pour burn-out")."""
        spans = [match.span() for match in self._terms.finditer(sentence, overlapped=False)]
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and regex.fullmatch(_CAUSE, sentence[merged[-1][1]:start]):
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged


def _compile_terms(terms: frozenset[str]) -> regex.Pattern:
    """One pattern for all terms: acronyms case-sensitive, words in any case, any apostrophe."""
    alternatives = []
    for term in sorted(terms, key=len, reverse=True):
        pattern = r"\s+".join(regex.escape(word) for word in term.split())
        pattern = regex.sub(r"\\?['’]", "['’]", pattern)
        alternatives.append(pattern if term.isupper() else f"(?i:{pattern})")
    # "traitement antiépileptique", "sous traitement hormonal": a treatment named by its class.
    alternatives.append(r"(?i:traitements?\s+(?:anti[\w-]+|hormonal|hormonaux|de\s+substitution))")
    return regex.compile(rf"(?<![\w-])(?:{'|'.join(alternatives)})(?![\w-]){_QUALIFIER}{{0,2}}")


def _sentences(text: str):
    start = 0
    for separator in _SENTENCE_END.finditer(text):
        yield start, separator.start()
        start = separator.end()
    yield start, len(text)

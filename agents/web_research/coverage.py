"""Whether the pages found answer the question: a cheap check on the question's key terms.

No model is asked: a page that answers a question nearly always contains its key terms (a
stemmed word of the question that is not a stop word, or a number: "Annexe 1" is not "Annexe 11").
When too few of them appear in any page read, the agent searches again with a reformulated query,
and the terms still missing tell the reformulation what to look for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from relais.sources import Source

# The share of the question's key terms the pages must contain between them for the search to stop.
ENOUGH_TERMS = 2 / 3
_WORD = re.compile(r"\w+", re.UNICODE)
# Words of a question that say what kind of answer is wanted but never appear in the answer's page.
_QUESTION_WORDS = {
    "quel", "quelle", "quels", "quelles", "comment", "pourquoi", "quand", "combien", "est", "sont", "faut",
    "peut", "doit", "dois", "what", "which", "when", "how", "why", "does", "should", "must", "cherche",
    "recherche", "trouve", "donne", "dis", "explique", "web", "internet", "search", "find", "tell",
    "dernier", "derniere", "dernieres", "derniers", "recent", "recente", "recentes", "actualite", "actualites",
    "latest", "news",
}


@dataclass(frozen=True)
class Coverage:
    """Which key terms of the question the pages contain."""

    terms: tuple[str, ...]  # the question's key terms, as written (first spelling of each stem)
    missing: tuple[str, ...]

    @property
    def answers(self) -> bool:
        """Whether the pages contain enough of the question's key terms to answer it."""
        if not self.terms:
            return True  # nothing to look for (a one-word greeting): one search is all there is to do
        return (len(self.terms) - len(self.missing)) / len(self.terms) >= ENOUGH_TERMS

    def summary(self) -> str:
        """"3/4 termes de la question trouvés" for a status event."""
        return f"{len(self.terms) - len(self.missing)}/{len(self.terms)} termes de la question trouvés"


def key_terms(text: str) -> dict[str, str]:
    """The question's key terms: {stem: first spelling}, stop words and question words left out."""
    terms: dict[str, str] = {}
    for word in _WORD.findall(text):
        plain = _plain(word)
        if plain.isdigit() or (len(plain) > 2 and plain not in _stop_words() and plain not in _QUESTION_WORDS):
            terms.setdefault(_stem(word), word)
    return terms


def judge_coverage(question: str, sources: Sequence[Source]) -> Coverage:
    """Which of the question's key terms appear in at least one page (or search snippet) found."""
    wanted = key_terms(question)
    present = {_stem(word) for source in sources for word in _WORD.findall(source["text"])}
    missing = tuple(word for stem, word in wanted.items() if stem not in present)
    return Coverage(terms=tuple(wanted.values()), missing=missing)


def _plain(word: str) -> str:
    """Lower case without accents, so « Révisée » and « revisee » are one word."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


@cache
def _stemmer():  # noqa: ANN202 - PyStemmer ships no types
    import Stemmer

    return Stemmer.Stemmer("french")  # French first: most questions are; English words mostly keep their stem


def _stem(word: str) -> str:
    """The word's stem without accents: the stemmer needs the accents (révisée, révision → révis), a match does not."""
    return word if word.isdigit() else _plain(_stemmer().stemWord(word.lower()))


@cache
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH

    return frozenset(_plain(word) for word in (*STOPWORDS_FRENCH, *STOPWORDS_EN))

"""Presidio's NLP step without spaCy: words cut by one pattern, lower-cased words as lemmas.

Presidio reads the tokens only for the context words around a match (« sécurité sociale » before a
NIR): every Relais recogniser works on patterns, word lists and context, and spaCy's NER runs apart,
where a pattern cannot settle a name (`entities.py`). Building a spaCy `Doc` for this cost a
2,000-character request about 20 ms, most of it spent creating spaCy's token and lexeme objects
that Presidio's context search walks token by token for every finding; plain lists of strings give
it the same words, the same positions and the same keywords (spaCy's own French stop words and
punctuation test) for a fraction of that.
"""

from __future__ import annotations

import re

from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from spacy.lang.fr.stop_words import STOP_WORDS
from spacy.lang.lex_attrs import is_punct

# A word (with the elided article or pronoun cut before its apostrophe: « l' », « qu' »), a run of
# blanks, or any other character alone.
_TOKEN = re.compile(r"\w+(?:['’](?=\w))?|\s+|[^\w\s]")


def split_words(text: str) -> tuple[list[str], list[int]]:
    """The text's tokens and where each starts; the one blank that follows a word belongs to it (as in spaCy)."""
    words: list[str] = []
    starts: list[int] = []
    for match in _TOKEN.finditer(text):
        piece, start = match.group(), match.start()
        if words and piece.startswith(" "):  # a blank run after a word: its first blank is the word's
            piece, start = piece[1:], start + 1
        if piece:
            words.append(piece)
            starts.append(start)
    return words, starts


class WordNlpEngine(NlpEngine):
    """A Presidio NLP engine for French that only splits words: no entities, lemmas are lower-cased words."""

    def load(self) -> None:
        """Nothing to load."""

    def is_loaded(self) -> bool:
        """Always ready."""
        return True

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        """The text's words, where they start, and their lower-cased forms as lemmas."""
        words, starts = split_words(text)
        return NlpArtifacts(entities=[], tokens=words, tokens_indices=starts,  # type: ignore[arg-type]
                            lemmas=[word.lower() for word in words], nlp_engine=self, language=language)

    def process_batch(self, texts, language, batch_size=1, n_process=1, **kwargs):
        """Each text with its artifacts, one after the other."""
        for text in texts:
            yield text, self.process_text(str(text), language)

    def is_stopword(self, word: str, language: str) -> bool:
        """A French stop word, by spaCy's list."""
        return word.lower() in STOP_WORDS

    def is_punct(self, word: str, language: str) -> bool:
        """Punctuation only, by spaCy's test."""
        return is_punct(word)

    def get_supported_entities(self) -> list[str]:
        """No entity: spaCy's NER runs apart (`entities.py`)."""
        return []

    def get_supported_languages(self) -> list[str]:
        """French: the analyzer asks in French whatever the text's language."""
        return ["fr"]

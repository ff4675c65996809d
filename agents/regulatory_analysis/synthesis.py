"""What a small model's synthesis may keep: what the passages say, no echo of its instructions, no denial.

The embedded model copied its prompt into answers (« Le guide BPF ne fixe pas de… que les auto-inspections
doivent… ») and denied what its first extract said. A synthesis is written from sentences already picked
as answering the question, so a sentence saying the guide does not cover the subject contradicts them:
it is removed, as is any sentence that repeats the instructions, and any sentence whose words the passages
mostly do not hold (the model answering from memory, as « Oui, il est légal de grignoter… » did). What is left
is cut to a few sentences, and a sentence left unfinished (a heading, or the token cap) goes too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from agents.regulatory_analysis.sentences import split_sentences
from retrievers.citations import normalise

ECHO_WORDS = 6  # this many consecutive words in common with the instructions make a copy, not a coincidence
MAX_SENTENCES = 3
MIN_GROUNDED = 0.6  # share of a synthesis sentence's own words the passages must hold
STEM_LETTERS = 5
_SMALL_WORDS = frozenset(
    "les des une aux par pour sur avec sans que qui dont est sont etre doit doivent peut peuvent pas plus "
    "ainsi aussi tout tous toute toutes chaque comme cela ceci selon lors entre afin leur leurs son ses cette "
    "ces cet dans elle elles ils ont mais donc car".split())
# How the instructions name the guide: an answer may name it the same way without copying them.
GUIDE_NAME = "le guide des Bonnes Pratiques de Fabrication (BPF) publié par l'ANSM (édition 2019)"
_LINE_MARK = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*)")  # headings, list items, quotes: prose only
_FINISHED = re.compile(r"[.!?…»”)\]]\s*$")
# « le guide ne fixe pas… », « les extraits ne précisent rien… », « il n'y a aucune exigence… »
_DENIAL = re.compile(
    r"\b(?:ne\s+|n['’]\s*)(?:y\s+)?(?:\S+\s+){0,2}?(?:fix|trait|précis|prévo|couvr|mentionn|abord|défini|détaill|"
    r"donn|indiqu|spécifi|impos|exig|conti|parl|fourni|évoqu|établi|a\b)\S*\s+(?:pas|aucun\w*|rien|nullement)\b",
    re.IGNORECASE)
_ABOUT_THE_GUIDE = re.compile(r"\b(?:guide|BPF|extraits?|passages?|textes?|document)\b", re.IGNORECASE)


def clean_synthesis(text: str, instructions: Sequence[str], passages: str, question: str) -> str:
    """The synthesis as one paragraph of at most MAX_SENTENCES finished sentences, each grounded in the passages.

    Echoes of the instructions, denials and sentences the passages do not support go; so does layout
    (headings, list marks): the synthesis is one paragraph above the quotations.
    """
    layout_free = "\n".join(_LINE_MARK.sub("", line) for line in text.splitlines())
    prose = strip_echoed_lines(layout_free, instructions, allowed=[GUIDE_NAME, question, passages])
    # an unfinished sentence is a heading (« Synthèse », « Réponse : ») or was cut short by the token cap
    kept = [sentence for line in prose.splitlines() for sentence in split_sentences(line)
            if _FINISHED.search(sentence) and not denies_coverage(sentence) and grounded(sentence, passages, question)]
    return " ".join(kept[:MAX_SENTENCES])


def grounded(sentence: str, passages: str, question: str) -> bool:
    """Whether most of what a sentence says beyond the question's words is in the passages.

    Words are compared by their first letters (« contrôles » and « contrôle » alike), small words aside. A
    synthesis answering from memory (« Oui, il est légal de grignoter… » above passages about deliveries)
    brings words the passages do not hold.
    """
    own = _stems(sentence) - _stems(question)
    return not own or len(own & _stems(passages)) >= MIN_GROUNDED * len(own)


def strip_echoed_lines(text: str, instructions: Sequence[str], allowed: Sequence[str] = ()) -> str:
    """`text` without the sentences that repeat the instructions; a line left empty goes.

    A sentence repeats them when it shares ECHO_WORDS consecutive words with them (case, accents and
    punctuation aside), or when it is one of their lines word for word (a heading, « Fiabilité : »). Words
    the `allowed` texts hold too (the question, the extracts, the guide's name) are no copy of the instructions.
    """
    echoes = _Instructions(instructions, allowed)
    lines = []
    for line in text.splitlines():
        sentences = split_sentences(line)
        kept = [sentence for sentence in sentences if not echoes.repeated_in(sentence)]
        if kept == sentences:
            lines.append(line)  # nothing copied: the line stays as written (indentation, list marks)
        elif kept:
            lines.append(" ".join(kept))
    return "\n".join(lines)


def denies_coverage(sentence: str) -> bool:
    """Whether a sentence says the guide (or its extracts) does not deal with something."""
    return bool(_DENIAL.search(sentence) and _ABOUT_THE_GUIDE.search(sentence))


class _Instructions:
    """The instructions' runs of ECHO_WORDS words and their lines, to recognise a copy of them."""

    def __init__(self, instructions: Sequence[str], allowed: Sequence[str] = ()) -> None:
        self.runs: set[tuple[str, ...]] = set()
        self.lines: set[tuple[str, ...]] = set()
        for instruction in instructions:
            self.runs |= _runs(_words(instruction))  # across line breaks too: a model joins lines
            self.lines |= {words for line in instruction.splitlines() if (words := tuple(_words(line)))}
        for text in allowed:
            self.runs -= _runs(_words(text))

    def repeated_in(self, sentence: str) -> bool:
        words = _words(sentence)
        return tuple(words) in self.lines or not self.runs.isdisjoint(_runs(words))


def _stems(text: str) -> set[str]:
    decomposed = unicodedata.normalize("NFKD", normalise(text).casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return {word[:STEM_LETTERS] for word in re.findall(r"\w+", plain) if len(word) > 2 and word not in _SMALL_WORDS}


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", normalise(text).casefold())


def _runs(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[start:start + ECHO_WORDS]) for start in range(len(words) - ECHO_WORDS + 1)}

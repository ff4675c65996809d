"""Names found from a first name of any country, and names typed in lower case.

The curated `prenoms.txt` knows the usual French and English first names; Faker's first names of
every locale (`lexicon.world_first_names`, about 21,000) add the others: "Grégoire Tessier",
"Mark Adeyemi", "Dmitri Sokolov", "Tomasz Wiśniewski". Being large, that list needs more evidence
than the curated one: the next word must look like a surname (not a common word, and not a
French adjective, verb or adverb), particles included ("Mathis Le Goff", "Yasmine El Amrani");
when that surname is also a French word, spaCy must not tag the first name as a place ("Paris La
Défense"). A surname-like word before a first name is a surname-first name ("Zhang Wei",
"Nguyen Thi Lan"). A first name missing from every list ("Oksana") is still missed.

Names typed in lower case ("écris à jean-baptiste morel", "réponds à sophie") follow the same
idea: a known first name, then a word that looks like a surname; a first name that is also a
French word ("jean", "rose", "pierre") needs that surname, and one that is not ("sophie",
"karim") may stand alone after a word that addresses someone ("à", "avec", "merci").
A closing formula ("Cordialement,") followed by a name on the next line is a signature, when the
name starts with a first name or holds no word of the language ("Direction Qualité" is no one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import regex

from relais.guard.lexicon import ADJECTIVE, ADVERB, VERB, common_words, french_lexicon, world_first_names
from relais.guard.recognizers import NAME, NAME_WORD, read_word_list

if TYPE_CHECKING:
    from relais.guard.entities import SentenceEntities

# Particles inside a surname: "Le Goff", "El Amrani", "Van der Berg", "Ben Salah", "Da Silva".
PARTICLES = frozenset({"le", "la", "de", "du", "des", "van", "von", "der", "den", "ben", "bin", "ibn", "el", "al",
                       "da", "di", "dos", "del", "della", "ould", "abu", "ter", "ten", "mac", "mc", "st"})
_CAPITALISED_RUN = regex.compile(rf"(?<![\w@./-])(?P<first>{NAME_WORD})(?P<rest>(?:[ \u00a0]{NAME_WORD}){{1,3}})")
_LOWER_WORD = r"\p{Ll}+(?:-\p{Ll}+)?"
# A lower-case word and the one after it, not inside an e-mail, a path, an identifier or a code.
_LOWER_PAIR = regex.compile(
    rf"(?<![\w@./\\_-])(?P<first>{_LOWER_WORD})(?![\w@_/\\]|\.\w|-\w)"
    rf"(?:[ \u00a0](?P<last>{_LOWER_WORD})(?![\w@_/\\'’]|\.\w|-\w))?"
)
_ADDRESSING_BEFORE = regex.compile(
    r"(?:\b(?:à|a|avec|pour|chez|par|merci|bonjour|salut|coucou|demande\s+à|dis\s+à|réponds\s+à|répondre\s+à|"
    r"appeler|appelle|contacter|contacte|prévenir|préviens|relancer|relance|cc|to|with|for|ask|tell|thanks|hi|dear))"
    r"[ \u00a0]*,?[ \u00a0]*$"
)
# An article or a determiner before a lower-case pair, one adjective at most between them.
_DETERMINER_BEFORE = regex.compile(
    r"(?<![\w])(?i:the|an|this|that|these|those|our|your|its|their|le|la|les|l['’]|un|une|des|du|ce|cet|cette|ces|"
    r"notre|votre|nos|vos|leur|leurs"
    # a count is a determiner too (« 4 minor observations », « 12 grandes cuves »)
    r"|(?<![\d.,])\d{1,4})(?:[ \u00a0]+\p{Ll}+)?[ \u00a0]+$"
)
_SIGNATURE = regex.compile(
    r"(?i:cordialement|bien\s+à\s+vous|bien\s+cordialement|salutations(?:\s+distinguées)?|bonne\s+journée|"
    r"best\s+regards|kind\s+regards|regards|sincerely|yours\s+truly|thanks|merci)[ \t]*[,.!]?[ \t]*\n[ \t]*"
    rf"(?P<name>{NAME})[ \t]*(?:\n|$)"
)
_SENTENCE = regex.compile(r"[^.!?\n]*")
_SURNAME_THEN_FIRST = regex.compile(
    rf"(?<![\w@./-])(?P<surname>\p{{Lu}}\p{{Ll}}+)[ \u00a0](?P<first>{NAME_WORD})(?![\w-])"
)
_NEXT_NAME_WORD = regex.compile(rf"[ \u00a0](?P<word>{NAME_WORD})(?![\w-])")
# NAME_WORD compiled once: a pattern given as a string is looked up in `regex`'s cache at each call, and recompiled when
# the cache (500 patterns, tossed at random when full: the e-mail names' patterns fill it) has dropped it
_NAME_WORD = regex.compile(NAME_WORD)
_NOT_A_SURNAME_POS = frozenset({ADJECTIVE, VERB, ADVERB})
_NOT_PERSON_LABELS = frozenset({"LOC", "ORG", "MISC", "GPE"})


def sentence_around(text: str, position: int):
    """The match of the sentence (up to . ! ? or a line break) holding `position`, for spaCy's NER."""
    sentence_start = text.rfind("\n", 0, position) + 1
    for stop in ".!?":
        sentence_start = max(sentence_start, text.rfind(stop, 0, position) + 1)
    return _SENTENCE.match(text, sentence_start)


class FirstNameEvidence:
    """Spans of names recognised from a first name (any country, any case) or a signature."""

    def __init__(self, ner: SentenceEntities | None = None) -> None:
        """Build the rules; `ner` (spaCy's entities of sentences) vetoes world names it calls places."""
        self._ner = ner
        self._curated = read_word_list("prenoms.txt")
        self._curated_ambiguous = read_word_list("prenoms_ambigus.txt")
        self._not_names = read_word_list("non_personnes.txt")
        self.world = world_first_names() - self._not_names
        self._lower_first = {name.lower() for name in self._curated | self.world}
        self._ambiguous_lower = {name.lower() for name in self._curated_ambiguous}
        self._common = common_words()
        self._lexicon = french_lexicon()

    def is_world_first_name(self, word: str) -> bool:
        """Whether a capitalised word is a first name of the world list, and no French word ("Manuel")."""
        return word in self.world and not self._lexicon.is_word(word.lower())

    def spans(self, text: str):
        """(start, end) of each name found by these rules (the caller trims and scores them)."""
        yield from self._world_name_runs(text)
        yield from self._surname_first_runs(text)
        yield from self._lower_case_names(text)
        for match in _SIGNATURE.finditer(text):
            if self._looks_like_a_signature(match.group("name").split()):
                yield match.span("name")

    def _world_name_runs(self, text: str):
        """A first name of the world list (capitalised), then words that look like a surname."""
        runs, doubtful = [], []
        for match in _CAPITALISED_RUN.finditer(text, overlapped=True):
            first = match.group("first")
            if first not in self.world or first in self._curated or first in self._curated_ambiguous:
                continue  # the curated lists' rules judge their names ("Martin Dow" is a company)
            end = self._surname_end(text, match.start("rest"), match.group("rest"))
            if end is None:
                continue
            runs.append((match.start(), end))
            # A surname that is also a French noun ("Paris La Défense") is weaker evidence: spaCy
            # settles it (its NER is the slow step, so a surname that is no word skips it).
            if self._lexicon.is_word(text[text.rfind(" ", 0, end) + 1:end].lower()):
                doubtful.append(match.start())
        places = self._places(text, doubtful)
        yield from (run for run in runs if run[0] not in places)

    def _surname_first_runs(self, text: str):
        """A surname-like word right before a first name: "Zhang Wei", "Nguyen Thi Lan" (surname first)."""
        for match in _SURNAME_THEN_FIRST.finditer(text, overlapped=True):
            first, surname = match.group("first"), match.group("surname")
            known = first in self._curated or self.is_world_first_name(first)
            if known and self.looks_like_a_surname(surname) and not self._is_first(surname):
                yield match.start(), self._name_end(text, match.end("first"))

    def _is_first(self, word: str) -> bool:
        return word in self._curated or word in self._curated_ambiguous or word in self.world

    def _name_end(self, text: str, end: int) -> int:
        """The end of a name that may go on with first names ("Nguyen Thi Lan")."""
        following = _NEXT_NAME_WORD.match(text, end)
        while following and self._is_first(following.group("word")):
            end = following.end()
            following = _NEXT_NAME_WORD.match(text, end)
        return end

    def _surname_end(self, text: str, offset: int, rest: str) -> int | None:
        """Where the surname after a first name ends: particles, then one word that looks like a surname."""
        position = offset
        for word in _NAME_WORD.finditer(rest):
            position = offset + word.end()
            if word.group().lower() in PARTICLES:
                continue
            return position if self.looks_like_a_surname(word.group()) else None
        return None

    def _looks_like_a_signature(self, words: list[str]) -> bool:
        """A first name first ("Aurélien Gaillard") or no word of the language; not "Direction Qualité"."""
        if words[0] in self._curated or words[0] in self.world:
            return True
        return all(word.lower() not in self._common and not self._lexicon.is_word(word.lower()) for word in words)

    def _places(self, text: str, starts: list[int]) -> set[int]:
        """Which of the words at `starts` spaCy tags as a place, an organisation or a thing ("Paris La Défense").

        One batch for all of them: each call of spaCy's NER pays a fixed cost of several milliseconds.
        """
        if self._ner is None or not starts:
            return set()
        sentences = [sentence_around(text, start) for start in starts]
        batch = self._ner.many([sentence.group() for sentence in sentences])
        return {start for start, sentence, entities in zip(starts, sentences, batch, strict=True)
                if any(begin <= start - sentence.start() < end and label in _NOT_PERSON_LABELS
                       for begin, end, label in entities)}

    def looks_like_a_surname(self, word: str) -> bool:
        """Not a common word, a known non-name, nor a French adjective, verb or adverb (nouns may be surnames)."""
        lower = word.lower()
        if len(lower) < 2 or lower in self._common or word.title() in self._not_names or lower in PARTICLES:
            return False
        return not (self._lexicon.parts_of_speech(lower) & _NOT_A_SURNAME_POS)

    def _lower_case_names(self, text: str):
        for match in _LOWER_PAIR.finditer(text, overlapped=True):
            first, last = match.group("first"), match.group("last")
            if not self._is_lower_first_name(first):
                continue
            if _DETERMINER_BEFORE.search(text, max(0, match.start() - 30), match.start()):
                continue  # « the local dev stack », « la nouvelle rose trémière »: a noun phrase, not a name
            if last and self.looks_like_a_surname(last):
                yield match.start(), match.end()
            elif not self._is_ambiguous(first) and _ADDRESSING_BEFORE.search(text, max(0, match.start() - 25),
                                                                              match.start()):
                yield match.span("first")

    def is_lower_first_name(self, word: str) -> bool:
        """Whether a lower-case word is a first name of a list and no common word (« nadia », not « will »)."""
        return self._is_lower_first_name(word) and not self._is_ambiguous(word)

    def _is_lower_first_name(self, word: str) -> bool:
        if word in self._common and word.title() not in self._curated:
            return False  # "will", "page": words; "pierre" of the curated list stays, as an ambiguous name
        return all(part in self._lower_first for part in word.split("-"))

    def _is_ambiguous(self, word: str) -> bool:
        """A lower-case first name that is also a word ("jean", "rose") or a place ("florence")."""
        if "-" in word:
            return False  # "jean-baptiste" is a first name only
        return word in self._ambiguous_lower or word in self._common or self._lexicon.is_word(word)

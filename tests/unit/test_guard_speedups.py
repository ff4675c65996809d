"""The guard's fast paths give what the slow ones gave: the word-list trie and the word splitter."""

from __future__ import annotations

import pytest
import regex
from spacy.tokens import Doc
from spacy.vocab import Vocab

from relais.guard import engine, tagger
from relais.guard.recognizers import literal_alternation
from relais.guard.words import WordNlpEngine, split_words

TERMS = ["arrêt maladie", "arrêt maladie prolongé", "asthme", "asthme sévère", "maladie de Crohn", "qu'il",
         "diabète", "diabète de type 1", "hépatite"]


def as_alternation(terms: list[str]) -> regex.Pattern:
    """The slow form the trie replaces: every term in full, the longest first."""
    pieces = []
    for term in sorted(terms, key=len, reverse=True):
        piece = r"\s+".join(regex.escape(word) for word in term.split())
        pieces.append(regex.sub(r"\\?['’]", "['’]", piece))
    return regex.compile(rf"(?i)(?<!\w)(?:{'|'.join(pieces)})(?!\w)")


@pytest.mark.parametrize("text", [
    "Elle est en arrêt maladie prolongé depuis mars.",
    "arrêt maladie puis asthme sévère ; diabète de type 1 et diabète",
    "ARRÊT   MALADIE\nprolongé, asthmes, hépatites, hépatite.",
    "maladie de crohn, qu’il dit, qu'il dit",
    "arrêt maladies, diabétique, asthme sévèrement",
])
def test_the_trie_finds_what_the_alternation_finds(text: str) -> None:
    trie = regex.compile(rf"(?i)(?<!\w)(?:{literal_alternation(TERMS)})(?!\w)")
    assert [m.span() for m in trie.finditer(text)] == [m.span() for m in as_alternation(TERMS).finditer(text)]


def test_the_trie_keeps_the_longest_term() -> None:
    pattern = regex.compile(rf"(?i)(?:{literal_alternation(TERMS)})")
    assert pattern.match("diabète de type 1 équilibré").group() == "diabète de type 1"
    assert pattern.match("diabète de type 2").group() == "diabète"


def test_the_trie_is_the_same_whatever_the_order() -> None:
    assert literal_alternation(TERMS) == literal_alternation(reversed(TERMS))


@pytest.mark.parametrize("text", [
    "Bonjour  M. Dupont,\n\nl'adresse : 12 rue X.  ",
    " commence par un blanc\tet une tabulation",
    "\n\nNIR 1 85 03 75 123 456 78 — sécurité sociale",
    "",
    "aujourd’hui, l’employé(e) n°3 a dit : « OK »",
])
def test_the_word_splitter_gives_the_tokens_of_a_spacy_doc_built_from_them(text: str) -> None:
    """The words sit at their places in the text, and spaCy, given them, rebuilds the text exactly: the one
    blank after a word is its trailing space, every other blank run a token of its own."""
    words, starts = split_words(text)
    assert all(text[start:start + len(word)] == word for word, start in zip(words, starts, strict=True))
    spaces = [start + len(word) < len(text) and text[start + len(word)] == " "
              and (index + 1 == len(starts) or starts[index + 1] > start + len(word))
              for index, (word, start) in enumerate(zip(words, starts, strict=True))]
    doc = Doc(Vocab(), words=words, spaces=spaces)
    assert doc.text == text
    assert [token.idx for token in doc] == starts


def test_the_word_splitter_cuts_elisions_and_punctuation() -> None:
    words, _ = split_words("l'adresse de M. Dupont, sécurité sociale.")
    assert words == ["l'", "adresse", "de", "M", ".", "Dupont", ",", "sécurité", "sociale", "."]


def test_the_context_keywords_are_the_ones_spacy_french_gave() -> None:
    """Presidio keeps as context keywords the lemmas that are neither stop words nor punctuation: the word
    engine answers both questions as spaCy's French vocabulary does."""
    import spacy

    vocab = spacy.blank("fr").vocab
    words = ["le", "Le", "NIR", "sécurité", "sociale", "«", "—", "...", "l'", "qu'", "n°", "de", "DONT", " \n", "3"]
    engine_ = WordNlpEngine()
    assert [engine_.is_stopword(w, "fr") for w in words] == [vocab[w].is_stop for w in words]
    assert [engine_.is_punct(w, "fr") for w in words] == [vocab[w].is_punct for w in words]
    artifacts = engine_.process_text("Le numéro de sécurité sociale : 1 85", "fr")
    assert artifacts.keywords == ["numéro", "sécurité", "sociale", "1", "85"]


def test_a_context_word_still_raises_a_nir_without_its_key() -> None:
    """Presidio's context words read the split tokens: 13 unspaced digits alone are no NIR, beside « sécu » they are."""
    assert engine.inspect(["Numéro de sécurité sociale : 1850375123456"]).counts() == {"NIR": 1}
    assert engine.inspect(["Numéro de lot : 1850375123456"]).counts() == {}


def test_spacy_reads_a_request_in_one_call(monkeypatch):
    """A first name alone only spaCy settles (« Florence ») and a name no list knows are asked about together:
    each call of spaCy's NER pays a fixed cost of several milliseconds."""
    ner = engine._person_recognizer(engine.get_analyzer())._ner
    calls: list[list[str]] = []
    original = ner.many
    monkeypatch.setattr(ner, "many", lambda texts: (calls.append(list(texts)), original(texts))[1])
    # the rules' findings: the tagger (round 14, which also masks « Florence » here) is tested in test_guard_tagger.py
    engine.clear_caches()
    text = ("Florence viendra demain. Le dossier de Oluwaseun Adebayo est prêt, "
            "IBAN FR76 3000 6000 0112 3456 7890 189.")
    with tagger.turned_off():
        found = engine.inspect([text])
    assert [text[f.start:f.end] for f in found.findings] == ["Oluwaseun Adebayo", "FR76 3000 6000 0112 3456 7890 189"]
    assert len(calls) == 1 and len(calls[0]) == 3  # Florence's sentence and the unknown name's window, at once


def test_a_clean_request_without_a_doubtful_first_name_never_calls_spacy(monkeypatch):
    ner = engine._person_recognizer(engine.get_analyzer())._ner
    calls: list[list[str]] = []
    monkeypatch.setattr(ner, "many", lambda texts: calls.append(list(texts)) or [[] for _ in texts])
    engine.clear_caches()
    assert engine.inspect(["Le Comité Qualité Groupe valide la revue annuelle des Bonnes Pratiques."]).is_clean
    assert calls == []


def test_world_first_names_before_a_french_word_are_asked_about_in_one_call(monkeypatch):
    """« Paris La Défense », « Madison Square »: a world first name before a word of the language is settled by
    spaCy (a place?), all of a request's at once, not one call each."""
    recogniser = engine._person_recognizer(engine.get_analyzer())
    calls: list[list[str]] = []
    original = recogniser._ner.many
    monkeypatch.setattr(recogniser._ner, "many", lambda texts: (calls.append(list(texts)), original(texts))[1])
    engine.clear_caches()
    text = ("Le site de Paris La Défense ouvre lundi.\nLa navette part de Madison Square à midi.\n"
            "Vu à Savannah Marais.")
    assert list(recogniser._evidence.spans(text)) == []  # spaCy calls all three places
    assert calls == [["Le site de Paris La Défense ouvre lundi", "La navette part de Madison Square à midi",
                      "Vu à Savannah Marais"]]

"""The guard's fast paths give what the slow ones gave: the word-list trie and the word splitter."""

from __future__ import annotations

import pytest
import regex

from relais.guard import engine, tagger
from relais.guard.recognizers import literal_alternation

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
def test_the_word_splitter_keeps_every_character_in_place(text: str) -> None:
    doc = engine._tokenizer_pipeline()(text)
    assert doc.text == text
    assert all(text[token.idx:token.idx + len(token.text)] == token.text for token in doc)
    assert [token.lemma_ for token in doc] == [token.text.lower() for token in doc]


def test_the_word_splitter_cuts_elisions_and_punctuation() -> None:
    doc = engine._tokenizer_pipeline()("l'adresse de M. Dupont, sécurité sociale.")
    assert [token.text for token in doc] == ["l'", "adresse", "de", "M", ".", "Dupont", ",", "sécurité", "sociale", "."]


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
    monkeypatch.setattr(tagger, "_enabled", False)
    engine.clear_caches()
    text = ("Florence viendra demain. Le dossier de Oluwaseun Adebayo est prêt, "
            "IBAN FR76 3000 6000 0112 3456 7890 189.")
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

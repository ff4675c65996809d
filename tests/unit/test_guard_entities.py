"""spaCy's NER as the guard asks it: one text or a batch give the same entities, remembered up to a size."""

from __future__ import annotations

import pytest

from relais.guard import engine
from relais.guard.entities import SentenceEntities


class CountingPipeline:
    """The real French pipeline, counting the texts it reads."""

    def __init__(self, nlp) -> None:
        self.nlp, self.read = nlp, []

    def pipe(self, texts):
        texts = list(texts)
        self.read += texts
        return self.nlp.pipe(texts)


@pytest.fixture(scope="module")
def nlp():
    import spacy

    return spacy.load(engine.SPACY_MODEL, exclude=list(engine.UNUSED_SPACY_COMPONENTS))


TEXTS = ["Le rapport de Oluwaseun Adebayo est arrivé hier.", "Merci à Xu Jiahui pour la revue du lot.",
         "La salle blanche est qualifiée."]


def test_a_batch_finds_what_each_text_alone_finds(nlp):
    alone = [[(e.start_char, e.end_char, e.label_) for e in nlp(text).ents] for text in TEXTS]
    assert SentenceEntities(nlp).many(TEXTS) == alone
    assert any(label == "PER" for _, _, label in alone[0])


def test_the_ner_finds_without_the_shared_tok2vec_what_it_finds_with_it(nlp):
    """The guard leaves spaCy's shared tok2vec out (its ner embeds its own): the entities must not change."""
    import spacy

    assert "tok2vec" not in nlp.pipe_names
    full = spacy.load(engine.SPACY_MODEL, exclude=["parser", "morphologizer", "attribute_ruler", "lemmatizer"])
    assert "tok2vec" in full.pipe_names
    texts = [*TEXTS, "Florence viendra demain avec Hiroshi Tanaka, de Paris La Défense, voir Mme Okafor."]
    assert SentenceEntities(nlp).many(texts) == SentenceEntities(full).many(texts)


def test_texts_already_read_are_not_read_again_and_the_oldest_are_forgotten(nlp):
    counting = CountingPipeline(nlp)
    entities = SentenceEntities(counting, size=2)
    entities.many([TEXTS[0], TEXTS[1], TEXTS[0]])
    assert counting.read == [TEXTS[0], TEXTS[1]]  # a text repeated in a batch is read once
    assert entities(TEXTS[1]) == entities.many([TEXTS[1]])[0]
    assert counting.read == [TEXTS[0], TEXTS[1]]
    entities(TEXTS[2])  # the cache holds two texts: TEXTS[0], the least recently asked, goes
    entities(TEXTS[0])
    assert counting.read == [TEXTS[0], TEXTS[1], TEXTS[2], TEXTS[0]]
    entities.cache_clear()
    entities(TEXTS[2])
    assert counting.read[-1] == TEXTS[2]

"""The embedded model as a pointwise reranker, and query rewriting, with fakes in place of llama.cpp."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from langchain_core.documents import Document

import retrievers.llm_rerank as llm_rerank
from retrievers.llm_rerank import LlamaRelevanceScorer, probability, rerank_hits
from retrievers.query_rewrite import clean_rewrite, expanded_query, rewrite_query
from retrievers.search import Hit
from tests.fakes.scripted_model import ScriptedChatModel

YES_ID, NO_ID = 1, 2


class FakeLlama:
    """Bytes as tokens; the logits favour « oui » by the number of times "échantillon" occurs in the prompt."""

    def __init__(self) -> None:
        self.input_ids = np.zeros(100_000, dtype=np.intc)
        self.n_tokens = 0
        self.evaluated = 0

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return {b"oui": [YES_ID], b"non": [NO_ID]}.get(text, list(text))

    def eval(self, tokens: list[int]) -> None:
        self.input_ids[self.n_tokens:self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self.evaluated += len(tokens)

    def n_vocab(self) -> int:
        return 256

    def last_logits(self) -> np.ndarray:
        text = bytes(self.input_ids[:self.n_tokens].astype(np.uint8)).decode("utf-8", errors="ignore")
        logits = np.zeros(self.n_vocab())
        logits[YES_ID] = text.count("échantillon")
        logits[NO_ID] = 0.5
        return logits


@pytest.fixture
def fake_llama(monkeypatch: pytest.MonkeyPatch) -> FakeLlama:
    llama = FakeLlama()
    monkeypatch.setattr(llm_rerank, "next_token_logits", lambda model: model.last_logits())
    return llama


def _hit(text: str, score: float) -> Hit:
    metadata = {"relevance": 0.85, "lexical": 4.0}
    return Hit(text=text, score=score, metadata=metadata, document=Document(page_content=text, metadata=metadata))


def test_scores_are_yes_minus_no_log_odds(fake_llama: FakeLlama):
    scorer = LlamaRelevanceScorer(fake_llama, lock=threading.Lock())
    relevant, other = scorer.score("Durée de conservation ?", ["Les échantillons sont conservés un an.",
                                                                "Les vestiaires sont propres."])
    assert relevant == pytest.approx(1.0 - 0.5) and other == pytest.approx(-0.5)
    assert probability(relevant) > 0.5 > probability(other)


def test_the_question_prefix_is_evaluated_once(fake_llama: FakeLlama):
    scorer = LlamaRelevanceScorer(fake_llama)
    passages = ["Texte A sur les locaux.", "Texte B sur le matériel.", "Texte C sur la documentation."]
    scorer.score("Une question assez longue sur la conservation des échantillons de référence ?", passages[:1])
    first = fake_llama.evaluated
    scorer.score("Une question assez longue sur la conservation des échantillons de référence ?", passages[1:])
    # later passages cost only their own tokens and the closing instruction, not the instructions + question
    assert fake_llama.evaluated - first < first


def test_rerank_keeps_the_best_and_the_search_metadata(fake_llama: FakeLlama):
    hits = [_hit("Les vestiaires sont propres.", 0.03), _hit("Échantillons : un échantillon par lot.", 0.02),
            _hit("Le matériel est qualifié.", 0.01)]
    ranked = rerank_hits("Combien d'échantillons ?", hits, LlamaRelevanceScorer(fake_llama), top_n=2)
    assert [hit.text for hit in ranked] == [hits[1].text, hits[0].text]  # a tie keeps the search order
    assert ranked[0].score > ranked[1].score and ranked[0].metadata["relevance"] == 0.85


def test_rewrite_is_searched_with_the_question():
    model = ScriptedChatModel(responses=["Reformulation : « Les échantillons de référence doivent être conservés. »"])
    rewrite = rewrite_query("On garde les bouts de lot combien de temps ?", model)
    assert rewrite == "Les échantillons de référence doivent être conservés."
    assert "On garde les bouts de lot" in model.calls[0][-1].content
    assert expanded_query("On garde ?", rewrite) == "On garde ?\n" + rewrite
    assert expanded_query("On garde ?", "  ") == "On garde ?"


def test_a_rambling_rewrite_is_cut_at_a_sentence():
    text = "Première phrase du guide. " + "suite " * 200
    assert clean_rewrite(text) == "Première phrase du guide."

from __future__ import annotations

import math
from pathlib import Path

import pytest
from langchain_core.documents import Document

from retrievers import rerank
from tests.fakes.tiny_reranker import build_tiny_bert, build_tiny_xlm_roberta

QUERY = "formation du personnel de production"
PASSAGES = [
    "le fabricant doit assurer la formation de tout le personnel des zones de production et de stockage",
    "la libération du lot est faite par le fabricant",
    "le système informatisé doit être validé",
    "le vide de ligne est vérifié avant le conditionnement",
    "la qualité du produit est sous contrôle",
]


@pytest.fixture(scope="module")
def xlmr_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_xlm_roberta(tmp_path_factory.mktemp("xlmr"))


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("bert"))


@pytest.fixture(autouse=True)
def fresh_reranker_cache():
    rerank._load_reranker.cache_clear()
    yield
    rerank._load_reranker.cache_clear()


def _docs() -> list[Document]:
    return [Document(page_content=text, metadata={"chunk_id": f"c{i}"}) for i, text in enumerate(PASSAGES)]


def _reference_scores(folder: Path, query: str, passages: list[str]) -> list[float]:
    """The same scores computed with transformers alone, to check what FlagEmbedding returns."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    scores = []
    with torch.no_grad():
        for passage in passages:
            inputs = tokenizer(query, passage, return_tensors="pt")
            logit = model(**inputs).logits.view(-1)[0].item()
            scores.append(1 / (1 + math.exp(-logit)))
    return scores


def test_no_reranker_when_not_configured(monkeypatch):
    monkeypatch.delenv("RELAIS_RERANKER_MODEL", raising=False)
    assert rerank.get_reranker() is None


def test_one_model_per_process(monkeypatch, xlmr_folder):
    monkeypatch.setenv("RELAIS_RERANKER_MODEL", str(xlmr_folder))
    first = rerank.get_reranker()
    assert isinstance(first, rerank.Reranker)
    assert rerank.get_reranker() is first


@pytest.mark.parametrize("architecture", ["xlmr_folder", "bert_folder"])
def test_scores_are_the_models_sigmoid_logits_best_first(request, architecture):
    folder = request.getfixturevalue(architecture)
    reranker = rerank.Reranker(str(folder))
    docs = _docs()

    ranked = reranker.rerank(QUERY, docs, top_n=len(docs))

    expected = _reference_scores(folder, QUERY, PASSAGES)
    assert len(set(round(s, 6) for s in expected)) == len(expected), "tiny model should separate passages"
    assert [doc.metadata["chunk_id"] for doc, _ in ranked] == [
        f"c{i}" for i in sorted(range(len(expected)), key=lambda i: expected[i], reverse=True)
    ]
    by_id = {doc.metadata["chunk_id"]: score for doc, score in ranked}
    for i, score in enumerate(expected):
        assert by_id[f"c{i}"] == pytest.approx(score, abs=1e-4)
    assert all(0.0 <= score <= 1.0 for _, score in ranked)


def test_top_n_keeps_the_best_and_returns_the_same_documents(xlmr_folder):
    reranker = rerank.Reranker(str(xlmr_folder))
    docs = _docs()

    everything = reranker.rerank(QUERY, docs, top_n=10)
    best_two = reranker.rerank(QUERY, docs, top_n=2)

    assert len(everything) == len(docs)
    assert best_two == everything[:2]
    assert all(any(doc is original for original in docs) for doc, _ in best_two)
    assert [score for _, score in everything] == sorted((score for _, score in everything), reverse=True)


def test_nothing_to_rank(xlmr_folder):
    reranker = rerank.Reranker(str(xlmr_folder))
    assert reranker.rerank(QUERY, [], top_n=5) == []
    assert reranker.rerank(QUERY, _docs(), top_n=0) == []


def test_passage_longer_than_the_model_is_truncated_not_fatal(xlmr_folder):
    # The tiny model has 66 positions; FlagEmbedding's default 512 tokens would crash it.
    reranker = rerank.Reranker(str(xlmr_folder))
    long_text = " ".join(["formation du personnel"] * 200)

    ranked = reranker.rerank(QUERY, [Document(page_content=long_text), *_docs()[:1]], top_n=2)

    assert len(ranked) == 2


def test_missing_model_folder_names_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("RELAIS_RERANKER_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(rerank.RerankerUnavailable, match="RELAIS_RERANKER_MODEL"):
        rerank.get_reranker()

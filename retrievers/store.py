"""Where a collection lives: Chroma (vectors, our embeddings only), a BM25 index, its chunks and manifest.

Layout under RELAIS_DATA_DIR: `chroma/` (persistent Chroma, unless RELAIS_CHROMA_HOST names a server) and
`collections/<name>/` holding `manifest.json` (source -> content hash and chunk ids), `chunks.jsonl`
(text + metadata, the BM25 corpus in order) and `bm25/` (bm25s index, French stemming and stop words).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from relais.settings import get_settings

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,60}$")
_STEMMER_LANGUAGE = "french"
_STOPWORDS_LANGUAGE = "fr"
_WINDOW_ID_SEPARATOR = "~"  # a window's vector id: "<chunk id>~<n>"; the opening keeps the chunk id itself


class CollectionNotFound(LookupError):
    """Searching a collection that was never ingested."""

    def __init__(self, collection: str) -> None:
        super().__init__(f"collection {collection!r} does not exist: build it with "
                         f"`relais ingest --collection {collection} --source PATH`")
        self.collection = collection


def check_name(collection: str) -> str:
    """Validate a collection name (it becomes a folder and a Chroma collection name)."""
    if not _NAME.match(collection):
        raise ValueError(f"invalid collection name {collection!r}: use 2-61 letters, digits, '-' or '_'")
    return collection


def collection_dir(collection: str) -> Path:
    """The folder of a collection's manifest, chunks and BM25 index."""
    return get_settings().data_dir / "collections" / check_name(collection)


def collection_exists(collection: str) -> bool:
    """Whether `relais ingest` has built this collection (its manifest is written last)."""
    return (collection_dir(collection) / "manifest.json").is_file()


@dataclass
class Manifest:
    """What is indexed: per source, its content hash and the ids of its chunks."""

    hashes: dict[str, str] = field(default_factory=dict)
    chunk_ids: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """Read the manifest, or an empty one for a new collection."""
        path = folder / "manifest.json"
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(hashes=data["hashes"], chunk_ids=data["chunk_ids"])

    def save(self, folder: Path) -> None:
        """Write the manifest atomically (a crash never leaves half a file)."""
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / "manifest.json.tmp"
        temporary.write_text(json.dumps({"hashes": self.hashes, "chunk_ids": self.chunk_ids}, ensure_ascii=False),
                             encoding="utf-8")
        temporary.replace(folder / "manifest.json")


def chroma_client():  # noqa: ANN201 - chromadb client types vary between local and HTTP
    """Persistent Chroma under RELAIS_DATA_DIR/chroma, or the server named by RELAIS_CHROMA_HOST."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = get_settings()
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def chroma_collection(collection: str, *, create: bool):  # noqa: ANN201
    """The Chroma collection (cosine space, no default embedding function: we always pass vectors)."""
    client = chroma_client()
    name = f"relais-{check_name(collection)}"
    if create:
        return client.get_or_create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
    return client.get_collection(name, embedding_function=None)


def window_id(chunk_id: str, number: int) -> str:
    """The Chroma id of a chunk's `number`th embedded window (0, the opening, keeps the chunk's id)."""
    return chunk_id if number == 0 else f"{chunk_id}{_WINDOW_ID_SEPARATOR}{number}"


def chunk_of(vector_id: str) -> str:
    """The chunk id a window's Chroma id belongs to."""
    return vector_id.split(_WINDOW_ID_SEPARATOR, 1)[0]


def save_chunks(folder: Path, documents: list[Document]) -> None:
    """Write the chunk corpus (the BM25 index refers to chunks by their position here)."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / "chunks.jsonl.tmp"
    with temporary.open("w", encoding="utf-8") as handle:
        for document in documents:
            handle.write(json.dumps({"text": document.page_content, "metadata": document.metadata},
                                    ensure_ascii=False) + "\n")
    temporary.replace(folder / "chunks.jsonl")


def load_chunks(folder: Path) -> list[Document]:
    """Read the chunk corpus back, in BM25 order."""
    path = folder / "chunks.jsonl"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [Document(page_content=row["text"], metadata=row["metadata"]) for row in rows]


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    """French tokens: lower-cased, stop words removed, Snowball-stemmed."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer(_STEMMER_LANGUAGE)
    return bm25s.tokenize(texts, stopwords=_STOPWORDS_LANGUAGE, stemmer=stemmer, return_ids=False,
                          show_progress=False)


def build_bm25(folder: Path, texts: list[str]) -> None:
    """Index the texts with BM25 and persist the index under `folder/bm25`."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s forces its logger to DEBUG on import

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords=_STOPWORDS_LANGUAGE, stemmer=_stemmer(), show_progress=False),
                    show_progress=False)
    retriever.save(str(folder / "bm25"), show_progress=False)


def load_bm25(folder: Path):  # noqa: ANN201 - bm25s.BM25
    """The persisted BM25 index, or None when the collection has no chunk."""
    import bm25s

    if not (folder / "bm25").is_dir():
        return None
    return bm25s.BM25.load(str(folder / "bm25"), show_progress=False)


def _stemmer():  # noqa: ANN202
    import Stemmer

    return Stemmer.Stemmer(_STEMMER_LANGUAGE)

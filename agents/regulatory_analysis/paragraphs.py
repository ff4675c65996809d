"""One paragraph of the GMP guide by its reference, verbatim: the `get_paragraph` tool and its lookup.

A paragraph may be split over several chunks (a long one, with the splitter's overlap) or share a
chunk with its neighbours ("4.10-4.11"): its text runs from the line that starts with its number to the
line that starts with the next paragraph's number. The tool lives with this agent, not in tools/,
because it reads the indexed guide (retrievers/), which tools/ may not import (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_core.documents import Document
from langchain_core.tools import tool

from retrievers.bpf_references import chapter_key, expand_paragraphs, find_references, part_key
from retrievers.search import CollectionNotFound, collection_chunks

COLLECTION = "bpf"
_NEIGHBOURS = 3  # paragraphs named on each side when the one asked for does not exist


@dataclass(frozen=True)
class Paragraph:
    """A paragraph found in the guide: where ("Partie I", "Annexe 11"), its text, the chunk naming it."""

    part: str
    number: str
    text: str
    chunk: Document

    def document(self) -> Document:
        """The paragraph as an extract: its chunk's metadata, its own number and text only."""
        metadata = {**self.chunk.metadata, "paragraph": self.number, "paragraphs": self.number}
        return Document(page_content=self.text, metadata=metadata)


class ParagraphNotFound(LookupError):
    """The part or the paragraph does not exist in the index; the message says so, in French."""


def paragraph_numbers(chunks: list[Document]) -> list[str]:
    """Every paragraph number the chunks hold, in the guide's order, each once."""
    numbers: dict[str, None] = {}
    for chunk in chunks:
        listed = [p for p in str(chunk.metadata.get("paragraphs") or "").split(";") if p]
        numbers.update(dict.fromkeys(listed or expand_paragraphs(str(chunk.metadata.get("paragraph") or ""))))
    numbers.pop("", None)
    return list(numbers)


def find_paragraph(part: str, paragraph: str, collection: str = COLLECTION) -> Paragraph:
    """The text of `paragraph` ("4.11") of `part` ("I", "Partie I"), from its number to the next one's.

    Raises:
        ParagraphNotFound: the guide is not indexed, or has no such part or paragraph.
    """
    wanted_part, number = _part_of(part), paragraph.strip().lstrip("§").strip().rstrip(".")
    annex = _annex_number(part) if wanted_part == "Annexes" else None
    chunks = _part_chunks(collection, wanted_part, annex)
    numbers = paragraph_numbers(chunks)
    if number not in numbers:
        raise ParagraphNotFound(_unknown_message(scope_label(part), number, numbers))
    holding = [chunk for chunk in chunks if number in paragraph_numbers([chunk])]
    following = numbers[numbers.index(number) + 1 :]
    text = _cut(_joined(holding), number, following)
    return Paragraph(scope_label(part), number, text, holding[0])


def scope_label(part: str) -> str:
    """"I" → "Partie I"; "Annexe 11", "LD.11" → "Annexe 11" (an annex's numbers are its own: §4.8 is in several)."""
    key = _part_of(part)
    if key != "Annexes":
        return f"Partie {key}"
    annex = _annex_number(part)
    return f"Annexe {annex}" if annex else "Annexes"


def _part_of(part: str) -> str:
    """The part key, annexes named as the guide does too ("LD.11", the French numbering of Annex 11)."""
    return "Annexes" if re.match(r"\s*ld\b", part, re.IGNORECASE) else part_key(part)


def _annex_number(part: str) -> str | None:
    key = chapter_key(part)
    return key if key.isdigit() else None


def _part_chunks(collection: str, part: str, annex: str | None = None) -> list[Document]:
    try:
        chunks = collection_chunks(collection)  # cached per ingest: no file read per call
    except CollectionNotFound:
        raise ParagraphNotFound(f"le guide BPF n'est pas indexé sur ce serveur (index {collection})") from None
    in_part = [chunk for chunk in chunks if part_key(str(chunk.metadata.get("part") or "")) == part]
    if not in_part:
        parts = ", ".join(sorted({str(c.metadata.get("part")) for c in chunks if c.metadata.get("part")}))
        raise ParagraphNotFound(f"la partie {part} n'existe pas dans le guide ; parties : {parts}")
    if annex is None:
        return in_part
    in_annex = [chunk for chunk in in_part if chapter_key(str(chunk.metadata.get("chapter") or "")) == annex]
    if not in_annex:
        raise ParagraphNotFound(f"l'Annexe {annex} n'existe pas dans le guide")
    return in_annex


def _unknown_message(scope: str, number: str, numbers: list[str]) -> str:
    neighbours = ", ".join(_neighbours(number, numbers))
    where = f"l'{scope.lower()}" if scope.startswith("Annexe") else f"la {scope[0].lower()}{scope[1:]}"
    return f"le §{number} n'existe pas dans {where} ; paragraphes voisins : {neighbours}"


def _neighbours(number: str, numbers: list[str]) -> list[str]:
    """The paragraphs around where `number` would sit (the guide's order is numeric within a part)."""
    wanted = _numeric(number)
    position = next((index for index, known in enumerate(numbers) if _numeric(known) > wanted), len(numbers))
    return [f"§{known}" for known in numbers[max(0, position - _NEIGHBOURS) : position + _NEIGHBOURS]]


def _numeric(number: str) -> tuple[int, ...]:
    return tuple(int(piece) for piece in re.findall(r"\d+", number))


def _joined(chunks: list[Document]) -> str:
    """The chunks' texts end to end, the splitter's overlap between two pieces counted once."""
    text = ""
    for chunk in chunks:
        piece = chunk.page_content.strip()
        overlap = next((size for size in range(min(len(text), len(piece)), 0, -1) if text.endswith(piece[:size])), 0)
        text = piece if not text else text + ("" if overlap else "\n") + piece[overlap:]
    return text


def _number_line(number: str) -> re.Pattern[str]:
    """A line opening with the paragraph number, as the guide writes it ("4.11. Des exigences…", "4.11 -")."""
    return re.compile(rf"^[ \t]*{re.escape(number)}(?:\.(?=\s|-)|(?=\s))", re.MULTILINE)


def _cut(text: str, number: str, following: list[str]) -> str:
    start = _number_line(number).search(text)
    begin = start.start() if start else 0  # a split piece may not repeat the number: keep all of it
    end = len(text)
    for after in following[:5]:  # the next numbers, in case the very next one is written differently
        found = _number_line(after).search(text, begin + 1)
        if found:
            end = found.start()
            break
    return text[begin:end].strip()


def question_paragraphs(question: str) -> list[tuple[str, str]]:
    """The (part, paragraph) pairs a question names ("que dit le §4.11 de la partie I ?" → [("I", "4.11")])."""
    pairs: list[tuple[str, str]] = []
    for reference in find_references(question):
        scope = reference.part if reference.part != "Annexes" else reference.chapter and f"Annexe {reference.chapter}"
        if scope and reference.paragraph:
            pairs.extend((scope, number) for number in expand_paragraphs(reference.paragraph))
    return list(dict.fromkeys(pairs))


@tool
def get_paragraph(part: str, paragraph: str) -> str:
    """Le texte exact d'un paragraphe du guide BPF, par sa référence (pas une recherche par similarité).

    Args:
        part: la partie du guide : "I", "II", "III" ou "IV", ou une annexe : "Annexe 11".
        paragraph: le numéro du paragraphe, par exemple "4.11".
    """
    try:
        found = find_paragraph(part, paragraph)
    except ParagraphNotFound as error:
        return str(error)[:1].upper() + str(error)[1:] + "."
    return f"{found.part}, §{found.number} :\n{found.text}"

"""What the automatic checks need from the GMP guide: its text and the references that exist.

Both come from the knowledge layer's own parser (`retrievers.guide`), so the evaluation judges
citations exactly as the regulatory agent verifies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from retrievers.citations import normalise
from retrievers.extract import decode_text
from retrievers.guide import GUIDE_FILE, load_guide
from retrievers.search import chapters_in, references_in


@dataclass
class GuideReference:
    """The whole guide as one extract, and the (part, paragraph) and part -> chapters that exist."""

    text: str
    known: set[tuple[str, str]] = field(default_factory=set)
    chapters: dict[str, set[str]] = field(default_factory=dict)

    @property
    def document(self) -> Document:
        """The guide as a single extract, for `retrievers.citations.verify_answer`."""
        return Document(page_content=self.text, metadata={"chunk_id": "guide"})

    def contains(self, quote: str) -> bool:
        """Whether a quotation occurs verbatim in the guide (white space and quote marks folded, case kept)."""
        wanted = normalise(quote)
        return bool(wanted) and wanted in normalise(self.text)


def load_guide_reference(bpf_dir: Path) -> GuideReference:
    """Read and parse the guide once for the checks of a whole run."""
    folder = Path(bpf_dir)
    if not (folder / GUIDE_FILE).is_file():
        raise FileNotFoundError(f"GMP guide text not found at {folder / GUIDE_FILE} (set RELAIS_BPF_SOURCE)")
    documents = load_guide(folder, "bpf").documents
    chapters = {part: set(names) for part, names in chapters_in(documents).items()}
    return GuideReference(decode_text((folder / GUIDE_FILE).read_bytes()), references_in(documents), chapters)

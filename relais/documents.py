"""Documents the agents deliver: one neutral structure, rendered to Markdown (chat) and .docx (export).

An agent maps its deliverable (an SOP, a URS...) to a `RichDocument` once; the chat answer and the
Word file are both rendered from it, so they never disagree. Exports are kept by the export store
(relais.exports: `RELAIS_DATA_DIR/exports/<random id>/<file name>`, or the shared database when
`RELAIS_DATABASE_URL` is set) and downloaded through `{RELAIS_PUBLIC_URL}/files/...`,
a link signed for the user who asked (relais.signed_links), so a browser opens it without an API key.
"""

from __future__ import annotations

import re
import secrets
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from relais.exports import EXPORT_FOLDER, SAFE_NAME, FolderExportStore, StoredExport, export_store
from relais.settings import get_settings
from relais.signed_links import link_signer


class UnsupportedExportFormatError(ValueError):
    """The user asked for a file format this agent cannot produce."""

    def __init__(self, requested: str, supported: Sequence[str]) -> None:
        choices = ", ".join(f".{name}" for name in supported)
        super().__init__(
            f"Le format d'export « {requested} » n'est pas pris en charge. "
            f"Formats disponibles pour cet assistant : {choices}. Reformulez la demande avec l'un d'eux."
        )
        self.requested = requested


# --- the neutral document structure --------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    """A section title (level 1 = main section)."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    """Plain text; blank lines separate paragraphs."""

    text: str


@dataclass(frozen=True)
class BulletList:
    """Unordered items."""

    items: Sequence[str]


@dataclass(frozen=True)
class NumberedList:
    """Ordered items, numbered 1..n."""

    items: Sequence[str]


@dataclass(frozen=True)
class Table:
    """A table with a header row; cells are text."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]


Block = Heading | Paragraph | BulletList | NumberedList | Table


@dataclass(frozen=True)
class RichDocument:
    """A titled document: the blocks in reading order."""

    title: str
    blocks: Sequence[Block] = field(default_factory=tuple)
    subtitle: str = ""


@dataclass(frozen=True)
class ExportedFile:
    """A file kept for download: `path` is its local file, None when the shared database keeps it."""

    file_id: str
    name: str
    path: Path | None
    url: str
    sha256: str


# --- Markdown for the chat ---------------------------------------------------------------------


def to_markdown(document: RichDocument) -> str:
    """The document as Markdown (title as `#`, sections one level below)."""
    parts = [f"# {document.title}"]
    if document.subtitle:
        parts.append(f"*{document.subtitle}*")
    for block in document.blocks:
        parts.append(_block_markdown(block))
    return "\n\n".join(part for part in parts if part)


def _block_markdown(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * min(block.level + 1, 6) + " " + block.text
    if isinstance(block, Paragraph):
        return block.text
    if isinstance(block, BulletList):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, NumberedList):
        return "\n".join(f"{number}. {item}" for number, item in enumerate(block.items, start=1))
    header = "| " + " | ".join(_cell(text) for text in block.headers) + " |"
    rule = "|" + "|".join("---" for _ in block.headers) + "|"
    rows = ["| " + " | ".join(_cell(text) for text in row) + " |" for row in block.rows]
    return "\n".join([header, rule, *rows])


def _cell(text: object) -> str:
    # A pipe or a line break would end the Markdown cell early.
    return str(text).replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


# --- Word -------------------------------------------------------------------------------------


def write_docx(document: RichDocument, path: Path) -> None:
    """Write the document as a Word file: title, headings, lists and tables with a header row."""
    from docx import Document

    word = Document()
    word.core_properties.title = document.title
    word.add_heading(document.title, level=0)
    if document.subtitle:
        word.add_paragraph().add_run(document.subtitle).italic = True  # italic is a run's property
    for block in document.blocks:
        _add_docx_block(word, block)
    word.save(str(path))


def _add_docx_block(word, block: Block) -> None:  # noqa: ANN001 - docx.Document is a factory, not a type
    if isinstance(block, Heading):
        word.add_heading(block.text, level=min(block.level, 9))
    elif isinstance(block, Paragraph):
        for text in block.text.split("\n\n"):
            word.add_paragraph(text.strip())
    elif isinstance(block, BulletList):
        for item in block.items:
            word.add_paragraph(item, style="List Bullet")
    elif isinstance(block, NumberedList):
        for item in block.items:
            word.add_paragraph(item, style="List Number")
    else:
        _add_docx_table(word, block)


def _add_docx_table(word, table: Table) -> None:  # noqa: ANN001
    grid = word.add_table(rows=1, cols=len(table.headers))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, table.headers, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(str(text)).bold = True
    for row in table.rows:
        cells = grid.add_row().cells
        for cell, text in zip(cells, row, strict=False):
            cell.text = str(text)
    word.add_paragraph()


# --- exports: where files live and how they are reached ---------------------------------------


def exports_dir() -> Path:
    """The folder exports go under when no shared database is configured (inside RELAIS_DATA_DIR)."""
    return get_settings().data_dir / EXPORT_FOLDER


def safe_file_name(title: str, extension: str) -> str:
    """A download name built from a title: ASCII letters, digits, `-`, `_`, at most 80 characters."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-")[:80].strip("-") or "document"
    return f"{stem}.{extension.lstrip('.').lower()}"


def download_url(file_id: str, name: str, *, user_id: str) -> str:
    """The link `user_id` downloads an export from, signed for them until it expires (RELAIS_LINK_TTL_HOURS)."""
    return _signed_url(file_id, name, link_signer().query(file_id, name, user_id))


def _signed_url(file_id: str, name: str, query: dict[str, str]) -> str:
    return f"{get_settings().public_url.rstrip('/')}/files/{file_id}/{quote(name)}?{urlencode(query)}"


def save_export(name: str, write: Callable[[Path], None], *, user_id: str) -> ExportedFile:
    """Render a new export under a fresh random id and keep it in the export store until its link expires.

    Args:
        name: the download file name (already safe: see `safe_file_name`).
        write: writes the file's content to the path it is given (a scratch file, deleted afterwards).
        user_id: who asked for it (`relais.context.Context.user_id`): the link is signed for them.

    Returns:
        The exported file, with its download link.
    """
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"unsafe export file name {name!r}")
    file_id = secrets.token_hex(16)
    query = link_signer().query(file_id, name, user_id)  # signed first: no file is kept that no link opens
    with tempfile.TemporaryDirectory(prefix="relais-export-") as scratch:
        rendered = Path(scratch) / name
        write(rendered)
        content = rendered.read_bytes()
    store = export_store()
    store.prune()  # each new export clears the expired ones: nothing else has to run on a schedule
    stored = StoredExport(file_id=file_id, name=name, content=content, user_id=user_id,
                          expires_at=float(query["exp"]))
    path = store.put(stored)
    return ExportedFile(file_id=file_id, name=name, path=path, url=_signed_url(file_id, name, query),
                        sha256=stored.sha256)


def export_path(file_id: str, name: str) -> Path:
    """The local file behind a download link, when exports are kept in the data folder (not the database).

    Raises:
        FileNotFoundError: for an id or name that is malformed (traversal attempts included)
            or that names no export.
    """
    return FolderExportStore(exports_dir(), 0).path(file_id, name)


def export_docx(document: RichDocument, file_title: str | None = None, *, user_id: str) -> ExportedFile:
    """Write `document` as a .docx export and return its download link, signed for `user_id`."""
    name = safe_file_name(file_title or document.title, "docx")
    return save_export(name, lambda path: write_docx(document, path), user_id=user_id)


# --- which format the user asked for -------------------------------------------------------------

# Names users give formats; the value is the extension (None: a format no agent produces).
_FORMAT_WORDS = {
    "docx": "docx", "word": "docx", "xlsx": "xlsx", "excel": "xlsx", "markdown": "md", "md": "md",
    "pdf": "pdf", "odt": "odt", "ods": "ods", "csv": "csv", "doc": "doc", "xls": "xls", "pptx": "pptx",
    "powerpoint": "pptx", "html": "html", "rtf": "rtf", "txt": "txt", "json": "json", "xml": "xml",
}
# Only an explicit export request counts ("en PDF", "au format .odt", "exporte en csv", "fichier Excel"),
# so notes that merely mention a PDF certificate are not mistaken for one.
_FORMAT_REQUEST = re.compile(
    r"(?:\ben|\bau\s+format|\bformat|\bexport\w*(?:\s+(?:en|au\s+format|vers))?|\bfichier|\bversion)"
    r"\s+\.?(" + "|".join(sorted(_FORMAT_WORDS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)


def requested_export_formats(text: str) -> list[str]:
    """The file formats a request explicitly asks for, as extensions, in order, without repeats.

    Only the first and last lines are read: that is where users put their instruction, while the
    notes in between may well describe "l'export CSV du LIMS" as part of the procedure itself.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    instruction = " ".join(dict.fromkeys(line[:300] for line in (lines[:1] + lines[-1:])))
    found = [_FORMAT_WORDS[match.group(1).lower()] for match in _FORMAT_REQUEST.finditer(instruction)]
    return list(dict.fromkeys(found))


def check_export_formats(text: str, supported: Sequence[str]) -> list[str]:
    """The supported formats the request asks for (possibly none).

    Raises:
        UnsupportedExportFormatError: when the request asks for a format outside `supported`.
    """
    requested = requested_export_formats(text)
    for extension in requested:
        if extension not in supported:
            raise UnsupportedExportFormatError(extension, supported)
    return requested

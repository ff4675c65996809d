"""Text extraction: plain text with encoding detection, a Tika server when configured, else embedded Tika.

- Plain text (.txt, .md, .csv): charset detection (the GMP guide is Windows-1252), CRLF to LF.
- With `TIKA_SERVER_ENDPOINT` set: the `tika` client in client-only mode, with a timeout.
- Otherwise `iscc-tika` (Apache Tika compiled to native code, no Java): PDF, DOCX, HTML...; PDF pages
  are recovered from its XHTML output (`<div class="page">`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from relais.settings import get_settings

_LINE_END = re.compile(r"\r+\n")
TEXT_SUFFIXES = {".txt", ".md", ".csv", ".text"}
TIKA_SUFFIXES = {".pdf", ".docx", ".doc", ".odt", ".rtf", ".html", ".htm", ".pptx", ".xlsx"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | TIKA_SUFFIXES
TIKA_TIMEOUT_S = 60.0
MAX_EXTRACTED_CHARS = 50_000_000


class ExtractionError(Exception):
    """A file that cannot be read as text (empty, corrupted, unsupported); the message names the file."""


@dataclass(frozen=True)
class Extracted:
    """The text of a file, and its pages when the format has pages (PDF through embedded Tika)."""

    text: str
    pages: list[str] | None = None


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding; turn CRLF into LF (stray CRs inside lines are kept for the parser)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        # charset-normalizer can hesitate between Latin encodings; cp1252 decodes every byte of them.
        text = str(best) if best is not None and best.encoding not in ("ascii",) else data.decode("cp1252", "replace")
    # CR runs before a LF are line ends; other CRs stay (the guide parser reads them as cell breaks)
    return _LINE_END.sub("\n", text.lstrip("\ufeff"))


def extract(path: Path) -> Extracted:
    """Read a file's text; raise ExtractionError naming the file when it is empty, corrupted or unsupported."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ExtractionError(f"{path}: unsupported file type {suffix or '(none)'}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ExtractionError(f"{path}: unreadable ({error.strerror or error})") from error
    if not data.strip():
        raise ExtractionError(f"{path}: empty file")
    if suffix in TEXT_SUFFIXES:
        result = Extracted(decode_text(data).replace("\r", "\n"))
    elif endpoint := get_settings().tika_server_endpoint:
        result = Extracted(_tika_server(path, endpoint))
    else:
        result = _embedded_tika(path)
    if not result.text.strip():
        raise ExtractionError(f"{path}: no text could be extracted (empty, scanned or corrupted document)")
    return result


def _tika_server(path: Path, endpoint: str) -> str:
    os.environ["TIKA_CLIENT_ONLY"] = "1"  # never download or start a Tika jar
    os.environ["TIKA_LOG_FILE"] = ""  # do not write /tmp/tika.log
    os.environ["TIKA_SERVER_ENDPOINT"] = endpoint
    from tika import parser

    try:
        parsed = parser.from_file(str(path), serverEndpoint=endpoint, service="text",
                                  requestOptions={"timeout": TIKA_TIMEOUT_S})
    except Exception as error:  # the client raises bare exceptions for HTTP and network failures
        raise ExtractionError(f"{path}: Tika server {endpoint} failed ({error})") from error
    if parsed.get("status") not in (200, None):
        raise ExtractionError(f"{path}: Tika server {endpoint} answered HTTP {parsed.get('status')}")
    return parsed.get("content") or ""


def _embedded_tika(path: Path) -> Extracted:
    import iscc_tika

    extractor = iscc_tika.Extractor()
    extractor.set_extract_string_max_length(MAX_EXTRACTED_CHARS)
    extractor = extractor.set_xml_output(True)
    try:
        xhtml, _metadata = extractor.extract_file_to_string(str(path))
    except Exception as error:  # iscc-tika reports parse failures as TypeError("ParseError(...)")
        raise ExtractionError(f"{path}: cannot be parsed, corrupted or unsupported ({error})") from error
    reader = _XhtmlText()
    reader.feed(xhtml)
    pages = [page.strip() for page in reader.pages]
    text = "\n\n".join(pages) if pages else reader.whole.strip()
    return Extracted(text, pages if path.suffix.lower() == ".pdf" and pages else None)


class _XhtmlText(HTMLParser):
    """Collect the text of Tika's XHTML body, split on `<div class="page">`."""

    _BREAKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__()
        self.pages: list[str] = []
        self._parts: list[str] = []
        self._in_body = False
        self._skip = 0

    @property
    def whole(self) -> str:
        """All body text, pages or not."""
        return "".join(self._parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: D102
        if tag == "body":
            self._in_body = True
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        if tag == "div" and ("class", "page") in attrs:
            self.pages.append("")
        if tag in self._BREAKS:
            self._add("\n")

    def handle_endtag(self, tag: str) -> None:  # noqa: D102
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        if tag in self._BREAKS:
            self._add("\n")

    def handle_data(self, data: str) -> None:  # noqa: D102
        if self._in_body and not self._skip:
            self._add(data)

    def _add(self, text: str) -> None:
        self._parts.append(text)
        if self.pages:
            self.pages[-1] += text

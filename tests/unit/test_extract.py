"""Extraction: encodings, the embedded Tika on generated PDFs, a corrupted PDF, a Tika server stand-in."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from relais.settings import get_settings
from retrievers.chunking import generic_chunks
from retrievers.extract import ExtractionError, decode_text, extract


def _pdf(path: Path, pages: list[str]) -> Path:
    from fpdf import FPDF

    document = FPDF()
    document.set_font("helvetica", size=12)
    for text in pages:
        document.add_page()
        document.multi_cell(0, 10, text)
    document.output(str(path))
    return path


def test_cp1252_text_with_crlf_and_stray_cr_is_normalised(tmp_path: Path):
    source = tmp_path / "note.txt"
    source.write_bytes("Qualité\r\nLigne\ravec retour\r\r\nfin’".encode("cp1252"))
    text = extract(source).text
    assert text == "Qualité\nLigne\navec retour\nfin’"
    assert decode_text("déjà".encode()) == "déjà"


def test_embedded_extractor_reads_pdf_pages(tmp_path: Path):
    source = _pdf(tmp_path / "sop.pdf", ["Procedure de nettoyage des cuves", "Enregistrement du lot et signature"])
    extracted = extract(source)
    assert extracted.pages is not None and len(extracted.pages) == 2
    assert "nettoyage" in extracted.pages[0] and "signature" in extracted.pages[1]
    chunks = generic_chunks(extracted.pages, {"collection": "sops", "source": "sop.pdf", "doc_hash": "ab" * 32})
    assert [chunk.metadata["page"] for chunk in chunks] == [1, 2]
    assert len({chunk.metadata["chunk_id"] for chunk in chunks}) == 2


def test_embedded_extractor_reads_html(tmp_path: Path):
    source = tmp_path / "page.html"
    source.write_text("<html><head><title>t</title><script>var x;</script></head>"
                      "<body><h1>Annexe 11</h1><p>Systèmes informatisés</p></body></html>", encoding="utf-8")
    text = extract(source).text
    assert "Annexe 11" in text and "Systèmes informatisés" in text and "var x" not in text


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("broken.pdf", b"%PDF-1.4 this is not a real pdf", "cannot be parsed"),
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"  \r\n ", "empty file"),
    ("table.xyz", b"data", "unsupported"),
])
def test_bad_files_raise_an_error_naming_the_file(tmp_path: Path, name: str, content: bytes, reason: str):
    source = tmp_path / name
    source.write_bytes(content)
    with pytest.raises(ExtractionError) as caught:
        extract(source)
    assert name in str(caught.value) and reason in str(caught.value)


class _TikaStandIn(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes, str]] = []
    status = 200

    def do_PUT(self):  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, body, self.headers.get("Accept", "")))
        payload = b"Texte extrait par le serveur Tika"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def tika_server(monkeypatch: pytest.MonkeyPatch):
    _TikaStandIn.received = []
    _TikaStandIn.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TikaStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TIKA_SERVER_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    get_settings.cache_clear()
    yield _TikaStandIn
    server.shutdown()
    server.server_close()


def test_tika_server_is_used_when_configured(tika_server, tmp_path: Path):
    source = tmp_path / "contrat.docx"
    source.write_bytes(b"PK\x03\x04 fake docx bytes")
    assert extract(source).text == "Texte extrait par le serveur Tika"
    path, body, accept = tika_server.received[0]
    assert path == "/tika" and body == source.read_bytes() and accept == "text/plain"


def test_tika_server_error_names_the_file(tika_server, tmp_path: Path):
    tika_server.status = 422
    source = tmp_path / "scan.pdf"
    source.write_bytes(b"%PDF-1.4 whatever")
    with pytest.raises(ExtractionError, match="scan.pdf"):
        extract(source)

"""Relais as Open WebUI's external document loader, through HTTP: the request Open WebUI makes, every bad input.

The requests copy open_webui/retrieval/loaders/external_document.py (0.12.4): `PUT {url}/process`, the
file's bytes as the body, `Content-Type`, `Authorization: Bearer <key>`, `X-Filename` (URL-quoted
`<uuid>_<name>`), and the user's forwarded identity.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from relais.originals import find_original, originals_dir, prune_originals, user_key
from relais.settings import get_settings
from server.app import create_app
from server.documents import DOCUMENTS_PREFIX, display_name
from server.limits import SELF_LIMITED_PREFIXES
from tests.fakes.serving import ThreadedServer
from tests.unit.test_extract import tika_server  # noqa: F401, F811 - the Tika server stand-in fixture

KEY = "document-loader-key"
STORED_PREFIX = "0b3a4c1e-5d6f-4a7b-8c9d-0e1f2a3b4c5d_"
SOP = "# Nettoyage des cuves\n\n1. Vidanger la cuve.\n2. Rincer à l'eau purifiée.\n"


def pdf_bytes(text: str, *, password: str | None = None) -> bytes:
    from fpdf import FPDF

    document = FPDF()
    if password:
        document.set_encryption(owner_password="owner-secret", user_password=password)
    document.set_font("helvetica", size=12)
    document.add_page()
    document.multi_cell(0, 10, text)
    return bytes(document.output())


@pytest.fixture
def client(monkeypatch, scripted_models):
    monkeypatch.setenv("RELAIS_API_KEYS", KEY)
    monkeypatch.setenv("RELAIS_TRUST_USER_HEADERS", "true")
    get_settings.cache_clear()
    with TestClient(create_app(graph=None), raise_server_exceptions=False, client=("10.0.0.5", 50000)) as test:
        yield test


def upload(client, body: bytes, name: str, content_type: str = "text/markdown", user: str = "alice", **headers):
    sent = {"Content-Type": content_type, "Authorization": f"Bearer {KEY}",
            "X-Filename": quote(STORED_PREFIX + name), "X-OpenWebUI-User-Id": user, **headers}
    return client.put("/documents/process", content=body, headers=sent)


def kept_files() -> list[Path]:
    return sorted(path for path in originals_dir().rglob("*") if path.is_file())


def test_a_markdown_file_comes_back_as_text_and_its_original_is_kept_for_the_user(client):
    response = upload(client, SOP.encode(), "Nettoyage cuves.md")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["page_content"].strip() == SOP.strip()
    digest = hashlib.sha256(SOP.encode()).hexdigest()
    assert body["metadata"]["relais_sha256"] == digest and body["metadata"]["relais_original"] == "Nettoyage cuves.md"
    kept = find_original("alice", digest)
    assert kept is not None and kept.path.read_bytes() == SOP.encode() and kept.name == "Nettoyage cuves.md"
    assert find_original("bob", digest) is None  # another user's folder never holds it
    assert kept.path.parent.parent.name == user_key("alice")


def test_the_same_file_uploaded_twice_is_kept_once(client):
    assert upload(client, SOP.encode(), "a.md").status_code == 200
    assert upload(client, SOP.encode(), "a.md").status_code == 200
    assert len([path for path in kept_files() if path.suffix == ".md"]) == 1


def test_a_pdf_is_extracted_with_its_pages(client):
    response = upload(client, pdf_bytes("Procedure de liberation des lots"), "liberation.pdf", "application/pdf")
    assert response.status_code == 200, response.text
    assert "liberation des lots" in response.json()["page_content"]
    assert response.json()["metadata"]["pages"] == 1


def test_a_password_protected_pdf_is_refused_naming_the_file_and_nothing_is_kept(client):
    response = upload(client, pdf_bytes("Contrat confidentiel", password="secret"), "contrat.pdf", "application/pdf")
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "« contrat.pdf »" in message and "mot de passe" in message
    assert kept_files() == []


@pytest.mark.parametrize(("body", "name", "content_type", "status", "words"), [
    (b"", "vide.md", "text/markdown", 400, "est vide"),
    (b"%PDF-1.7\n garbage that is no PDF", "casse.pdf", "application/pdf", 422, "illisible"),
    (b"MZ\x90\x00binary", "outil.exe", "application/octet-stream", 415, "non pris en charge"),
])
def test_bad_files_get_a_clear_message_naming_them_and_leave_nothing(client, body, name, content_type, status, words):
    response = upload(client, body, name, content_type)
    assert response.status_code == status, response.text
    message = response.json()["error"]["message"]
    assert f"« {name} »" in message and words in message
    assert kept_files() == []


def test_a_file_over_the_limit_is_refused_before_it_is_read(client, monkeypatch):
    monkeypatch.setenv("RELAIS_DOCUMENT_MAX_BYTES", "1000")
    get_settings.cache_clear()
    response = upload(client, b"x" * 5000, "gros.md")
    assert response.status_code == 413
    assert "« gros.md »" in response.json()["error"]["message"] and "RELAIS_DOCUMENT_MAX_BYTES" in (
        response.json()["error"]["message"])
    assert kept_files() == []


def test_a_file_larger_than_a_chat_request_is_accepted_under_the_document_limit(client, monkeypatch):
    monkeypatch.setenv("RELAIS_MAX_BODY_BYTES", "1000")  # the chat limit does not apply to uploads
    get_settings.cache_clear()
    text = "Le lot est libéré par la personne qualifiée.\n" * 100
    response = upload(client, text.encode(), "long.txt", "text/plain")
    assert response.status_code == 200, response.text
    assert response.json()["page_content"].count("personne qualifiée") == 100
    assert DOCUMENTS_PREFIX in SELF_LIMITED_PREFIXES


def test_the_loader_authenticates_like_every_route(client):
    assert upload(client, SOP.encode(), "a.md", Authorization="Bearer wrong").status_code == 401
    response = client.put("/documents/process", content=SOP.encode(), headers={"X-Filename": "a.md"})
    assert response.status_code == 401
    assert kept_files() == []


def test_the_type_is_read_from_the_content_type_when_the_name_has_no_extension(client):
    response = upload(client, SOP.encode(), "notes", "text/plain")
    assert response.status_code == 200 and "Vidanger" in response.json()["page_content"]


def test_display_name_drops_open_webui_storage_prefix():
    assert display_name(quote(STORED_PREFIX + "Contrat façonnier.pdf")) == "Contrat façonnier.pdf"
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name(None) == "document"


def test_old_originals_are_pruned_and_recent_ones_kept(client):
    assert upload(client, b"ancien document", "ancien.txt", "text/plain").status_code == 200
    assert upload(client, b"document recent", "recent.txt", "text/plain").status_code == 200
    old = find_original("alice", hashlib.sha256(b"ancien document").hexdigest())
    assert old is not None
    record = old.path.parent / "original.json"
    stamp = time.time() - 40 * 86400
    os.utime(record, (stamp, stamp))
    removed = prune_originals(retention_days=30)
    assert removed == [old.path.parent]
    assert find_original("alice", hashlib.sha256(b"document recent").hexdigest()) is not None
    assert json.loads(next(originals_dir().rglob("original.json")).read_text())["name"] == "recent.txt"


def test_over_real_http_as_open_webui_sends_it(monkeypatch, scripted_models):
    """A real server and the exact request of Open WebUI's loader (requests.put with data=bytes)."""
    monkeypatch.setenv("RELAIS_API_KEYS", KEY)
    monkeypatch.setenv("RELAIS_TRUST_USER_HEADERS", "true")
    get_settings.cache_clear()
    with ThreadedServer(create_app(graph=None)) as server:
        response = httpx.put(f"{server.url}/documents/process", content=SOP.encode(), timeout=30, headers={
            "Content-Type": "text/markdown", "Authorization": f"Bearer {KEY}",
            "X-Filename": quote(STORED_PREFIX + "SOP cuves.md"), "X-OpenWebUI-User-Id": "carol"})
    assert response.status_code == 200, response.text
    assert response.json()["page_content"].startswith("# Nettoyage des cuves")
    assert find_original("carol", hashlib.sha256(SOP.encode()).hexdigest()) is not None



def test_with_a_tika_server_configured_the_loader_extracts_through_it(client, tika_server):  # noqa: F811
    """The loader uses Relais's Tika path: with TIKA_SERVER_ENDPOINT set, the file goes to that server."""
    response = upload(client, pdf_bytes("Texte du PDF"), "rapport.pdf", "application/pdf")
    assert response.status_code == 200, response.text
    assert response.json()["page_content"] == "Texte extrait par le serveur Tika"
    path, body, _accept = tika_server.received[0]
    assert path == "/tika" and body.startswith(b"%PDF")

"""A file uploaded to the real Open WebUI: extracted by Relais (external document loader), then translated.

Open WebUI is configured through its admin API as the README says for the confidential route:
`CONTENT_EXTRACTION_ENGINE=external`, `EXTERNAL_DOCUMENT_LOADER_URL=<relais>/documents`, and the whole
document given to the model (`BYPASS_EMBEDDING_AND_RETRIEVAL`: no embedding, no chunking). The user
uploads a Markdown procedure, Relais keeps the original and returns its text; the user then asks
`relais-translation` to translate the attached file, and gets the translation and a .docx link back,
while the (fake) remote Mistral server receives nothing.
"""

from __future__ import annotations

import hashlib
import json
import time

import httpx
import pytest

from relais.originals import find_original
from relais.settings import get_settings
from server.app import create_app
from tests.e2e.conftest import OPENWEBUI_JWT_SECRET, OPENWEBUI_KEY, OpenWebUIAccounts, ThreadedServer

pytestmark = pytest.mark.e2e

PROCEDURE = "# Libération des lots\n\n1. Clore les écarts.\n2. Signer.\n"
WORDS = {"Libération des lots": "Batch release", "Clore les écarts.": "Close the deviations.", "Signer.": "Sign."}


def translator(messages):
    fenced = messages[-1].content.split("<segments>")[1].split("</segments>")[0]
    segments = json.loads(fenced[fenced.index("{"):fenced.rindex("}") + 1])["segments"]
    return {"translations": [WORDS.get(text, text) for text in segments]}


@pytest.fixture
def relais(scripted_models, use_fake_mistral, relais_port, monkeypatch):
    """Relais with an API key, the shared JWT secret, a remote model configured, and the scripted translator."""
    monkeypatch.setenv("RELAIS_API_KEYS", OPENWEBUI_KEY)
    monkeypatch.setenv("RELAIS_OPENWEBUI_JWT_SECRET", OPENWEBUI_JWT_SECRET)
    monkeypatch.delenv("RELAIS_TRUST_USER_HEADERS", raising=False)
    get_settings.cache_clear()
    scripted_models.queue("translation", *[translator] * 5)
    with ThreadedServer(create_app(), relais_port) as server:
        yield server


@pytest.fixture
def relais_as_document_loader(relais, openwebui, openwebui_accounts: OpenWebUIAccounts, relais_port):
    """Open WebUI's retrieval settings pointed at Relais, restored afterwards (the Open WebUI is shared)."""
    admin = openwebui_accounts.admin.headers
    url = f"{openwebui}/api/v1/retrieval/config/update"
    settings = {"CONTENT_EXTRACTION_ENGINE": "external", "BYPASS_EMBEDDING_AND_RETRIEVAL": True,
                "EXTERNAL_DOCUMENT_LOADER_URL": f"http://127.0.0.1:{relais_port}/documents",
                "EXTERNAL_DOCUMENT_LOADER_API_KEY": OPENWEBUI_KEY}
    response = httpx.post(url, json=settings, headers=admin, timeout=30)
    assert response.status_code == 200, response.text
    yield
    httpx.post(url, json={"CONTENT_EXTRACTION_ENGINE": "", "BYPASS_EMBEDDING_AND_RETRIEVAL": False},
               headers=admin, timeout=30)


def upload(openwebui: str, headers: dict[str, str], name: str, data: bytes) -> dict:
    response = httpx.post(f"{openwebui}/api/v1/files/", params={"process_in_background": "false"},
                          files={"file": (name, data, "text/markdown")}, headers=headers, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_uploaded_file_is_extracted_by_relais_and_translated_locally(
        relais_as_document_loader, openwebui, openwebui_accounts: OpenWebUIAccounts, fake_mistral):
    alice = openwebui_accounts.alice
    uploaded = upload(openwebui, alice.headers, "Libération lots.md", PROCEDURE.encode())
    content = uploaded.get("data", {}).get("content", "")
    deadline = time.monotonic() + 60
    while not content and time.monotonic() < deadline:  # processing may still be running
        time.sleep(1)
        content = httpx.get(f"{openwebui}/api/v1/files/{uploaded['id']}", headers=alice.headers,
                            timeout=30).json().get("data", {}).get("content", "")
    assert content.strip() == PROCEDURE.strip()  # the text Relais extracted is the text Open WebUI keeps
    kept = find_original(alice.id, hashlib.sha256(PROCEDURE.encode()).hexdigest())
    assert kept is not None and kept.path.read_bytes() == PROCEDURE.encode()  # kept for Alice, by hash

    body = {"model": "relais-translation", "stream": False,
            "messages": [{"role": "user", "content": "Traduis ce document en anglais"}],
            "files": [{"type": "file", "id": uploaded["id"], "name": "Libération lots.md"}]}
    response = httpx.post(f"{openwebui}/api/chat/completions", json=body, headers=alice.headers, timeout=180)
    assert response.status_code == 200, response.text
    answer = response.json()["choices"][0]["message"]["content"]
    assert answer.startswith("# Batch release\n\n1. Close the deviations.\n2. Sign.")
    assert "**Document traduit (Word)**" in answer and ".docx" in answer
    assert fake_mistral.chat_requests == []  # the confidential agent never called the remote model

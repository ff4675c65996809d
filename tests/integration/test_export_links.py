"""Export links through a real HTTP server: a click opens the file with no credential; nothing else does.

The gateway runs under uvicorn on 127.0.0.1 with an API key configured, so being on this machine is
no free pass: only the link's signature (or the key) opens a file. Users are named the way Open WebUI
names them, with the signed `X-OpenWebUI-User-Jwt`.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt
import pytest

from relais import signed_links
from relais.documents import export_path
from relais.settings import get_settings
from server.app import create_app
from tests.conftest import environment
from tests.fakes.serving import ThreadedServer

pytestmark = pytest.mark.integration

API_KEY = "links-test-key"
JWT_SECRET = "openwebui-jwt-secret-for-the-link-tests"
NOTES = "Rédige une SOP : nettoyage de la cuve C-12 après chaque lot, rinçage à l'eau purifiée."
DRAFT = {
    "title": "Nettoyage de la cuve C-12",
    "purpose": "Prévenir la contamination croisée entre deux lots.",
    "scope": "Cuve C-12.",
    "responsibilities": [{"role": "Opérateur", "duties": "Réalise le nettoyage."}],
    "definitions": [],
    "steps": [{"actor": "Opérateur", "action": "Vidanger puis rincer la cuve."}],
    "records": [{"name": "Formulaire F-NET-12"}],
    "references": [],
    "missing_information": [],
}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """One real Relais server for the module (settings are read per request, so each test sets its own)."""
    with environment(RELAIS_DATA_DIR=str(tmp_path_factory.mktemp("links-app"))):
        app = create_app()
    with ThreadedServer(app) as server:
        yield server.url


@pytest.fixture
def gateway(server_url, isolated_settings, monkeypatch, scripted_models):
    """The server as deployed behind Open WebUI: an API key, signed user identities, a public address."""
    monkeypatch.setenv("RELAIS_API_KEYS", API_KEY)
    monkeypatch.setenv("RELAIS_OPENWEBUI_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("RELAIS_PUBLIC_URL", server_url)
    monkeypatch.delenv("RELAIS_LINK_SECRET", raising=False)
    monkeypatch.delenv("RELAIS_LINK_TTL_HOURS", raising=False)
    get_settings.cache_clear()
    return server_url


def _as_user(user_id: str) -> dict[str, str]:
    """The headers Open WebUI sends on the user's behalf (never those of a browser click)."""
    token = jwt.encode({"sub": user_id, "iss": "open-webui", "exp": int(time.time()) + 600}, JWT_SECRET,
                       algorithm="HS256")
    return {"Authorization": f"Bearer {API_KEY}", "X-OpenWebUI-User-Jwt": token}


def _export_link(gateway: str, scripted_models, user_id: str) -> str:
    """Ask the procedures agent for an SOP as `user_id`, through the API; the download link of the answer."""
    scripted_models.queue("drafting", DRAFT)
    response = httpx.post(f"{gateway}/v1/chat/completions", headers=_as_user(user_id), timeout=60,
                          json={"model": "relais-procedures", "messages": [{"role": "user", "content": NOTES}]})
    assert response.status_code == 200, response.text
    answer = response.json()["choices"][0]["message"]["content"]
    return answer.rsplit("](", 1)[1].rstrip(")")


def _click(url: str, **headers: str) -> httpx.Response:
    """What a browser sends when the user clicks the link: no Authorization, no Open WebUI header."""
    response = httpx.get(url, headers=headers, timeout=30)
    if not headers:
        assert "authorization" not in response.request.headers
    return response


def _parts(url: str) -> tuple[str, str, dict[str, str]]:
    split = urlsplit(url)
    _, _, file_id, name = split.path.split("/")
    return file_id, name, dict(parse_qsl(split.query, strict_parsing=True))


def _link(gateway: str, file_id: str, name: str, params: dict[str, str]) -> str:
    return f"{gateway}/files/{file_id}/{name}?{urlencode(params)}"


def _refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["type"] == "permission_error" and error["code"] == code and error["message"]


def test_a_click_downloads_the_exact_export_without_any_credential(gateway, scripted_models):
    link = _export_link(gateway, scripted_models, "alice")
    assert link.startswith(f"{gateway}/files/")
    file_id, name, params = _parts(link)
    assert params["u"] == "alice" and set(params) == {"u", "exp", "sig"}
    response = _click(link)
    assert response.status_code == 200, response.text
    assert response.content == export_path(file_id, name).read_bytes()
    assert response.content[:2] == b"PK"  # a real .docx (a zip), not an error page
    assert name in response.headers["content-disposition"]
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["referrer-policy"] == "no-referrer"


def test_without_its_signature_the_path_needs_the_api_key(gateway, scripted_models):
    file_id, name, _ = _parts(_export_link(gateway, scripted_models, "alice"))
    bare = f"{gateway}/files/{file_id}/{name}"
    assert _click(bare).status_code == 401
    assert _click(bare, Authorization="Bearer wrong-key").status_code == 401
    scripted = _click(bare, Authorization=f"Bearer {API_KEY}")  # admin scripts keep working
    assert scripted.status_code == 200 and scripted.content == export_path(file_id, name).read_bytes()


@pytest.mark.parametrize("change", ["file_id", "name", "u", "exp", "sig"])
def test_an_altered_link_is_refused(gateway, scripted_models, change):
    file_id, name, params = _parts(_export_link(gateway, scripted_models, "alice"))
    other_id, other_name, _ = _parts(_export_link(gateway, scripted_models, "bob"))
    if change == "file_id":
        file_id = other_id  # alice's signature pointed at bob's export
    elif change == "name":
        name = other_name.replace(".docx", ".xlsx")
    elif change == "u":
        params["u"] = "bob"
    elif change == "exp":
        params["exp"] = str(int(params["exp"]) + 7 * 24 * 3600)
    else:
        params["sig"] = params["sig"][::-1]
    _refused(_click(_link(gateway, file_id, name, params)), "link_invalid")
    # Holding the API key does not rescue a bad link: a link is judged by its signature alone.
    _refused(_click(_link(gateway, file_id, name, params), Authorization=f"Bearer {API_KEY}"), "link_invalid")


@pytest.mark.parametrize("missing", ["u", "exp", "sig"])
def test_a_link_missing_a_part_is_refused(gateway, scripted_models, missing):
    file_id, name, params = _parts(_export_link(gateway, scripted_models, "alice"))
    del params[missing]
    _refused(_click(_link(gateway, file_id, name, params)), "link_incomplete")


def test_a_link_forged_with_another_key_is_refused(gateway, scripted_models):
    file_id, name, _ = _parts(_export_link(gateway, scripted_models, "alice"))
    forger = signed_links.LinkSigner(secret=b"guessed-key-" * 4, ttl_s=3600)
    _refused(_click(_link(gateway, file_id, name, forger.query(file_id, name, "alice"))), "link_invalid")


def test_a_link_stops_working_when_it_expires_whoever_sends_it(gateway, scripted_models, monkeypatch):
    link = _export_link(gateway, scripted_models, "alice")
    expires_at = int(_parts(link)[2]["exp"])
    assert expires_at == pytest.approx(time.time() + 24 * 3600, abs=120)  # the default lifetime: 24 h
    monkeypatch.setattr(signed_links, "clock", lambda: expires_at - 1.0)
    assert _click(link).status_code == 200
    monkeypatch.setattr(signed_links, "clock", lambda: expires_at + 0.0)
    _refused(_click(link), "link_expired")
    # Reused after expiry by another user (as Open WebUI would send it) or by a key holder: still refused.
    _refused(_click(link, **_as_user("bob")), "link_expired")
    _refused(_click(link, Authorization=f"Bearer {API_KEY}"), "link_expired")


def test_a_signed_link_to_a_file_that_is_gone_is_not_found(gateway, scripted_models):
    link = _export_link(gateway, scripted_models, "alice")
    file_id, name, _ = _parts(link)
    export_path(file_id, name).unlink()
    response = _click(link)
    assert response.status_code == 404 and response.json()["error"]["code"] == "file_not_found"


def test_even_a_validly_signed_link_cannot_leave_the_exports(gateway, scripted_models):
    _export_link(gateway, scripted_models, "alice")  # the key now exists in the data folder
    signer = signed_links.link_signer()
    for file_id, name in [("..", "link-secret"), ("..", "audit.db"), ("0" * 32, "..link-secret")]:
        url = f"{gateway}/files/%2E%2E/{name}" if file_id == ".." else f"{gateway}/files/{file_id}/{name}"
        response = _click(f"{url}?{urlencode(signer.query(file_id, name, 'alice'))}")
        assert response.status_code == 404, (file_id, name, response.text)
        assert response.json()["error"]["code"] == "file_not_found"  # reached the route, signature accepted


def test_the_link_key_never_reaches_a_log_or_an_answer(gateway, scripted_models, caplog):
    caplog.set_level(logging.DEBUG)
    link = _export_link(gateway, scripted_models, "alice")
    file_id, name, params = _parts(link)
    answers = [_click(link).text, _click(_link(gateway, file_id, name, {**params, "sig": "x"})).text]
    key = (get_settings().data_dir / signed_links.SECRET_FILE).read_text().strip()
    assert len(key) == 64
    assert key not in caplog.text and not any(key in answer for answer in answers)

"""Identity: API keys, the loopback rule, Open WebUI's user JWT, trusted headers, groups."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from relais.settings import get_settings
from server.auth import Identity, authenticate, match_api_key
from server.errors import ApiError, openai_error_handler

SECRET = "owui-forward-secret-" + "0123456789abcdef" * 3
LOOPBACK = ("127.0.0.1", 50000)
REMOTE = ("203.0.113.9", 50000)


def mint_openwebui_jwt(user_id: str, email: str, name: str, role: str, *, secret: str = SECRET,
                       expires_in: int = 300, algorithm: str = "HS256", extra: dict | None = None) -> str:
    """The token exactly as Open WebUI 0.12.4 mints it (open_webui/utils/headers.py, _mint_forward_user_jwt)."""
    now = int(time.time())
    payload = {
        "sub": str(user_id), "email": str(email), "name": str(name), "role": str(role),
        "iss": "open-webui", "iat": now, "exp": now + expires_in,
        **(extra or {}),
    }
    return jwt.encode(payload, secret, algorithm=algorithm)


def tiny_app() -> FastAPI:
    app = FastAPI()
    app.add_exception_handler(ApiError, openai_error_handler)

    @app.get("/whoami")
    async def whoami(identity: Annotated[Identity, Depends(authenticate)]) -> dict:
        return {"user_id": identity.user_id, "name": identity.name, "email": identity.email, "role": identity.role,
                "groups": sorted(identity.groups), "via": identity.via}

    return app


def configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"RELAIS_{name.upper()}", value)
    get_settings.cache_clear()


def call(client_addr: tuple[str, int] = LOOPBACK, **headers: str):
    return TestClient(tiny_app(), client=client_addr).get("/whoami", headers=headers)


def assert_401(response, code: str) -> str:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == code
    assert error["message"]
    return error["message"]


# --- the connection: API keys and the loopback rule -------------------------------------------------

def test_without_keys_loopback_clients_are_served_anonymously():
    body = call(LOOPBACK).json()
    assert body["via"] == "anonymous" and body["user_id"] == "anonymous"


def test_without_keys_remote_clients_are_refused():
    message = assert_401(call(REMOTE), "api_key_required")
    assert "RELAIS_API_KEYS" in message


def test_ipv6_loopback_counts_as_this_machine():
    assert call(("::1", 50000)).status_code == 200


def test_with_keys_a_request_without_key_is_refused_even_on_loopback(monkeypatch):
    configure(monkeypatch, api_keys="key-one,key-two")
    assert_401(call(LOOPBACK), "missing_api_key")


def test_with_keys_a_wrong_key_is_refused(monkeypatch):
    configure(monkeypatch, api_keys="key-one,key-two")
    assert_401(call(REMOTE, Authorization="Bearer key-three"), "invalid_api_key")
    assert_401(call(REMOTE, Authorization="Basic key-one"), "missing_api_key")


def test_with_keys_a_good_key_is_served_from_anywhere(monkeypatch):
    configure(monkeypatch, api_keys="key-one, key-two")
    first = call(REMOTE, Authorization="Bearer key-two").json()
    again = call(REMOTE, Authorization="Bearer key-two").json()
    other = call(REMOTE, Authorization="Bearer key-one").json()
    assert first["via"] == "api-key" and first["user_id"].startswith("api-key:")
    assert "key-two" not in first["user_id"]
    assert first["user_id"] == again["user_id"] != other["user_id"]


def test_match_api_key_finds_the_key_whatever_the_lengths():
    assert match_api_key("b" * 40, ["a", "b" * 40, "c" * 3]) == "b" * 40
    assert match_api_key("b" * 39, ["a", "b" * 40]) is None
    assert match_api_key("", ["a"]) is None


# --- the user: Open WebUI's JWT --------------------------------------------------------------------

def test_a_jwt_minted_as_open_webui_mints_it_names_the_user(monkeypatch):
    configure(monkeypatch, openwebui_jwt_secret=SECRET)
    token = mint_openwebui_jwt("4f1c-uuid", "amelie@example.com", "Amélie Dupré", "user")
    body = call(**{"X-OpenWebUI-User-Jwt": token}).json()
    assert body == {"user_id": "4f1c-uuid", "name": "Amélie Dupré", "email": "amelie@example.com",
                    "role": "user", "groups": [], "via": "jwt"}


def test_jwt_and_api_key_together_from_a_remote_client(monkeypatch):
    configure(monkeypatch, openwebui_jwt_secret=SECRET, api_keys="key-one")
    token = mint_openwebui_jwt("u1", "u1@example.com", "U One", "admin")
    body = call(REMOTE, Authorization="Bearer key-one", **{"X-OpenWebUI-User-Jwt": token}).json()
    assert body["via"] == "jwt" and body["user_id"] == "u1" and body["role"] == "admin"
    assert_401(call(REMOTE, **{"X-OpenWebUI-User-Jwt": token}), "missing_api_key")


def test_an_expired_jwt_is_refused(monkeypatch):
    configure(monkeypatch, openwebui_jwt_secret=SECRET)
    token = mint_openwebui_jwt("u1", "u1@example.com", "U", "user", expires_in=-120)
    assert "expired" in assert_401(call(**{"X-OpenWebUI-User-Jwt": token}), "expired_token")


def test_a_jwt_signed_with_another_secret_is_refused(monkeypatch):
    configure(monkeypatch, openwebui_jwt_secret=SECRET)
    token = mint_openwebui_jwt("u1", "u1@example.com", "U", "user", secret="attacker-secret-0123456789abcdef")
    assert "signature" in assert_401(call(**{"X-OpenWebUI-User-Jwt": token}), "invalid_token")


@pytest.mark.parametrize("algorithm", ["HS512", "none"])
def test_a_jwt_with_another_algorithm_is_refused(monkeypatch, algorithm):
    configure(monkeypatch, openwebui_jwt_secret=SECRET)
    secret = None if algorithm == "none" else SECRET
    token = mint_openwebui_jwt("u1", "u1@example.com", "U", "admin", secret=secret, algorithm=algorithm)
    assert_401(call(**{"X-OpenWebUI-User-Jwt": token}), "invalid_token")


@pytest.mark.parametrize("token", ["not-a-token", "abc.def.ghi", "", "a.b"])
def test_a_malformed_jwt_is_refused(monkeypatch, token):
    configure(monkeypatch, openwebui_jwt_secret=SECRET)
    assert_401(call(**{"X-OpenWebUI-User-Jwt": token}), "invalid_token")


def test_a_jwt_from_another_issuer_or_without_expiry_is_refused(monkeypatch):
    configure(monkeypatch, openwebui_jwt_secret=SECRET)
    foreign = mint_openwebui_jwt("u1", "e", "n", "user", extra={"iss": "someone-else"})
    assert_401(call(**{"X-OpenWebUI-User-Jwt": foreign}), "invalid_token")
    eternal = jwt.encode({"sub": "u1", "iss": "open-webui"}, SECRET, algorithm="HS256")
    assert_401(call(**{"X-OpenWebUI-User-Jwt": eternal}), "invalid_token")


def test_a_jwt_without_a_configured_secret_is_refused_with_the_fix():
    token = mint_openwebui_jwt("u1", "u1@example.com", "U", "user")
    message = assert_401(call(**{"X-OpenWebUI-User-Jwt": token}), "jwt_secret_missing")
    assert "RELAIS_OPENWEBUI_JWT_SECRET" in message


# --- the user: plaintext headers -------------------------------------------------------------------

OWUI_HEADERS = {"X-OpenWebUI-User-Id": "u-42", "X-OpenWebUI-User-Name": "Am%C3%A9lie Dupr%C3%A9",
                "X-OpenWebUI-User-Email": "amelie@example.com", "X-OpenWebUI-User-Role": "user",
                "X-OpenWebUI-User-Groups": "Juridique,Assurance%20qualit%C3%A9"}


def test_plaintext_headers_are_ignored_unless_trusted():
    body = call(**OWUI_HEADERS).json()
    assert body["via"] == "anonymous" and body["groups"] == []


def test_trusted_plaintext_headers_name_the_user_and_groups(monkeypatch):
    configure(monkeypatch, trust_user_headers="true")
    body = call(**OWUI_HEADERS).json()
    assert body == {"user_id": "u-42", "name": "Amélie Dupré", "email": "amelie@example.com", "role": "user",
                    "groups": ["Assurance qualité", "Juridique"], "via": "headers"}


# --- groups: JWT claim, then trusted header, then the policy ---------------------------------------

def write_policy(tmp_path: Path) -> Path:
    path = tmp_path / "access.toml"
    path.write_text('[default]\nlabels = ["general"]\n[groups.Juridique]\nlabels = ["contract_clauses"]\n'
                    '[groups.QA]\nlabels = ["procedures"]\n[users]\n"amelie@example.com" = ["QA"]\n'
                    '"u-7" = ["Juridique"]\n', encoding="utf-8")
    return path


def test_groups_claim_in_the_jwt_wins(monkeypatch, tmp_path):
    configure(monkeypatch, openwebui_jwt_secret=SECRET, trust_user_headers="true",
              access_policy=str(write_policy(tmp_path)))
    token = mint_openwebui_jwt("u1", "amelie@example.com", "A", "user", extra={"groups": ["Juridique"]})
    body = call(**{"X-OpenWebUI-User-Jwt": token, "X-OpenWebUI-User-Groups": "QA"}).json()
    assert body["groups"] == ["Juridique"]


def test_groups_header_needs_trust_else_the_policy_map_applies(monkeypatch, tmp_path):
    configure(monkeypatch, openwebui_jwt_secret=SECRET, access_policy=str(write_policy(tmp_path)))
    token = mint_openwebui_jwt("u1", "amelie@example.com", "A", "user")
    body = call(**{"X-OpenWebUI-User-Jwt": token, "X-OpenWebUI-User-Groups": "Juridique"}).json()
    assert body["groups"] == ["QA"]  # from [users], by e-mail; the untrusted header is ignored
    configure(monkeypatch, trust_user_headers="true")
    body = call(**{"X-OpenWebUI-User-Jwt": token, "X-OpenWebUI-User-Groups": "Juridique"}).json()
    assert body["groups"] == ["Juridique"]


def test_policy_map_by_user_id(monkeypatch, tmp_path):
    configure(monkeypatch, openwebui_jwt_secret=SECRET, access_policy=str(write_policy(tmp_path)))
    token = mint_openwebui_jwt("u-7", "someone@example.com", "S", "user")
    assert call(**{"X-OpenWebUI-User-Jwt": token}).json()["groups"] == ["Juridique"]


def test_policy_set_on_the_app_state_is_used(monkeypatch, tmp_path):
    from server.access import AccessPolicy

    configure(monkeypatch, openwebui_jwt_secret=SECRET)
    app = tiny_app()
    app.state.access_policy = AccessPolicy.load(write_policy(tmp_path))
    token = mint_openwebui_jwt("u-7", "someone@example.com", "S", "user")
    body = TestClient(app, client=LOOPBACK).get("/whoami", headers={"X-OpenWebUI-User-Jwt": token}).json()
    assert body["groups"] == ["Juridique"]

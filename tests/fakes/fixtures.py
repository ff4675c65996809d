"""Pytest fixtures for fake models, registered in tests/conftest.py through `pytest_plugins`.

- `scripted_models`: every role resolves to a scripted fake model (`fake:<role>`); queue replies
  per role with `scripted_models.queue("drafting", "réponse", tool_call(...))`.
- `fake_mistral`, `fake_local`: real HTTP servers on 127.0.0.1 speaking Mistral's / OpenAI's chat API
  (see tests/fakes/mistral_server.py); `use_fake_mistral` / `use_fake_local` also point the settings
  (MISTRAL_API_KEY + MISTRAL_BASE_URL, RELAIS_LOCAL_BASE_URL) at them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.scripted_model import ScriptedChatModel


class EmbeddedModelDisabledError(RuntimeError):
    """Raised instead of loading the real GGUF in a test that uses scripted models."""


class ScriptedModels:
    """One scripted model per role, shared by every `get_chat_model` call of the test."""

    def __init__(self) -> None:
        self.models: dict[str, ScriptedChatModel] = {}
        self.token_latency_ms = 0.0
        self.strict = False

    def model(self, role: str) -> ScriptedChatModel:
        """The fake model answering for `role` (created on first use)."""
        if role not in self.models:
            self.models[role] = ScriptedChatModel(
                model_name=f"fake:{role}", token_latency_ms=self.token_latency_ms, strict=self.strict
            )
        return self.models[role]

    def queue(self, role: str, *responses: Any) -> ScriptedChatModel:
        """Append scripted replies for `role` (str, AIMessage, dict, callable or exception)."""
        return self.model(role).queue(*responses)

    def calls(self, role: str) -> list[list[Any]]:
        """The messages of every call made to `role`'s model so far."""
        return self.model(role).calls if role in self.models else []

    def set_latency(self, token_latency_ms: float) -> None:
        """Make every role's model take this long per token (fixed-latency mode)."""
        self.token_latency_ms = token_latency_ms
        for model in self.models.values():
            model.token_latency_ms = token_latency_ms

    def set_strict(self, strict: bool = True) -> None:
        """Raise instead of echoing once a role's script is exhausted."""
        self.strict = strict
        for model in self.models.values():
            model.strict = strict

    def factory(self, spec: Any, role: str, settings: Any) -> ScriptedChatModel:
        """The provider factory registered as `fake` in the model catalog."""
        return self.model(spec.model)


@pytest.fixture
def scripted_models(monkeypatch: pytest.MonkeyPatch) -> ScriptedModels:
    """Route every role to a scripted fake model; the embedded GGUF can never load in the test."""
    from relais.models import catalog
    from relais.settings import get_settings

    models = ScriptedModels()

    def refuse_embedded(spec: Any, role: str, settings: Any) -> Any:
        raise EmbeddedModelDisabledError(f"the embedded model ({spec}) is disabled in tests using scripted_models")

    monkeypatch.setitem(catalog.PROVIDERS, "fake", models.factory)
    monkeypatch.setitem(catalog.PROVIDERS, "embedded", refuse_embedded)
    monkeypatch.setenv("RELAIS_MODELS", ",".join(f"{role}=fake:{role}" for role in catalog.ROLES))
    get_settings.cache_clear()
    return models


@pytest.fixture
def fake_mistral() -> Iterator[Any]:
    """A fresh fake Mistral (and OpenAI-compatible) server on 127.0.0.1, stopped after the test."""
    from tests.fakes.mistral_server import FakeModelServer

    with FakeModelServer() as server:
        yield server


@pytest.fixture
def fake_local() -> Iterator[Any]:
    """A second fake server, to stand in for RELAIS_LOCAL_BASE_URL (Ollama, vLLM)."""
    from tests.fakes.mistral_server import FakeModelServer

    with FakeModelServer() as server:
        yield server


@pytest.fixture
def use_fake_mistral(fake_mistral: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings point Mistral at `fake_mistral` (MISTRAL_API_KEY + MISTRAL_BASE_URL); returns the server."""
    from relais.settings import get_settings

    monkeypatch.setenv("MISTRAL_API_KEY", "test-key")
    monkeypatch.setenv("MISTRAL_BASE_URL", fake_mistral.base_url)
    get_settings.cache_clear()
    return fake_mistral


@pytest.fixture
def use_fake_local(fake_local: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings point the local provider (RELAIS_LOCAL_BASE_URL) at `fake_local`; returns the server."""
    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", fake_local.base_url)
    monkeypatch.setenv("RELAIS_LOCAL_MODEL", "qwen2.5:7b-instruct")
    get_settings.cache_clear()
    return fake_local

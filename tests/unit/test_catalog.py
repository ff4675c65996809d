"""The model catalog: which models a role may use, in which order, and what never leaves the company."""

from __future__ import annotations

import asyncio

import pytest

from relais.models import catalog
from relais.models.catalog import ROLES, ModelSpec, get_chat_model, resolve_chain
from relais.settings import Settings, get_settings


def settings_from_env(monkeypatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def test_default_chain_is_embedded_only():
    for role in ROLES:
        assert resolve_chain(role, "public") == [ModelSpec("embedded", "default")]


def test_full_chain_order_mistral_then_local_then_embedded(monkeypatch):
    settings_from_env(monkeypatch, MISTRAL_API_KEY="k", RELAIS_LOCAL_BASE_URL="http://127.0.0.1:9/v1",
                      RELAIS_LOCAL_MODEL="qwen2.5:7b")
    assert resolve_chain("code", "internal") == [
        ModelSpec("mistral", "codestral-latest"), ModelSpec("local", "qwen2.5:7b"), ModelSpec("embedded", "default")]
    assert resolve_chain("router", "public")[0] == ModelSpec("mistral", "mistral-small-latest")
    assert resolve_chain("drafting", "public")[0] == ModelSpec("mistral", "mistral-large-latest")


def test_empty_mistral_key_means_no_mistral(monkeypatch):
    settings_from_env(monkeypatch, MISTRAL_API_KEY="")
    assert all(spec.provider != "mistral" for spec in resolve_chain("drafting", "public"))


def test_relais_models_override_comes_first(monkeypatch):
    settings_from_env(monkeypatch, MISTRAL_API_KEY="k", RELAIS_MODELS="drafting=mistral:mistral-medium-latest")
    assert resolve_chain("drafting", "public")[:2] == [
        ModelSpec("mistral", "mistral-medium-latest"), ModelSpec("mistral", "mistral-large-latest")]
    assert resolve_chain("code", "public")[0] == ModelSpec("mistral", "codestral-latest")


def test_run_override_beats_environment(monkeypatch):
    settings_from_env(monkeypatch, RELAIS_LOCAL_BASE_URL="http://127.0.0.1:9/v1",
                      RELAIS_MODELS="fast=local:small")
    chain = resolve_chain("fast", "public", overrides={"fast": "local:tiny"})
    assert chain[0] == ModelSpec("local", "tiny")
    assert ModelSpec("local", "small") not in chain


def test_duplicates_are_removed(monkeypatch):
    settings_from_env(monkeypatch, MISTRAL_API_KEY="k", RELAIS_MODELS="judge=mistral:mistral-large-latest")
    chain = resolve_chain("judge", "public")
    assert chain == [ModelSpec("mistral", "mistral-large-latest"), ModelSpec("embedded", "default")]


@pytest.mark.parametrize("sensitivity", ["public", "internal"])
def test_non_confidential_work_may_use_mistral(monkeypatch, sensitivity):
    settings_from_env(monkeypatch, MISTRAL_API_KEY="k")
    assert resolve_chain("translation", sensitivity)[0].is_remote


def test_confidential_never_resolves_remote_whatever_the_configuration(monkeypatch):
    settings_from_env(monkeypatch, MISTRAL_API_KEY="k", RELAIS_LOCAL_BASE_URL="http://127.0.0.1:9/v1",
                      RELAIS_MODELS=",".join(f"{role}=mistral:mistral-large-latest" for role in ROLES))
    for role in ROLES:
        chain = resolve_chain(role, "confidential", overrides={role: "mistral:codestral-latest"})
        assert chain, role
        assert not any(spec.is_remote for spec in chain), chain
        assert chain[0].provider == "local"


def test_confidential_with_only_remote_configured_falls_back_to_embedded(monkeypatch):
    settings_from_env(monkeypatch, MISTRAL_API_KEY="k", RELAIS_MODELS="translation=mistral:mistral-large-latest")
    assert resolve_chain("translation", "confidential") == [ModelSpec("embedded", "default")]


def test_model_spec_parse():
    assert ModelSpec.parse("local:qwen2.5:7b") == ModelSpec("local", "qwen2.5:7b")
    assert str(ModelSpec.parse("mistral:mistral-small-latest")) == "mistral:mistral-small-latest"
    assert ModelSpec("mistral", "x").is_remote
    assert not ModelSpec("local", "x").is_remote
    assert not ModelSpec("embedded", "default").is_remote


@pytest.mark.parametrize("text", ["mistral", ":model", "mistral:", ""])
def test_model_spec_parse_errors(text):
    with pytest.raises(ValueError, match="provider:model"):
        ModelSpec.parse(text)


def test_override_parse_error_names_the_value():
    with pytest.raises(ValueError, match="provider:model"):
        resolve_chain("fast", "public", overrides={"fast": "mistral-small"})


def test_relais_models_parse_error(monkeypatch):
    monkeypatch.setenv("RELAIS_MODELS", "drafting")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="role=provider:model"):
        get_settings()


def test_relais_models_parses_several_pairs(monkeypatch):
    settings = settings_from_env(monkeypatch, RELAIS_MODELS=" code = local:qwen2.5:7b , fast=embedded:default ")
    assert settings.models == {"code": "local:qwen2.5:7b", "fast": "embedded:default"}


def test_unknown_provider_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown provider 'openai'.*embedded, local, mistral"):
        resolve_chain("code", "public", overrides={"code": "openai:gpt-4o"})


def test_unknown_role_and_sensitivity_are_refused():
    with pytest.raises(ValueError, match="unknown model role"):
        resolve_chain("poetry", "public")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown sensitivity"):
        resolve_chain("fast", "secret")  # type: ignore[arg-type]


def test_build_unknown_provider():
    with pytest.raises(ValueError, match="unknown model provider"):
        catalog.build_chat_model(ModelSpec("nope", "x"), "fast")


def test_local_provider_without_url_says_what_to_set(monkeypatch):
    with pytest.raises(ValueError, match="RELAIS_LOCAL_BASE_URL"):
        get_chat_model("fast", "public", overrides={"fast": "local:qwen"})


def test_fallbacks_are_built_only_when_needed(monkeypatch, scripted_models):
    built: list[str] = []

    def counting_fake(spec, role, settings):
        built.append(str(spec))
        return scripted_models.model(spec.model)

    monkeypatch.setitem(catalog.PROVIDERS, "fake", counting_fake)
    model = get_chat_model("drafting", "internal", overrides={"drafting": "fake:primary"})
    assert built == ["fake:primary"]
    scripted_models.queue("primary", "ok")
    assert model.invoke("q").content == "ok"
    assert built == ["fake:primary"]


def test_fallback_takes_over_when_primary_fails(monkeypatch, scripted_models):
    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", "http://127.0.0.1:9/v1")
    get_settings.cache_clear()
    monkeypatch.setitem(catalog.PROVIDERS, "local", lambda spec, role, settings: scripted_models.model("local"))
    scripted_models.queue("drafting", ConnectionError("primary down"))
    scripted_models.queue("local", "réponse locale")
    assert get_chat_model("drafting", "internal").invoke("q").content == "réponse locale"
    assert len(scripted_models.calls("local")) == 1


def test_tags_and_metadata_reach_callbacks(scripted_models):
    from langchain_core.callbacks import BaseCallbackHandler

    seen: list[tuple[list[str], dict]] = []

    class Recorder(BaseCallbackHandler):
        def on_chat_model_start(self, serialized, messages, *, tags=None, metadata=None, **kwargs):
            seen.append((tags or [], metadata or {}))

    model = get_chat_model("drafting", "internal", tags=["relais:answer"])
    model.invoke("q", config={"callbacks": [Recorder()]})
    tags, metadata = seen[0]
    assert "relais:answer" in tags
    assert metadata["relais_model"] == "fake:drafting"
    assert metadata["relais_role"] == "drafting"


def test_fallback_calls_carry_their_own_model_metadata(monkeypatch, scripted_models):
    from langchain_core.callbacks import BaseCallbackHandler

    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", "http://127.0.0.1:9/v1")
    get_settings.cache_clear()
    monkeypatch.setitem(catalog.PROVIDERS, "local", lambda spec, role, settings: scripted_models.model("local"))
    scripted_models.queue("code", ConnectionError("primary down"))
    scripted_models.queue("local", "secours")
    models: list[str] = []

    class Recorder(BaseCallbackHandler):
        def on_chat_model_start(self, serialized, messages, *, metadata=None, **kwargs):
            models.append(metadata["relais_model"])

    async def call():
        return await get_chat_model("code", "internal").ainvoke("q", config={"callbacks": [Recorder()]})

    assert asyncio.run(call()).content == "secours"
    assert models == ["fake:code", "local:qwen2.5:7b-instruct"]


@pytest.mark.parametrize(("spec", "small"), [
    ("embedded:default", True),  # the in-process CPU model, whatever GGUF it loads
    ("local:qwen2.5:3b-instruct", True),
    ("local:llama3.2:1b", True),
    ("local:qwen2.5-coder:1.5b-instruct-q4_K_M", True),
    ("local:phi3:3.8b", True),
    ("local:qwen2.5:7b-instruct", False),
    ("local:mixtral:8x7b", False),
    ("local:my-distilled-model", False),  # no size in its name: capable unless RELAIS_SMALL_MODELS says so
    ("mistral:ministral-3b-latest", False),  # a remote model is never small
    ("mistral:mistral-large-latest", False),
])
def test_small_models_are_the_embedded_one_and_local_ones_named_4b_or_less(spec, small):
    assert catalog.is_small_model(ModelSpec.parse(spec)) is small


def test_relais_small_models_marks_other_local_models_small(monkeypatch):
    settings_from_env(monkeypatch, RELAIS_SMALL_MODELS="local:my-distilled-model, local:other")
    assert catalog.is_small_model(ModelSpec.parse("local:my-distilled-model"))
    assert not catalog.is_small_model(ModelSpec.parse("local:qwen2.5:14b"))


def test_a_role_answers_on_a_small_model_when_its_first_model_is_small(monkeypatch):
    assert catalog.answers_on_small_model("reasoning", "internal")  # the default: embedded only
    settings_from_env(monkeypatch, MISTRAL_API_KEY="k")
    assert not catalog.answers_on_small_model("reasoning", "internal")
    assert catalog.answers_on_small_model("reasoning", "confidential")  # Mistral never answers confidential work
    assert catalog.answers_on_small_model("reasoning", "internal", {"reasoning": "local:llama3.2:3b"})


def test_max_tokens_caps_one_call_and_leaves_the_shared_model_alone(use_fake_local):
    get_chat_model("reasoning", "internal", max_tokens=40).invoke("q")
    get_chat_model("reasoning", "internal").invoke("q")
    capped, usual = use_fake_local.chat_requests[-2:]
    assert capped["max_tokens"] == capped["max_completion_tokens"] == 40
    assert usual["max_tokens"] == catalog.MAX_TOKENS["reasoning"]

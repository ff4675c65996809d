"""The call log accounts each model call to the model that really answered (fallbacks included)."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from relais.models.catalog import get_chat_model
from server.tracking import ModelCallLog


def test_call_log_records_model_role_tokens_and_destination(scripted_models):
    scripted_models.queue("drafting", "une réponse")
    log = ModelCallLog()
    get_chat_model("drafting", "internal").invoke([HumanMessage("bonjour")], config={"callbacks": [log]})
    [call] = log.calls
    assert call.model == "fake:drafting" and call.role == "drafting"
    assert call.output_tokens > 0 and call.error is None and call.destination == "local"
    assert log.summary()["models"] == ["fake:drafting"]


def test_failed_primary_and_answering_fallback_are_both_recorded(scripted_models, monkeypatch):
    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MISTRAL_API_KEY", "k")
    get_settings.cache_clear()
    from relais.models import catalog

    monkeypatch.setitem(catalog.PROVIDERS, "mistral", lambda spec, role, settings: scripted_models.model("mistral"))
    monkeypatch.setitem(catalog.PROVIDERS, "local", lambda spec, role, settings: scripted_models.model("local"))
    monkeypatch.setenv("RELAIS_MODELS", "")
    get_settings.cache_clear()
    scripted_models.queue("mistral", RuntimeError("503"))
    scripted_models.queue("local", "réponse locale")
    log = ModelCallLog()
    answer = get_chat_model("fast", "internal").invoke([HumanMessage("x")], config={"callbacks": [log]})
    assert answer.content == "réponse locale"
    assert [call.model.split(":")[0] for call in log.calls] == ["mistral", "local"]
    assert log.calls[0].error and log.calls[0].destination == "remote-eu"
    assert log.summary()["destinations"] == ["local", "remote-eu"]

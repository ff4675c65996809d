"""Fault injection: a remote model answering 429/500 or hanging; every request answered and audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from relais.settings import get_settings
from server.app import create_app

pytestmark = pytest.mark.integration

REQUESTS = 24


@pytest.fixture
def flaky(fake_mistral, fake_local, monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "test-key")
    monkeypatch.setenv("MISTRAL_BASE_URL", fake_mistral.base_url)
    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", fake_local.base_url)
    monkeypatch.setenv("RELAIS_MODEL_TIMEOUT_S", "1")
    monkeypatch.setenv("RELAIS_MODEL_MAX_RETRIES", "1")
    monkeypatch.setenv("RELAIS_RATE_LIMIT_PER_MINUTE", "1000")
    get_settings.cache_clear()
    app = create_app()
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as client:
        yield client, app, fake_mistral, fake_local


def _body(number: int, stream: bool) -> dict:
    return {"model": "relais-general", "stream": stream,
            "messages": [{"role": "user", "content": f"Question de test numéro {number}"}]}


def test_injected_faults_fall_back_to_local_and_every_request_is_audited(flaky):
    client, app, mistral, local = flaky
    mistral.fail_next(6, status=429)
    mistral.fail_next(6, status=500)
    mistral.hang_next(4, seconds=3)
    statuses = []
    for number in range(REQUESTS):
        response = client.post("/v1/chat/completions", json=_body(number, stream=number % 2 == 1))
        statuses.append(response.status_code)
        assert "Traceback" not in response.text
    assert statuses == [200] * REQUESTS  # retried, then the local fallback answered
    assert local.chat_requests  # the fallback was really used
    records = app.state.audit.rows()
    assert len(records) == REQUESTS and {record.outcome for record in records} == {"ok"}
    assert any("local:" in (record.model or "") for record in records)
    assert app.state.audit.verify().ok


def test_every_model_down_is_an_openai_error_and_audited(flaky, monkeypatch):
    from relais.models import catalog

    def embedded_down(spec, role, settings):  # the last fallback (the GGUF) is out of this test
        raise RuntimeError("embedded model disabled in this test")

    monkeypatch.setitem(catalog.PROVIDERS, "embedded", embedded_down)
    client, app, mistral, local = flaky
    mistral.fail_next(100, status=500)
    local.fail_next(100, status=500)
    response = client.post("/v1/chat/completions", json=_body(0, stream=False))
    assert response.status_code == 502 and response.json()["error"]["type"] == "server_error"
    streamed = client.post("/v1/chat/completions", json=_body(1, stream=True))
    assert '"error"' in streamed.text and streamed.text.rstrip().endswith("data: [DONE]")
    outcomes = [record.outcome for record in app.state.audit.rows()]
    assert outcomes == ["error", "error"]

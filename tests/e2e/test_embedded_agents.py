"""The embedded default end to end: a streamed translation through the API, structured output included."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from server.app import create_app

pytestmark = pytest.mark.e2e


def test_streamed_translation_on_the_embedded_model(embedded):
    body = {"model": "relais-translation", "stream": True,
            "messages": [{"role": "user", "content": "Traduis en anglais : Le lot est libéré."}]}
    with TestClient(create_app(), client=("127.0.0.1", 50000)) as client:
        response = client.post("/v1/chat/completions", json=body)
    chunks = [json.loads(line[6:]) for line in response.text.split("\n") if line.startswith("data: {")]
    assert not any("error" in chunk for chunk in chunks), response.text[-500:]
    answer = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c.get("choices"))
    assert "batch" in answer.lower()  # the glossary's « lot → batch », by the real model
    assert chunks[-1]["usage"]["completion_tokens"] > 0

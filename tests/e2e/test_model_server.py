"""Relais on a shared llama.cpp model server: `python -m llama_cpp.server` with the default GGUF.

This is how replicas share one copy of the local model (deploy/compose.yaml's `model-server`): each
Relais process only holds `RELAIS_LOCAL_BASE_URL`, never the GGUF. The server is started here as
deploy/Dockerfile starts it (same module, same GGUF, same alias), on a free port with a shorter context
so it fits beside the other tests on two cores. No Mistral key is set, so every role resolves to
`local:` first, then the embedded model (relais/models/catalog.py `resolve_chain`).

The tests run in file order: the last one stops the server and checks the fallback.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from relais.models.embedded import _shared_llama
from relais.settings import get_settings
from server.app import create_app
from server.audit_records import AuditRecord
from tests.e2e.conftest import ThreadedServer, free_port, wait_until_up

pytestmark = pytest.mark.e2e

MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"  # deploy/Dockerfile's --model_alias, compose's RELAIS_LOCAL_MODEL
START_TIMEOUT_S = 180


@dataclass
class ModelServer:
    """A running `python -m llama_cpp.server` and where it answers."""

    process: subprocess.Popen
    base_url: str
    gguf: Path
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def model_server_command(gguf: Path, port: int) -> list[str]:
    """deploy/Dockerfile's model-server command, on loopback, 4k context and two threads."""
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]


@pytest.fixture(scope="module", autouse=True)
def no_gguf_loaded_yet() -> None:
    """Earlier tests of the session may have loaded the GGUF in this process: forget those copies, so
    the count of loaded models says what this module's requests loaded (they stay alive where they are held)."""
    _shared_llama.cache_clear()


@pytest.fixture(scope="module")
def model_server(default_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    port = free_port()
    log = tmp_path_factory.mktemp("model-server") / "llama_cpp_server.log"
    with log.open("w") as out:
        process = subprocess.Popen(model_server_command(default_gguf, port), stdout=out, stderr=subprocess.STDOUT)
    server = ModelServer(process, f"http://127.0.0.1:{port}/v1", default_gguf, log)
    try:
        wait_until_up(f"{server.base_url}/models", START_TIMEOUT_S, process)
    except (RuntimeError, TimeoutError) as error:
        server.stop()
        pytest.fail(f"llama.cpp's model server did not start ({error}). It needs llama-cpp-python's server "
                    f"extras: `pip install --no-deps starlette-context==0.5.1` (pinned in pyproject.toml's "
                    f"test extras). Its log ends with:\n{log.read_text()[-3000:]}")
    yield server
    server.stop()


@pytest.fixture
def relais(model_server: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedServer]:
    """Relais with only the shared model server (the autouse settings fixture removed any Mistral key)."""
    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", model_server.base_url)
    monkeypatch.setenv("RELAIS_LOCAL_MODEL", MODEL_ALIAS)
    monkeypatch.setenv("RELAIS_GGUF_PATH", str(model_server.gguf))  # the fallback needs no assembly
    monkeypatch.setenv("RELAIS_EMBEDDED_N_CTX", "2048")
    monkeypatch.setenv("RELAIS_MODEL_MAX_RETRIES", "0")  # a stopped server falls back at once
    # Two shared cores: a schema-constrained call on llama.cpp's server can take over the default 60 s.
    monkeypatch.setenv("RELAIS_MODEL_TIMEOUT_S", "300")
    get_settings.cache_clear()
    with ThreadedServer(create_app()) as server:
        yield server


def ask(relais: ThreadedServer, model: str, text: str) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    response = httpx.post(f"{relais.url}/v1/chat/completions", json=body, timeout=300)
    assert response.status_code == 200, response.text
    return response.json()


def audited(relais: ThreadedServer) -> AuditRecord:
    """The audit record of the last request: the model that answered is named there."""
    records = relais.app.state.audit.rows(newest_first=True, limit=1)
    assert records, "the request left no audit record"
    return records[0]


def test_a_translation_is_answered_by_the_model_server(relais: ThreadedServer):
    answer = ask(relais, "relais-translation", "Traduis en anglais : Le lot est libéré.")
    text = answer["choices"][0]["message"]["content"]
    assert "batch" in text.lower(), text  # the glossary's « lot → batch »
    record = audited(relais)
    assert record.model == f"local:{MODEL_ALIAS}", record
    assert record.destination == "local", record
    assert _shared_llama.cache_info().currsize == 0  # Relais never loaded the GGUF itself


def test_a_general_question_is_answered_by_the_model_server(relais: ThreadedServer):
    answer = ask(relais, "relais-general", "En une phrase courte : qu'est-ce qu'un lot en pharmacie ?")
    assert answer["choices"][0]["message"]["content"].strip()
    # No token count here: llama-cpp-python's server sends no usage in a stream (it ignores
    # stream_options), and Relais streams plain answers from the model even for a non-streamed request.
    record = audited(relais)
    assert record.model == f"local:{MODEL_ALIAS}", record
    assert _shared_llama.cache_info().currsize == 0


def test_with_the_server_stopped_the_embedded_model_answers(relais: ThreadedServer, model_server: ModelServer):
    """The catalog's last resort: with no model server, the in-process GGUF answers (loaded only now).

    Asserted on the embedded model rather than on an error, because no configuration removes it from
    the chain (resolve_chain always ends with it): this is what a replica does when the server dies.
    """
    model_server.stop()
    assert _shared_llama.cache_info().currsize == 0
    answer = ask(relais, "relais-general", "Réponds en une phrase : bonjour.")
    assert answer["choices"][0]["message"]["content"].strip()
    record = audited(relais)
    assert record.model == "embedded:default", record
    assert _shared_llama.cache_info().currsize == 1

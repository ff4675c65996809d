"""Schemathesis fuzzes the OpenAPI of the HTTP face: whatever it sends, never a 500.

A hook (schemathesis_hooks.py) gives some generated chat requests a real model id and a user message,
so the agents behind `/v1/chat/completions` run (on scripted models) instead of every request
stopping at 404 `model_not_found`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from relais.settings import get_settings
from server.app import create_app
from tests.e2e.conftest import E2E_DIR, ThreadedServer, free_port

pytestmark = pytest.mark.e2e

SCHEMATHESIS = E2E_DIR / "schemathesis" / "bin" / "st"
HERE = Path(__file__).resolve().parent  # holds schemathesis_hooks.py


def test_no_input_makes_the_api_fail_with_a_server_error(scripted_models, tmp_path: Path, monkeypatch):
    if not SCHEMATHESIS.exists():
        pytest.fail(f"schemathesis is not installed at {SCHEMATHESIS}: run `make e2e-deps`")
    monkeypatch.setenv("RELAIS_RATE_LIMIT_PER_MINUTE", "100000")  # fuzz the handler, not the 429
    get_settings.cache_clear()
    with ThreadedServer(create_app(), free_port()) as server:
        # The supervisor's first request loads the router (tens of seconds on a busy machine): not fuzzing.
        warm_up = {"model": "relais-auto", "messages": [{"role": "user", "content": "Bonjour"}]}
        httpx.post(f"http://127.0.0.1:{server.port}/v1/chat/completions", json=warm_up, timeout=300)
        result = subprocess.run(
            [str(SCHEMATHESIS), "run", f"http://127.0.0.1:{server.port}/openapi.json",
             "--checks", "not_a_server_error", "--max-examples", "40", "--generation-deterministic",
             "--include-path-regex", "^/(v1/|health|files/|metrics|agents/general/invoke)",
             "--request-timeout", "30", "--workers", "1", "--no-color"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(HERE)},
        )
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

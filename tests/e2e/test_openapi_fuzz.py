"""Schemathesis fuzzes the OpenAPI of the HTTP face: whatever it sends, never a 500."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from server.app import create_app
from tests.e2e.conftest import E2E_DIR, ThreadedServer, free_port

pytestmark = pytest.mark.e2e

SCHEMATHESIS = E2E_DIR / "schemathesis" / "bin" / "st"


def test_no_input_makes_the_api_fail_with_a_server_error(scripted_models, tmp_path: Path):
    if not SCHEMATHESIS.exists():
        pytest.fail(f"schemathesis is not installed at {SCHEMATHESIS}: run `make e2e-deps`")
    with ThreadedServer(create_app(), free_port()) as server:
        result = subprocess.run(
            [str(SCHEMATHESIS), "run", f"http://127.0.0.1:{server.port}/openapi.json",
             "--checks", "not_a_server_error", "--max-examples", "40", "--generation-deterministic",
             "--include-path-regex", "^/(v1/|health|files/|metrics|agents/general/invoke)",
             "--request-timeout", "30", "--workers", "1", "--no-color"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path,
        )
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

"""`langgraph dev` serves every graph of langgraph.json offline (what LangGraph Studio connects to)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port, wait_until_up

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_langgraph_dev_serves_every_graph_offline(tmp_path):
    port = free_port()
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true",
           "LANGSMITH_TRACING": "false", "RELAIS_DATA_DIR": str(tmp_path / "var")}
    langgraph = Path(sys.executable).parent / "langgraph"
    log = (tmp_path / "langgraph.log").open("w")
    process = subprocess.Popen([str(langgraph), "dev", "--port", str(port), "--no-browser", "--no-reload"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ok", 90, process)
        response = httpx.post(f"http://127.0.0.1:{port}/assistants/search", json={"limit": 50}, timeout=30)
        response.raise_for_status()
        graphs = {assistant["graph_id"] for assistant in response.json()}
        expected = set(__import__("json").loads((ROOT / "langgraph.json").read_text())["graphs"])
        assert graphs == expected
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        print((tmp_path / "langgraph.log").read_text()[-3000:])

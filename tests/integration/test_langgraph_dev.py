"""`langgraph dev` serves every graph of langgraph.json offline (what LangGraph Studio connects to)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port, wait_until_up

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def langgraph_dev(data_dir: Path, log_path: Path) -> Iterator[str]:
    """`langgraph dev` on a free port with RELAIS_DATA_DIR=data_dir, stopped on exit; yields its base URL."""
    port = free_port()
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true",
           "LANGSMITH_TRACING": "false", "RELAIS_DATA_DIR": str(data_dir)}
    langgraph = Path(sys.executable).parent / "langgraph"
    log = log_path.open("w")
    process = subprocess.Popen([str(langgraph), "dev", "--port", str(port), "--no-browser", "--no-reload"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ok", 90, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        print(log_path.read_text()[-3000:])


def test_langgraph_dev_serves_every_graph_offline(tmp_path):
    with langgraph_dev(tmp_path / "var", tmp_path / "langgraph.log") as base:
        response = httpx.post(f"{base}/assistants/search", json={"limit": 50}, timeout=30)
        response.raise_for_status()
        graphs = {assistant["graph_id"] for assistant in response.json()}
        expected = set(__import__("json").loads((ROOT / "langgraph.json").read_text())["graphs"])
        assert graphs == expected


def test_studio_opens_a_thread_the_server_wrote(tmp_path, monkeypatch, scripted_models):
    """langgraph.json's checkpointer is the threads' saver: a chat kept by Relais shows in `langgraph dev`."""
    from graphs.supervisor import build_supervisor_graph
    from relais.context import Context
    from relais.settings import get_settings
    from relais.threads import open_checkpointer, thread_id_for

    data_dir = tmp_path / "var"
    monkeypatch.setenv("RELAIS_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    scripted_models.queue("fast", "Réponse de Relais.")
    thread_id = thread_id_for("alice", "studio-chat")
    graph = build_supervisor_graph(checkpointer=open_checkpointer())
    graph.invoke({"messages": [("user", "Question depuis Open WebUI")]}, {"configurable": {"thread_id": thread_id}},
                 context=Context(user_id="alice", requested_agent="general"))
    with langgraph_dev(data_dir, tmp_path / "langgraph.log") as base:
        created = httpx.post(f"{base}/threads", json={"thread_id": thread_id, "if_exists": "do_nothing",
                                                       "metadata": {"graph_id": "supervisor"}}, timeout=30)
        created.raise_for_status()
        state = httpx.get(f"{base}/threads/{thread_id}/state", timeout=30)
        state.raise_for_status()
        texts = [message["content"] for message in state.json()["values"]["messages"]]
        assert texts == ["Question depuis Open WebUI", "Réponse de Relais."]


def test_studio_shows_a_pending_approval_and_resumes_it(tmp_path, monkeypatch, scripted_models):
    """A draft paused by the server is an interrupt in `langgraph dev`; `Command(resume="valider")` exports it."""
    from graphs.supervisor import build_supervisor_graph
    from relais.context import Context
    from relais.settings import get_settings
    from relais.threads import open_checkpointer, thread_id_for
    from tests.unit.test_agent_procedures import DRAFT, NOTES

    data_dir = tmp_path / "var"
    monkeypatch.setenv("RELAIS_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    scripted_models.queue("drafting", DRAFT)
    thread_id = thread_id_for("alice", "studio-approval")
    graph = build_supervisor_graph(checkpointer=open_checkpointer())
    paused = graph.invoke({"messages": [("user", NOTES)]}, {"configurable": {"thread_id": thread_id}},
                          context=Context(user_id="alice", requested_agent="procedures"))
    assert paused["__interrupt__"], "the server's run should wait for « valider »"
    with langgraph_dev(data_dir, tmp_path / "langgraph.log") as base:
        httpx.post(f"{base}/threads", json={"thread_id": thread_id, "if_exists": "do_nothing",
                                            "metadata": {"graph_id": "supervisor"}}, timeout=30).raise_for_status()
        state = httpx.get(f"{base}/threads/{thread_id}/state", timeout=30).json()
        pending = [item for task in state["tasks"] for item in task.get("interrupts", [])]
        assert pending and "« valider »" in pending[0]["value"]["text"]
        run = httpx.post(f"{base}/threads/{thread_id}/runs/wait", timeout=120,
                         json={"assistant_id": "supervisor", "command": {"resume": "valider"}})
        run.raise_for_status()
        answer = run.json()["messages"][-1]["content"]
        assert ".docx" in answer and "/files/" in answer
        assert not httpx.get(f"{base}/threads/{thread_id}/state", timeout=30).json()["next"]  # nothing pending

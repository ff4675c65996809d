"""`relais guard prepare`: the tagger trained once into its cache, found there the next time."""

from __future__ import annotations

import pytest

from cli.main import main
from relais.guard import tagger
from relais.settings import get_settings

# two small sets: the command's behaviour, not the shipped model (its training takes a minute)
SMALL_SETS = ("guard_planted_tuning.jsonl", "guard_planted_test.jsonl")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RELAIS_EMBEDDING_CACHE_DIR", str(tmp_path / "embeddings"))
    monkeypatch.setattr(tagger, "TRAINING_SETS", SMALL_SETS)
    get_settings.cache_clear()
    yield tmp_path / "guard-tagger"
    get_settings.cache_clear()


def test_prepare_trains_once_then_finds_the_model(cache, capsys):
    assert main(["guard", "prepare"]) == 0
    first = capsys.readouterr().out
    model = tagger.model_path(SMALL_SETS)
    assert model.parent == cache and model.is_file() and "trained in" in first and str(model) in first
    written = model.stat().st_mtime_ns
    assert main(["guard", "prepare"]) == 0
    assert "already trained" in capsys.readouterr().out
    assert model.stat().st_mtime_ns == written  # found, not trained again


def test_prepare_with_the_tagger_off_trains_nothing(cache, monkeypatch, capsys):
    monkeypatch.setenv("RELAIS_GUARD_TAGGER", "off")
    get_settings.cache_clear()
    assert main(["guard", "prepare"]) == 0
    assert "turned off" in capsys.readouterr().out
    assert not cache.exists()

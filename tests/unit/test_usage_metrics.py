"""`relais usage` on a small known set, and the Prometheus exposition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cli.commands.usage import percentile, summarise
from cli.main import main as relais_main
from server.audit import AuditEntry, AuditLog
from server.metrics import RelaisMetrics, metrics_app

DAY1 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)

# (when, user, groups, agent, model, outcome, tokens in, tokens out, latency ms, kWh, kg CO2)
KNOWN = [
    (DAY1, "alice", ["QA"], "procedures", "mistral:small", "ok", 100, 10, 100.0, 0.001, 0.0001),
    (DAY1, "alice", ["QA"], "procedures", "mistral:small", "ok", 200, 20, 200.0, 0.002, 0.0002),
    (DAY1, "bob", ["QA", "Juridique"], "contract_clauses", "local:qwen", "ok", 300, 30, 300.0, None, None),
    (DAY2, "bob", ["Juridique"], "contract_clauses", "local:qwen", "error", 400, 0, 400.0, 0.004, 0.0004),
    (DAY2, "carol", [], None, None, "refused", 0, 0, None, None, None),
]


def write_known(audit: AuditLog) -> None:
    for n, (when, user, groups, agent, model, outcome, t_in, t_out, latency, kwh, co2) in enumerate(KNOWN):
        audit.record(AuditEntry(request_id=f"r{n}", user_id=user, groups=groups, agent=agent, model=model,
                                outcome=outcome, tokens_in=t_in, tokens_out=t_out, latency_ms=latency,
                                energy_kwh=kwh, co2_kg=co2, timestamp=when + timedelta(minutes=n)))


@pytest.fixture
def audit():
    log = AuditLog.from_settings()
    write_known(log)
    yield log
    log.close()


def test_percentile_interpolates_like_numpy():
    assert percentile([100, 200, 300, 400], 0.5) == 250
    assert percentile([100, 200, 300, 400], 0.95) == pytest.approx(385)
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) is None


def test_percentile_matches_closest_rank_interpolation_on_unsorted_samples():
    samples = [9.0, 1.0, 4.0, 7.0, 3.0, 12.0, 5.0]
    ordered = sorted(samples)
    for fraction in (0.01, 0.25, 0.5, 0.9, 0.99):
        position = (len(ordered) - 1) * fraction
        low = int(position)
        expected = ordered[low] + (ordered[low + 1] - ordered[low]) * (position - low)
        assert percentile(samples, fraction) == pytest.approx(expected)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.999, 1.5])
def test_percentile_refuses_what_is_not_a_whole_percent(fraction):
    with pytest.raises(ValueError, match="whole percent"):
        percentile([1.0, 2.0], fraction)


def test_usage_by_agent(audit):
    rows = {row.key: row for row in summarise(audit.rows(), "agent")}
    assert list(rows) == ["(none)", "contract_clauses", "procedures"]
    procedures = rows["procedures"]
    assert (procedures.requests, procedures.ok, procedures.tokens_in, procedures.tokens_out) == (2, 2, 300, 30)
    assert (procedures.latency_p50_ms, procedures.latency_p95_ms) == (150.0, pytest.approx(195.0))
    assert procedures.energy_kwh == pytest.approx(0.003) and procedures.co2_kg == pytest.approx(0.0003)
    contracts = rows["contract_clauses"]
    assert (contracts.requests, contracts.ok, contracts.errors) == (2, 1, 1)
    assert contracts.energy_kwh == pytest.approx(0.004)  # the unknown figure is left out, not counted as 0
    refused = rows["(none)"]
    assert (refused.refused, refused.latency_p50_ms, refused.energy_kwh) == (1, None, None)


def test_usage_by_group_counts_a_request_in_each_of_its_groups(audit):
    rows = {row.key: (row.requests, row.tokens_in) for row in summarise(audit.rows(), "group")}
    assert rows == {"(none)": (1, 0), "Juridique": (2, 700), "QA": (3, 600)}


def test_usage_by_user_model_and_day(audit):
    assert {row.key: row.requests for row in summarise(audit.rows(), "user")} == {"alice": 2, "bob": 2, "carol": 1}
    assert {row.key: row.tokens_out for row in summarise(audit.rows(), "model")} == {
        "(none)": 0, "local:qwen": 30, "mistral:small": 30}
    assert {row.key: row.requests for row in summarise(audit.rows(), "day")} == {"2026-03-02": 3, "2026-03-03": 2}


def test_cli_csv_with_a_period(audit, capsys):
    assert relais_main(["usage", "--by", "user", "--since", "2026-03-03", "--until", "2026-03-03", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "user,requests,ok,errors,refused,tokens_in,tokens_out,latency_p50_ms,latency_p95_ms,energy_kwh,co2_kg",
        "bob,1,0,1,0,400,0,400.0,400.0,0.004,0.0004",
        "carol,1,0,0,1,0,0,,,,",
    ]


def test_cli_table_has_a_total_line(audit, capsys):
    assert relais_main(["usage", "--by", "agent"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["agent", "requests", "ok"]
    assert lines[-1].split()[:7] == ["TOTAL", "5", "3", "1", "1", "1000", "60"]
    assert lines[-2].startswith("-----")


def test_cli_refuses_a_bad_date(capsys):
    assert relais_main(["usage", "--since", "02/03/2026"]) == 2
    assert "not a date" in capsys.readouterr().err
    assert relais_main(["usage", "--since", "2026-03-04", "--until", "2026-03-02"]) == 2


def test_metrics_exposition():
    metrics = RelaisMetrics()
    for n, (_when, _user, _groups, agent, _model, outcome, t_in, t_out, latency, kwh, co2) in enumerate(KNOWN):
        metrics.observe(AuditEntry(request_id=f"r{n}", user_id="u", agent=agent, outcome=outcome,
                                   provider="mistral" if agent == "procedures" else "local",
                                   destination="remote-eu" if agent == "procedures" else "local",
                                   tokens_in=t_in, tokens_out=t_out, latency_ms=latency, energy_kwh=kwh, co2_kg=co2))
    text = metrics.exposition().decode()
    assert 'relais_requests_total{agent="procedures",destination="remote-eu",outcome="ok"} 2.0' in text
    assert 'relais_requests_total{agent="none",destination="local",outcome="refused"} 1.0' in text
    assert 'relais_tokens_total{agent="procedures",direction="in",provider="mistral"} 300.0' in text
    assert 'relais_request_latency_seconds_count{agent="contract_clauses"} 2.0' in text
    assert 'relais_request_latency_seconds_bucket{agent="procedures",le="0.25"} 2.0' in text
    assert 'relais_energy_kwh_total{agent="procedures",provider="mistral"} 0.003' in text
    assert "relais_co2_kg_total" in text
    assert "python_gc" not in text  # its own registry, not the process-wide default


def test_metrics_app_mounts_at_metrics():
    metrics = RelaisMetrics()
    metrics.observe(AuditEntry(request_id="r", user_id="u", agent="code", outcome="ok"))
    app = FastAPI()
    app.mount("/metrics", metrics_app(metrics))
    response = TestClient(app).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'relais_requests_total{agent="code",destination="none",outcome="ok"} 1.0' in response.text

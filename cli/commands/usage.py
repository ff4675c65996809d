"""`relais usage`: requests, tokens, latency, energy and CO2 from the audit trail, per agent, user, group...

A request made by a member of several groups counts once in each of them, so the group rows may
add up to more than the total.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

from cli.main import UserError
from server.audit import AuditLog, AuditRecord, AuditUnavailable

HELP = "usage report from the audit trail: requests, tokens, latency p50/p95, energy, CO2 (table or CSV)"
DIMENSIONS = ("agent", "user", "group", "model", "day")
NONE_KEY = "(none)"


@dataclass(frozen=True)
class UsageRow:
    """One line of the report."""

    key: str
    requests: int
    ok: int
    errors: int
    refused: int
    tokens_in: int
    tokens_out: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    energy_kwh: float | None
    co2_kg: float | None


COLUMNS = [item.name for item in fields(UsageRow)][1:]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The percentile by linear interpolation between closest ranks (numpy's default); None when empty.

    Args:
        values: the sample.
        fraction: which percentile, in whole percents from 0.01 to 0.99 (0.5, 0.95...).
    """
    if not values:
        return None
    if len(values) == 1:  # statistics.quantiles needs two points on Python 3.11
        return float(values[0])
    # method="inclusive" is numpy's linear interpolation; cut point k of n=100 is the (k+1)th percentile.
    return statistics.quantiles(values, n=100, method="inclusive")[_percent(fraction) - 1]


def _percent(fraction: float) -> int:
    percent = round(fraction * 100)
    if not 1 <= percent <= 99 or not math.isclose(percent, fraction * 100):
        raise ValueError(f"percentile {fraction} is not a whole percent between 0.01 and 0.99")
    return percent


def keys_of(record: AuditRecord, by: str) -> list[str]:
    """The report rows a record counts in."""
    if by == "group":
        return list(record.groups) or [NONE_KEY]
    value = {"agent": record.agent, "user": record.user_id, "model": record.model, "day": record.ts[:10]}[by]
    return [value or NONE_KEY]


def _total(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) if present else None


def summarise_group(key: str, records: Sequence[AuditRecord]) -> UsageRow:
    """The figures of one report row."""
    latencies = [record.latency_ms for record in records if record.latency_ms is not None]
    outcomes = [record.outcome for record in records]
    return UsageRow(
        key=key, requests=len(records), ok=outcomes.count("ok"), errors=outcomes.count("error"),
        refused=outcomes.count("refused"),
        tokens_in=sum(record.tokens_in for record in records), tokens_out=sum(record.tokens_out for record in records),
        latency_p50_ms=percentile(latencies, 0.50), latency_p95_ms=percentile(latencies, 0.95),
        energy_kwh=_total(record.energy_kwh for record in records), co2_kg=_total(record.co2_kg for record in records),
    )


def summarise(records: Iterable[AuditRecord], by: str) -> list[UsageRow]:
    """The report: one row per value of `by`, sorted by key."""
    if by not in DIMENSIONS:
        raise ValueError(f"cannot group usage by {by!r}; choose one of {DIMENSIONS}")
    grouped: dict[str, list[AuditRecord]] = defaultdict(list)
    for record in records:
        for key in keys_of(record, by):
            grouped[key].append(record)
    return [summarise_group(key, grouped[key]) for key in sorted(grouped)]


def parse_moment(text: str, *, end: bool) -> datetime:
    """A --since/--until value: a date (a whole day; --until includes it) or an ISO datetime (UTC if naive)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise UserError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO datetime") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.6f}"
    return str(value)


def write_table(rows: Sequence[UsageRow], total: UsageRow, by: str, out: TextIO) -> None:
    """An aligned text table with a total line."""
    header = [by, *COLUMNS]
    body = [[_cell(value) for value in astuple(row)] for row in [*rows, total]]
    widths = [max(len(line[column]) for line in [header, *body]) for column in range(len(header))]
    for index, line in enumerate([header, *body]):
        if index == len(body):  # the total line
            print("  ".join("-" * width for width in widths), file=out)
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(line, widths, strict=True))), file=out)


def write_csv(rows: Sequence[UsageRow], by: str, out: TextIO) -> None:
    """CSV with a header line, empty cells for missing figures."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([by, *COLUMNS])
    for row in rows:
        writer.writerow([_csv_cell(value) for value in astuple(row)])


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    return round(value, 9) if isinstance(value, float) else value  # drop float sum noise (0.1+0.2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --by, --since, --until and --csv."""
    parser.add_argument("--by", choices=DIMENSIONS, default="agent", help="one row per ... (default agent)")
    parser.add_argument("--since", help="from this date (YYYY-MM-DD, UTC) or ISO datetime")
    parser.add_argument("--until", help="up to this date, included, or ISO datetime, excluded")
    parser.add_argument("--csv", action="store_true", help="write CSV instead of a table")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the report from the audit database the settings name."""
    out = out or sys.stdout
    since = parse_moment(args.since, end=False) if args.since else None
    until = parse_moment(args.until, end=True) if args.until else None
    if since and until and since >= until:
        raise UserError("--since must come before --until")
    log = AuditLog.from_settings()
    try:
        records = log.rows(since=since, until=until)
    except AuditUnavailable as error:
        raise UserError(str(error)) from error
    finally:
        log.close()
    rows = summarise(records, args.by)
    if args.csv:
        write_csv(rows, args.by, out)
    else:
        write_table(rows, summarise_group("TOTAL", records), args.by, out)
    return 0

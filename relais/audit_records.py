"""What an audit record holds and how it is hashed: the table, the entry, the chain check.

The row hash is the sha256 of the record's canonical JSON (sorted keys), `prev_hash` included, so
an edited record no longer matches its hash and a deleted one leaves a gap in `seq` or a link
that points nowhere. Request and answer text are covered through their sha256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, String, Table, Text

GENESIS_HASH = "0" * 64
OUTCOMES = ("ok", "error", "refused")
DESTINATIONS = ("local", "remote-eu")

Outcome = Literal["ok", "error", "refused"]
Destination = Literal["local", "remote-eu"]

metadata = MetaData()
records = Table(
    "audit_records", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", String(32), nullable=False, index=True),
    Column("request_id", String(128), nullable=False),
    Column("user_id", String(255), nullable=False, index=True),
    Column("groups", Text, nullable=False),
    Column("requested_model", String(64)),
    Column("agent", String(64), index=True),
    Column("route_method", String(64)),
    Column("route_confidence", Float),
    Column("model", String(255)),
    Column("provider", String(64)),
    Column("destination", String(16)),
    Column("guard", Text, nullable=False),
    Column("tokens_in", Integer, nullable=False),
    Column("tokens_out", Integer, nullable=False),
    Column("latency_ms", Float),
    Column("energy_kwh", Float),
    Column("co2_kg", Float),
    Column("outcome", String(16), nullable=False),
    Column("message", Text),
    Column("request_sha256", String(64), nullable=False),
    Column("answer_sha256", String(64)),
    Column("request_content", Text),
    Column("answer_content", Text),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("row_hash", String(64), nullable=False, unique=True),
)
# Content is covered through its sha256, so that it may be kept or not without changing the chain.
UNHASHED = {"row_hash", "request_content", "answer_content"}
HASHED_COLUMNS = tuple(column.name for column in records.columns if column.name not in UNHASHED)

# Triggers that refuse UPDATE and DELETE: the chain detects tampering, these stop the casual kind.
SQLITE_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS audit_records_no_{verb} BEFORE {verb.upper()} ON audit_records "
    "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END"
    for verb in ("update", "delete")
]
POSTGRES_APPEND_ONLY = [
    "CREATE OR REPLACE FUNCTION relais_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$",
    "CREATE OR REPLACE TRIGGER audit_records_no_change BEFORE UPDATE OR DELETE ON audit_records "
    "FOR EACH ROW EXECUTE FUNCTION relais_audit_append_only()",
    "CREATE OR REPLACE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records "
    "FOR EACH STATEMENT EXECUTE FUNCTION relais_audit_append_only()",
]


@dataclass(frozen=True)
class AuditEntry:
    """What the server knows about one request once it is answered (or refused)."""

    request_id: str
    user_id: str
    outcome: Outcome
    groups: Sequence[str] = ()
    requested_model: str | None = None
    agent: str | None = None
    route_method: str | None = None
    route_confidence: float | None = None
    model: str | None = None
    provider: str | None = None
    destination: Destination | None = None
    guard: Any = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float | None = None
    energy_kwh: float | None = None
    co2_kg: float | None = None
    message: str | None = None
    request_content: str = ""
    answer_content: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class AuditRecord:
    """A stored record, as read back."""

    seq: int
    ts: str
    request_id: str
    user_id: str
    groups: tuple[str, ...]
    requested_model: str | None
    agent: str | None
    route_method: str | None
    route_confidence: float | None
    model: str | None
    provider: str | None
    destination: str | None
    guard: Any
    tokens_in: int
    tokens_out: int
    latency_ms: float | None
    energy_kwh: float | None
    co2_kg: float | None
    outcome: str
    message: str | None
    request_sha256: str
    answer_sha256: str | None
    request_content: str | None
    answer_content: str | None
    prev_hash: str
    row_hash: str

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold."""

    seq: int
    kind: Literal["edited", "deleted"]
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """The result of walking the whole chain."""

    records: int
    head_seq: int | None
    head_hash: str | None
    problem: ChainBreak | None = field(default=None)

    @property
    def ok(self) -> bool:
        """Whether every record is intact and none is missing inside the chain."""
        return self.problem is None


def sha256_text(text: str) -> str:
    """The hex sha256 of a text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_ts(moment: datetime) -> str:
    """A timestamp as stored: UTC, ISO 8601 with microseconds (so strings sort as times)."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def row_hash(row: dict[str, Any]) -> str:
    """The hash of a record: sha256 of its canonical JSON (sorted keys, prev_hash included)."""
    canonical = {name: row[name] for name in HASHED_COLUMNS}
    return sha256_text(json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def entry_values(entry: AuditEntry, store_content: bool) -> dict[str, Any]:
    """The column values of an entry, normalised so they read back exactly as they hash."""
    if entry.outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {OUTCOMES}, not {entry.outcome!r}")
    if entry.destination is not None and entry.destination not in DESTINATIONS:
        raise ValueError(f"audit destination must be one of {DESTINATIONS}, not {entry.destination!r}")
    answer = entry.answer_content
    return {
        "ts": format_ts(entry.timestamp or datetime.now(UTC)),
        "request_id": entry.request_id, "user_id": entry.user_id,
        "groups": json.dumps(sorted(set(entry.groups)), ensure_ascii=False),
        "requested_model": entry.requested_model, "agent": entry.agent,
        "route_method": entry.route_method, "route_confidence": _float(entry.route_confidence),
        "model": entry.model, "provider": entry.provider, "destination": entry.destination,
        "guard": json.dumps(entry.guard, sort_keys=True, ensure_ascii=False, default=str),
        "tokens_in": int(entry.tokens_in), "tokens_out": int(entry.tokens_out),
        "latency_ms": _float(entry.latency_ms), "energy_kwh": _float(entry.energy_kwh),
        "co2_kg": _float(entry.co2_kg), "outcome": entry.outcome, "message": entry.message,
        "request_sha256": sha256_text(entry.request_content),
        "answer_sha256": None if answer is None else sha256_text(answer),
        "request_content": entry.request_content if store_content else None,
        "answer_content": answer if store_content else None,
    }


def to_record(row: Any) -> AuditRecord:
    """A stored row as an AuditRecord (groups and guard decoded)."""
    data = dict(row._mapping)
    data["groups"] = tuple(json.loads(data["groups"]))
    data["guard"] = json.loads(data["guard"])
    return AuditRecord(**data)


def check_link(record: dict[str, Any], prev_seq: int, prev_hash: str) -> ChainBreak | None:
    """The break at this record, given the previous record's seq and hash (0 and GENESIS_HASH at the start)."""
    seq = record["seq"]
    if seq != prev_seq + 1:
        missing = f"#{prev_seq + 1}" if seq == prev_seq + 2 else f"#{prev_seq + 1}..#{seq - 1}"
        return ChainBreak(prev_seq + 1, "deleted", f"record {missing} is missing: #{seq} follows #{prev_seq}")
    if record["prev_hash"] != prev_hash:
        if prev_seq == 0:
            return ChainBreak(seq, "edited", "the first record does not start the chain (records before it deleted)")
        return ChainBreak(prev_seq, "edited", f"record #{prev_seq} changed after record #{seq} was chained to it")
    if row_hash(record) != record["row_hash"]:
        return ChainBreak(seq, "edited", f"record #{seq} does not match its hash: its fields were changed")
    for kind in ("request", "answer"):
        content = record[f"{kind}_content"]
        if content is not None and sha256_text(content) != record[f"{kind}_sha256"]:
            return ChainBreak(seq, "edited", f"the stored {kind} text of record #{seq} was changed")
    return None


def iter_jsonl(rows: Sequence[AuditRecord]) -> Iterator[str]:
    """Records as JSON Lines (for `relais audit tail`)."""
    for row in rows:
        yield json.dumps(row.to_dict(), ensure_ascii=False)

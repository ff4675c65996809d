"""What an audit record holds and how it is sealed: the table, the entry, the chain check.

The row hash is the HMAC-SHA256 (server.audit_keys) of the record's canonical JSON (sorted keys),
`prev_hash` and `key_id` included, so an edited record no longer matches its seal, a deleted one
leaves a gap in `seq` or a link that points nowhere, and neither can be re-sealed without the key.
Request and answer text are covered through their sha256. Records written before the chain was
keyed (`key_id` NULL) carry a plain sha256; they are accepted only as a prefix the operator names
(RELAIS_AUDIT_UNKEYED_UNTIL), so a rewrite cannot pass itself off as legacy.

A streamed answer leaves two records with the same request id: `started` before the first byte,
then its outcome; `per_request` readers drop a started record once its outcome exists.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Final, Literal

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, String, Table, Text

from server.audit_keys import AuditKey, AuditKeyring

GENESIS_HASH = "0" * 64
OUTCOMES = ("ok", "error", "refused", "started")
STARTED: Final = "started"  # a streamed answer is about to be sent; a record with its outcome follows
DESTINATIONS = ("local", "remote-eu")

Outcome = Literal["ok", "error", "refused", "started"]
Destination = Literal["local", "remote-eu"]

metadata = MetaData()
records = Table(
    "audit_records", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", String(32), nullable=False, index=True),
    Column("request_id", String(128), nullable=False, index=True),
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
    Column("key_id", String(32)),  # the key that sealed the record; NULL for records written before keying
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("row_hash", String(64), nullable=False, unique=True),
)
# Content is covered through its sha256, so that it may be kept or not without changing the chain.
UNHASHED = {"row_hash", "request_content", "answer_content"}
LEGACY_HASHED_COLUMNS = tuple(column.name for column in records.columns if column.name not in UNHASHED | {"key_id"})
KEYED_HASHED_COLUMNS = (*LEGACY_HASHED_COLUMNS, "key_id")
ADD_KEY_ID_COLUMN = "ALTER TABLE audit_records ADD COLUMN key_id VARCHAR(32)"  # trails created before keying

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
    key_id: str | None
    prev_hash: str
    row_hash: str

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold."""

    seq: int
    kind: Literal["edited", "deleted", "unverifiable"]
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """The result of walking the whole chain."""

    records: int
    head_seq: int | None
    head_hash: str | None
    problem: ChainBreak | None = field(default=None)
    unkeyed: int = 0  # legacy records checked as plain sha256
    key_spans: tuple[tuple[str, int, int], ...] = ()  # (key id, first seq, last seq), in chain order

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


def row_hash(row: dict[str, Any], key: AuditKey | None = None) -> str:
    """The seal of a record: HMAC-SHA256 of its canonical JSON under `key` (key_id and prev_hash included).

    Without a key, the legacy form: plain sha256 of the canonical JSON of a record written before keying.
    """
    names = LEGACY_HASHED_COLUMNS if key is None else KEYED_HASHED_COLUMNS
    canonical = json.dumps({name: row[name] for name in names}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return sha256_text(canonical) if key is None else key.seal(canonical)


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


class ChainCheck:
    """Walks the records in `seq` order and finds the first one that breaks the chain."""

    def __init__(self, keyring: AuditKeyring | None, unkeyed_until: int | None,
                 kept_head: tuple[int, str] | None = None) -> None:
        """Check with these keys, accepting unkeyed records up to `unkeyed_until`, against a head kept elsewhere."""
        self.keys = dict(keyring.by_id) if keyring is not None else {}
        self.unkeyed_until = unkeyed_until
        self.kept_head = kept_head
        self.count, self.prev_seq, self.prev_hash = 0, 0, GENESIS_HASH
        self.unkeyed = 0
        self.spans: list[list[Any]] = []  # [key id, first seq, last seq]

    def report(self, problem: ChainBreak | None = None) -> VerifyReport:
        """What the walk found so far (the head is the last record that held)."""
        if problem is None and self.kept_head is not None and self.kept_head[0] > self.prev_seq:
            problem = ChainBreak(self.prev_seq + 1, "deleted", f"the kept head #{self.kept_head[0]} is missing: the "
                                 f"trail ends at #{self.prev_seq}, so its newest records were removed")
        return VerifyReport(self.count, self.prev_seq or None, self.prev_hash if self.count else None, problem,
                            self.unkeyed, tuple((key_id, first, last) for key_id, first, last in self.spans))

    def step(self, record: dict[str, Any]) -> ChainBreak | None:
        """Check one record against the one before; None when it holds (and it becomes the head)."""
        problem = _check_link(record, self.prev_seq, self.prev_hash) or self._check_seal(record)
        if problem is None:
            problem = _check_content(record) or self._check_kept_head(record)
        if problem is None:
            self._accept(record)
        return problem

    def _check_seal(self, record: dict[str, Any]) -> ChainBreak | None:
        seq, key_id = record["seq"], record["key_id"]
        if key_id is None:
            return self._check_unkeyed(record)
        key = self.keys.get(key_id)
        if key is None:
            return ChainBreak(seq, "unverifiable", f"record #{seq} is sealed with key {key_id}, which is not "
                              "configured: set RELAIS_AUDIT_KEY, or add the retired key to RELAIS_AUDIT_OLD_KEYS")
        if any(span[0] == key_id for span in self.spans[:-1]):
            return ChainBreak(seq, "edited", f"record #{seq} is sealed with key {key_id}, retired earlier in the "
                              "chain: written with an old key after a rotation")
        if not hmac.compare_digest(row_hash(record, key), record["row_hash"]):
            return ChainBreak(seq, "edited", f"record #{seq} does not match its seal (HMAC with key {key_id}): its "
                              "fields were changed without the key")
        return None

    def _check_kept_head(self, record: dict[str, Any]) -> ChainBreak | None:
        if self.kept_head is None or record["seq"] != self.kept_head[0] or record["row_hash"] == self.kept_head[1]:
            return None
        seq = record["seq"]
        return ChainBreak(seq, "edited", f"record #{seq} is not the head kept elsewhere: the trail was rewritten "
                          "from there on")

    def _check_unkeyed(self, record: dict[str, Any]) -> ChainBreak | None:
        seq = record["seq"]
        if self.spans:
            return ChainBreak(seq, "edited", f"record #{seq} carries no key after keyed records: rewritten by someone "
                              "without the key")
        if self.unkeyed_until is None or seq > self.unkeyed_until:
            return ChainBreak(seq, "edited", f"record #{seq} carries no key (plain sha256): rewritten without the key, "
                              "or written before the chain was keyed. If this trail predates keying, compare its "
                              "head with a copy kept then and set RELAIS_AUDIT_UNKEYED_UNTIL to its last unkeyed "
                              "record (docs/audit.md)")
        if row_hash(record) != record["row_hash"]:
            return ChainBreak(seq, "edited", f"record #{seq} does not match its hash: its fields were changed")
        return None

    def _accept(self, record: dict[str, Any]) -> None:
        seq, key_id = record["seq"], record["key_id"]
        if key_id is None:
            self.unkeyed += 1
        elif self.spans and self.spans[-1][0] == key_id:
            self.spans[-1][2] = seq
        else:
            self.spans.append([key_id, seq, seq])
        self.count, self.prev_seq, self.prev_hash = self.count + 1, seq, record["row_hash"]


def _check_link(record: dict[str, Any], prev_seq: int, prev_hash: str) -> ChainBreak | None:
    seq = record["seq"]
    if seq != prev_seq + 1:
        missing = f"#{prev_seq + 1}" if seq == prev_seq + 2 else f"#{prev_seq + 1}..#{seq - 1}"
        return ChainBreak(prev_seq + 1, "deleted", f"record {missing} is missing: #{seq} follows #{prev_seq}")
    if record["prev_hash"] != prev_hash:
        if prev_seq == 0:
            return ChainBreak(seq, "edited", "the first record does not start the chain (records before it deleted)")
        return ChainBreak(prev_seq, "edited", f"record #{prev_seq} changed after record #{seq} was chained to it")
    return None


def _check_content(record: dict[str, Any]) -> ChainBreak | None:
    seq = record["seq"]
    for kind in ("request", "answer"):
        content = record[f"{kind}_content"]
        if content is not None and sha256_text(content) != record[f"{kind}_sha256"]:
            return ChainBreak(seq, "edited", f"the stored {kind} text of record #{seq} was changed")
    return None


def iter_jsonl(rows: Sequence[AuditRecord]) -> Iterator[str]:
    """Records as JSON Lines (for `relais audit tail`)."""
    for row in rows:
        yield json.dumps(row.to_dict(), ensure_ascii=False)

"""The audit trail: one append-only, hash-chained record per request (GMP data integrity, ALCOA+).

Each record stores the hash of the record before it and a hash of its own canonical fields, so an
edited record breaks its own hash and a deleted one breaks the chain; `AuditLog.verify` finds the
first break. Writes are serialised (a process lock, then `BEGIN IMMEDIATE` on SQLite or an advisory
lock on PostgreSQL) so the chain never forks. A database that cannot be written raises
`AuditUnavailable`: the server then refuses the request instead of serving it unaudited.

Content is kept as sha256 only, unless RELAIS_AUDIT_STORE_CONTENT=true. Removing the newest
records leaves no gap inside the chain: compare the head `verify` reports with a copy kept elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from relais.settings import Settings, get_settings

GENESIS_HASH = "0" * 64
OUTCOMES = ("ok", "error", "refused")
DESTINATIONS = ("local", "remote-eu")
PG_LOCK_KEY = 0x52454C414953  # "RELAIS": the advisory lock that serialises writers on PostgreSQL

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


class AuditUnavailable(RuntimeError):
    """The audit database cannot be written: the request must be refused, not served unaudited."""


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


def _to_record(row: Any) -> AuditRecord:
    data = dict(row._mapping)
    data["groups"] = tuple(json.loads(data["groups"]))
    data["guard"] = json.loads(data["guard"])
    return AuditRecord(**data)


class AuditLog:
    """The audit trail in one database (SQLite file or any SQLAlchemy URL)."""

    _process_lock = threading.Lock()  # one writer at a time in this process, whatever the instance

    def __init__(self, url: str, *, store_content: bool = False, lock_timeout_s: float = 5.0) -> None:
        self.url = url
        self.store_content = store_content
        self.lock_timeout_s = lock_timeout_s
        self._engine: Engine | None = None
        self._schema_ready = False

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> AuditLog:
        """The audit log RELAIS_AUDIT_URL names, else SQLite in RELAIS_DATA_DIR/audit.db."""
        settings = settings or get_settings()
        url = settings.audit_url or f"sqlite:///{Path(settings.data_dir).resolve() / 'audit.db'}"
        return cls(url, store_content=settings.audit_store_content, lock_timeout_s=settings.audit_lock_timeout_s)

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is SQLite."""
        return self.url.startswith("sqlite")

    def engine(self) -> Engine:
        """The engine, created on first use with its tables (raises AuditUnavailable)."""
        with self._process_lock:
            if self._engine is None:
                self._engine = self._create_engine()
            if not self._schema_ready:
                self._create_schema(self._engine)
                self._schema_ready = True
        return self._engine

    def _create_schema(self, engine: Engine) -> None:
        for attempt in (1, 2):
            try:
                metadata.create_all(engine)
                triggers = {"sqlite": SQLITE_APPEND_ONLY, "postgresql": POSTGRES_APPEND_ONLY}
                with engine.begin() as conn:
                    for statement in triggers.get(engine.dialect.name, []):
                        conn.exec_driver_sql(statement)
                return
            except SQLAlchemyError as error:
                # Another process may have created the schema between the check and the CREATE: look again.
                if attempt == 2 or not any(word in str(error) for word in ("already exists", "concurrently")):
                    raise AuditUnavailable(f"audit database {self._safe_url()} cannot be opened: {error}") from error

    def _create_engine(self) -> Engine:
        try:
            if not self.is_sqlite:
                return create_engine(self.url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
            database = self.url.split("///", 1)[-1]
            if database and database != ":memory:" and self.url.startswith("sqlite:///"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit so readers take no lock; writers open BEGIN IMMEDIATE themselves.
            engine = create_engine(self.url, isolation_level="AUTOCOMMIT",
                                   connect_args={"timeout": self.lock_timeout_s, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        except (SQLAlchemyError, ImportError, OSError) as error:
            raise AuditUnavailable(f"audit database {self._safe_url()} cannot be used: {error}") from error

    def _safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except SQLAlchemyError:
            return "<invalid URL>"

    def record(self, entry: AuditEntry) -> str:
        """Append one record, chained to the last; returns its hash.

        Raises:
            AuditUnavailable: the database is locked beyond RELAIS_AUDIT_LOCK_TIMEOUT_S or unreachable.
        """
        values = entry_values(entry, self.store_content)
        engine = self.engine()
        with self._process_lock:
            try:
                with engine.connect() as conn:
                    return self._append(conn, values)
            except SQLAlchemyError as error:
                reason = "is locked" if "locked" in str(error).lower() else "cannot be written"
                raise AuditUnavailable(
                    f"audit database {self._safe_url()} {reason}; the request is refused rather than served "
                    f"unaudited ({type(error.__cause__ or error).__name__}: {error.__cause__ or error})"
                ) from error

    def _append(self, conn: Connection, values: dict[str, Any]) -> str:
        if self.is_sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
        try:
            newest = select(records.c.seq, records.c.row_hash).order_by(records.c.seq.desc()).limit(1)
            last = conn.execute(newest).first()
            row = {**values, "seq": 1 if last is None else last.seq + 1,
                   "prev_hash": GENESIS_HASH if last is None else last.row_hash}
            row["row_hash"] = row_hash(row)
            conn.execute(insert(records).values(**row))
        except BaseException:
            self._finish(conn, "ROLLBACK")
            raise
        self._finish(conn, "COMMIT")
        return row["row_hash"]

    def _finish(self, conn: Connection, verb: str) -> None:
        if self.is_sqlite:
            conn.exec_driver_sql(verb)
        elif verb == "COMMIT":
            conn.commit()
        else:
            conn.rollback()

    async def arecord(self, entry: AuditEntry) -> str:
        """`record` off the event loop."""
        return await asyncio.to_thread(self.record, entry)

    def rows(self, *, since: datetime | None = None, until: datetime | None = None, user_id: str | None = None,
             agent: str | None = None, outcome: str | None = None, limit: int | None = None,
             newest_first: bool = False) -> list[AuditRecord]:
        """Stored records, oldest first unless `newest_first`; `until` is exclusive."""
        query = select(records)
        for column, value in (("user_id", user_id), ("agent", agent), ("outcome", outcome)):
            if value is not None:
                query = query.where(records.c[column] == value)
        if since is not None:
            query = query.where(records.c.ts >= format_ts(since))
        if until is not None:
            query = query.where(records.c.ts < format_ts(until))
        query = query.order_by(records.c.seq.desc() if newest_first else records.c.seq).limit(limit)
        try:
            with self.engine().connect() as conn:
                return [_to_record(row) for row in conn.execute(query)]
        except SQLAlchemyError as error:
            raise AuditUnavailable(f"audit database {self._safe_url()} cannot be read: {error}") from error

    def verify(self) -> VerifyReport:
        """Walk the chain from the first record; report the first edited or deleted record."""
        count, prev_seq, prev_hash = 0, 0, GENESIS_HASH
        try:
            with self.engine().connect() as conn:
                for row in conn.execution_options(yield_per=1000).execute(select(records).order_by(records.c.seq)):
                    record = dict(row._mapping)
                    problem = _check(record, prev_seq, prev_hash)
                    if problem is not None:
                        return VerifyReport(count, prev_seq or None, None if count == 0 else prev_hash, problem)
                    count, prev_seq, prev_hash = count + 1, record["seq"], record["row_hash"]
        except SQLAlchemyError as error:
            raise AuditUnavailable(f"audit database {self._safe_url()} cannot be read: {error}") from error
        return VerifyReport(count, prev_seq or None, prev_hash if count else None)

    def close(self) -> None:
        """Release the database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._schema_ready = False


def _check(record: dict[str, Any], prev_seq: int, prev_hash: str) -> ChainBreak | None:
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged record survives a power cut
    cursor.close()

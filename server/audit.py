"""The audit trail: append-only, HMAC-chained records of every request (GMP data integrity, ALCOA+).

Each record stores the seal of the record before it and an HMAC-SHA256 of its own canonical fields
under a key the database never holds (server.audit_keys), so an edited record breaks its seal, a
deleted one breaks the chain, and someone with write access to the database but not the key cannot
re-seal what they changed; `AuditLog.verify` finds the first break. A streamed answer is recorded
twice under one request id: `started` before its first byte, then its outcome. Appends are
serialised across threads and processes, replicas included: reading the head, sealing on it and
inserting happen in one transaction under `BEGIN IMMEDIATE` on SQLite or a transaction-scoped
advisory lock on PostgreSQL, and `seq` is the primary key, so the chain never forks and no
sequence number repeats. The schema is migrated on first use (server.audit_migrations). A
database that cannot be written raises `AuditUnavailable`: the server then refuses the request
instead of serving it unaudited.

Content is kept as sha256 only, unless RELAIS_AUDIT_STORE_CONTENT=true. Removing the newest
records leaves no gap inside the chain: compare the head `verify` reports with a copy kept elsewhere
(docs/audit.md).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exists, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from relais.settings import Settings, get_settings
from server.audit_keys import AuditKey, AuditKeyError, AuditKeyring, load_keyring
from server.audit_migrations import APPEND_LOCK_KEY, SchemaTooNew, exclusive_transaction, migrate
from server.audit_records import (
    GENESIS_HASH,
    STARTED,
    AuditEntry,
    AuditRecord,
    ChainBreak,
    ChainCheck,
    VerifyReport,
    entry_values,
    format_ts,
    iter_jsonl,
    records,
    row_hash,
    sha256_text,
    to_record,
)

__all__ = [
    "GENESIS_HASH", "STARTED", "AuditEntry", "AuditKeyError", "AuditLog", "AuditRecord", "AuditUnavailable",
    "ChainBreak", "VerifyReport", "iter_jsonl", "row_hash", "sha256_text",
]

class AuditUnavailable(RuntimeError):
    """The audit database cannot be written: the request must be refused, not served unaudited."""


class AuditLog:
    """The audit trail in one database (SQLite file or any SQLAlchemy URL)."""

    _process_lock = threading.Lock()  # one writer at a time in this process, whatever the instance

    def __init__(self, url: str, *, store_content: bool = False, lock_timeout_s: float = 5.0,
                 keyring: AuditKeyring | None = None, unkeyed_until: int | None = None,
                 settings: Settings | None = None) -> None:
        """Open (lazily) the trail at `url`; without `keyring`, the keys come from `settings` on first use."""
        self.url = url
        self.store_content = store_content
        self.lock_timeout_s = lock_timeout_s
        self.unkeyed_until = unkeyed_until
        self._keyring = keyring
        self._settings = settings
        self._engine: Engine | None = None
        self._schema_ready = False
        self.applied_migrations: list[int] = []  # the schema versions this instance applied on opening

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> AuditLog:
        """The audit log RELAIS_AUDIT_URL names, else RELAIS_DATABASE_URL, else SQLite in RELAIS_DATA_DIR/audit.db."""
        settings = settings or get_settings()
        return cls(settings.audit_database_url, store_content=settings.audit_store_content,
                   lock_timeout_s=settings.audit_lock_timeout_s, unkeyed_until=settings.audit_unkeyed_until,
                   settings=settings)

    def sealing_key(self) -> AuditKey:
        """The key new records are sealed with (generated once for a SQLite trail when none is configured).

        Raises:
            AuditUnavailable: no key is configured for a shared database, or a configured key is unusable.
        """
        if self._keyring is None:
            try:
                # A shared database is written by several replicas: a key each would break the chain.
                self._keyring = load_keyring(self._settings or get_settings(), may_generate=self.is_sqlite)
            except AuditKeyError as error:
                raise AuditUnavailable(f"{error}; the request is refused rather than served unaudited") from error
            if self._keyring is None:
                raise AuditUnavailable(f"no audit key: a shared audit database ({self._safe_url()}) needs "
                                       "RELAIS_AUDIT_KEY set to the same secret on every replica (docs/audit.md); "
                                       "the request is refused rather than served unaudited")
        return self._keyring.current

    def _verifying_keyring(self) -> AuditKeyring | None:
        """Every configured key, never generating one (a trail keyed by no known key cannot be verified)."""
        return self._keyring or load_keyring(self._settings or get_settings(), may_generate=False)

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
        try:
            self.applied_migrations = migrate(engine)  # serialised across replicas: see server.audit_migrations
        except (SQLAlchemyError, SchemaTooNew, ValueError) as error:
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
        key = self.sealing_key()
        engine = self.engine()
        with self._process_lock:
            try:
                with engine.connect() as conn:
                    return self._append(conn, values, key)
            except SQLAlchemyError as error:
                raise self._unavailable(error) from error

    def ensure_writable(self) -> None:
        """Check, before serving a request, that a record could be written now (takes and drops the write lock).

        Raises:
            AuditUnavailable: as `record` would.
        """
        self.sealing_key()
        engine = self.engine()
        with self._process_lock:
            try:
                with engine.connect() as conn:
                    if self.is_sqlite:
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                        conn.exec_driver_sql("ROLLBACK")
                    else:
                        conn.exec_driver_sql("SELECT 1")
            except SQLAlchemyError as error:
                raise self._unavailable(error) from error

    def _unavailable(self, error: SQLAlchemyError) -> AuditUnavailable:
        cause = error.__cause__ or error
        reason = "is locked" if "locked" in str(error).lower() else "cannot be written"
        return AuditUnavailable(f"audit database {self._safe_url()} {reason}; the request is refused rather than "
                                f"served unaudited ({type(cause).__name__}: {cause})")

    def _append(self, conn: Connection, values: dict[str, Any], key: AuditKey) -> str:
        """Read the head, seal the record on it and insert it, with no other writer in between (any process)."""
        with exclusive_transaction(conn, APPEND_LOCK_KEY):
            newest = select(records.c.seq, records.c.row_hash).order_by(records.c.seq.desc()).limit(1)
            last = conn.execute(newest).first()
            row = {**values, "seq": 1 if last is None else last.seq + 1, "key_id": key.key_id,
                   "prev_hash": GENESIS_HASH if last is None else last.row_hash}
            row["row_hash"] = row_hash(row, key)
            conn.execute(insert(records).values(**row))
        return row["row_hash"]

    async def arecord(self, entry: AuditEntry) -> str:
        """`record` off the event loop."""
        return await asyncio.to_thread(self.record, entry)

    def rows(self, *, since: datetime | None = None, until: datetime | None = None, user_id: str | None = None,
             agent: str | None = None, outcome: str | None = None, limit: int | None = None,
             newest_first: bool = False, per_request: bool = True) -> list[AuditRecord]:
        """Stored records, oldest first unless `newest_first`; `until` is exclusive.

        With `per_request`, one record per request: a streamed answer's `started` record is left out once
        the record of its outcome exists (a started record alone means the answer never finished).
        """
        query = select(records)
        if per_request:
            outcome_record = records.alias("outcome_record")
            finished = exists().where(outcome_record.c.request_id == records.c.request_id,
                                      outcome_record.c.outcome != STARTED)
            query = query.where(or_(records.c.outcome != STARTED, ~finished))
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
                return [to_record(row) for row in conn.execute(query)]
        except SQLAlchemyError as error:
            raise AuditUnavailable(f"audit database {self._safe_url()} cannot be read: {error}") from error

    def verify(self, kept_head: tuple[int, str] | None = None) -> VerifyReport:
        """Walk the chain from the first record; report the first edited, deleted or unverifiable record.

        `kept_head` is a head (seq, seal) copied elsewhere earlier: the trail must still hold it.

        Raises:
            AuditKeyError: a configured key is unusable.
            AuditUnavailable: the database cannot be read.
        """
        check = ChainCheck(self._verifying_keyring(), self.unkeyed_until, kept_head)
        try:
            with self.engine().connect() as conn:
                for row in conn.execution_options(yield_per=1000).execute(select(records).order_by(records.c.seq)):
                    problem = check.step(dict(row._mapping))
                    if problem is not None:
                        return check.report(problem)
        except SQLAlchemyError as error:
            raise AuditUnavailable(f"audit database {self._safe_url()} cannot be read: {error}") from error
        return check.report()

    def close(self) -> None:
        """Release the database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._schema_ready = False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    _use_wal(cursor)  # readers never block the writer
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged record survives a power cut
    cursor.close()


def _use_wal(cursor: Any, attempts: int = 100) -> None:
    """Put the database in WAL mode (kept in the file: later openers find it set).

    Switching the mode ignores the busy timeout: two processes opening a new trail together get
    « database is locked » at once (measured in test_audit_replicas_sqlite), so the switch is retried.
    """
    for _ in range(attempts):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            time.sleep(0.05)
    raise sqlite3.OperationalError("database is locked: WAL mode could not be set in 5 s")

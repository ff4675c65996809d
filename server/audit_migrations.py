"""Schema migrations of the audit database, run on start, safe when several replicas start at once.

The audit database (RELAIS_AUDIT_URL, else RELAIS_DATABASE_URL, else SQLite in RELAIS_DATA_DIR)
holds the audit trail, and with it the usage figures `relais usage` reads. Its schema is versioned
in `relais_schema_migrations`: each migration is numbered, applied once, and recorded in the same
transaction as its DDL (PostgreSQL and SQLite both run DDL inside a transaction), so one that fails
leaves nothing half-done and is tried again on the next start.

Why a versioned table and not Alembic: the schema is one table, its indexes and two triggers;
Alembic takes no lock of its own, so replicas starting together would still need the lock below,
and it would add two dependencies (alembic, Mako) for a few statements. Replicas are serialised by
`exclusive_transaction`: on PostgreSQL a transaction-scoped advisory lock (`pg_advisory_xact_lock`,
released by COMMIT or ROLLBACK, so a replica killed midway never leaves it held), on SQLite
`BEGIN IMMEDIATE` (the database's write lock). The second replica waits, then finds every version
recorded and applies nothing. The same helper serialises the audit chain's appends.

A migration added later goes at the end of MIGRATIONS with the next number; it must never edit a
sealed column's value (the chain would break), only add.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, insert, inspect, select
from sqlalchemy.engine import Connection

from server.audit_records import ADD_KEY_ID_COLUMN, POSTGRES_APPEND_ONLY, SQLITE_APPEND_ONLY, metadata, records

# Advisory lock keys (one namespace per database): "RELAIS" for the chain's appends, "RELMIG" for migrations.
APPEND_LOCK_KEY = 0x52454C414953
MIGRATION_LOCK_KEY = 0x52454C4D4947
SUPPORTED_DIALECTS = ("sqlite", "postgresql")

schema_metadata = MetaData()
migrations = Table(
    "relais_schema_migrations", schema_metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),  # a version applied twice cannot be recorded
    Column("description", Text, nullable=False),
    Column("applied_at", String(32), nullable=False),
)


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Relais than this one."""


@dataclass(frozen=True)
class Migration:
    """One numbered step of the schema."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_records(conn: Connection) -> None:
    """The trail's table and indexes; a trail created before versioning keeps its rows and gains what it lacks."""
    metadata.create_all(conn)  # checks first: an existing table is left as it is
    if "key_id" not in {column["name"] for column in inspect(conn).get_columns("audit_records")}:
        conn.exec_driver_sql(ADD_KEY_ID_COLUMN)  # adds a column: no row changes, so no trigger fires
    for index in records.indexes:
        index.create(conn, checkfirst=True)


def _append_only_triggers(conn: Connection) -> None:
    """Triggers that refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL); idempotent, like every step here."""
    for statement in {"sqlite": SQLITE_APPEND_ONLY, "postgresql": POSTGRES_APPEND_ONLY}[conn.dialect.name]:
        conn.exec_driver_sql(statement)


MIGRATIONS = (
    Migration(1, "audit_records: the hash-chained trail and its indexes", _create_records),
    Migration(2, "audit_records: append-only triggers", _append_only_triggers),
)


@contextmanager
def exclusive_transaction(conn: Connection, lock_key: int) -> Iterator[None]:
    """A transaction that no other process's exclusive transaction on `lock_key` overlaps; commits on success.

    SQLite has one write lock for the whole file, so `lock_key` only matters on PostgreSQL.
    """
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the engine is in autocommit: this is the only BEGIN
    else:
        conn.begin()
    try:
        if not sqlite:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(lock_key)})")
        yield
    except BaseException:
        conn.exec_driver_sql("ROLLBACK") if sqlite else conn.rollback()
        raise
    conn.exec_driver_sql("COMMIT") if sqlite else conn.commit()


def migrate(engine: Engine) -> list[int]:
    """Apply the migrations the database lacks, under the migration lock; returns the versions applied here.

    Raises:
        SchemaTooNew: the database holds a version this Relais does not know.
        ValueError: the database is neither SQLite nor PostgreSQL.
        sqlalchemy.exc.SQLAlchemyError: the database cannot be reached or a step failed (nothing is kept).
    """
    if engine.dialect.name not in SUPPORTED_DIALECTS:
        raise ValueError(f"the audit database must be SQLite or PostgreSQL, not {engine.dialect.name}")
    with engine.connect() as conn:
        if _missing(_applied_versions(conn)) == []:
            return []  # up to date: a reader (`relais audit verify`) opens it without waiting for the write lock
    with engine.connect() as conn, exclusive_transaction(conn, MIGRATION_LOCK_KEY):
        return _apply_missing(conn)  # looks again under the lock: another replica may have just migrated


def _applied_versions(conn: Connection) -> set[int]:
    if not inspect(conn).has_table(migrations.name):
        return set()
    return set(conn.execute(select(migrations.c.version)).scalars())


def _missing(done: set[int]) -> list[Migration]:
    newest = MIGRATIONS[-1].version
    if done and max(done) > newest:
        raise SchemaTooNew(f"the audit database is at schema version {max(done)}, newer than this Relais knows "
                           f"({newest}): run the newer Relais, or restore a backup taken before its upgrade")
    return [migration for migration in MIGRATIONS if migration.version not in done]


def _apply_missing(conn: Connection) -> list[int]:
    migrations.create(conn, checkfirst=True)  # under the lock: no other replica creates it meanwhile
    applied = []
    for migration in _missing(_applied_versions(conn)):
        migration.apply(conn)
        conn.execute(insert(migrations).values(version=migration.version, description=migration.description,
                                               applied_at=datetime.now(UTC).isoformat(timespec="microseconds")))
        applied.append(migration.version)
    return applied

"""Where exported files are kept: this machine's data folder, or the database every replica shares.

Without `RELAIS_DATABASE_URL` an export is a file under `RELAIS_DATA_DIR/exports/<id>/<name>`, as it
always was. With it, exports live in one table of that (PostgreSQL) database, next to the threads'
checkpoints, so a link signed on one replica opens on any other: a replica's disk holds nothing a
download needs. Both stores answer the same three calls (`put`, `get`, `prune`), picked by
`export_store()`.

Expiry: a stored export is kept until its link expires (`RELAIS_LINK_TTL_HOURS`), then deleted by
`prune`, which every new export runs first. The folder store has no room for the expiry beside the
file, so it deletes what is older than the link lifetime (a link never outlives it: relais.signed_links).
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Protocol

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
    text,
)

from relais.settings import Settings, get_settings

EXPORT_FOLDER = "exports"
FILE_ID = re.compile(r"^[0-9a-f]{32}$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
# Taken by the replica that creates the table: two replicas starting at once never both run CREATE TABLE.
_SCHEMA_LOCK = 0x72656C6169730001  # "relais" + 1, a fixed pg_advisory_xact_lock key

metadata = MetaData()
exports_table = Table(
    "relais_exports", metadata,
    Column("file_id", String(32), primary_key=True),
    Column("user_id", String(256), nullable=False),
    Column("name", String(120), nullable=False),
    Column("media_type", String(127), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


class ExportCorrupted(RuntimeError):
    """A stored export no longer matches the SHA-256 recorded when it was written."""


@dataclass(frozen=True)
class StoredExport:
    """One export file and what is known about it."""

    file_id: str
    name: str
    content: bytes
    user_id: str = ""
    expires_at: float = 0.0

    @property
    def media_type(self) -> str:
        """The Content-Type it is downloaded with."""
        return media_type_of(self.name)

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of its content (recorded with it, checked on reading, audited on approval)."""
        return hashlib.sha256(self.content).hexdigest()


class ExportStore(Protocol):
    """Keeps export files until their links expire."""

    def put(self, export: StoredExport) -> Path | None:
        """Keep `export`; the local file it became, when the store is a folder."""

    def get(self, file_id: str, name: str) -> StoredExport:
        """The export `file_id`/`name`. Raises FileNotFoundError for a malformed or unknown one."""

    def prune(self, now: float | None = None) -> int:
        """Delete the exports whose links have expired; how many were deleted."""


def media_type_of(name: str) -> str:
    """The Content-Type a download of `name` is sent with."""
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def check_reference(file_id: str, name: str) -> None:
    """Refuse ids and names no export can have (traversal attempts included) with FileNotFoundError."""
    if not FILE_ID.fullmatch(file_id or "") or not SAFE_NAME.fullmatch(name or "") or ".." in name:
        raise FileNotFoundError(f"no export {file_id!r}/{name!r}")


@dataclass(frozen=True)
class FolderExportStore:
    """Exports as files under `root/<id>/<name>`: one machine, the default."""

    root: Path
    max_age_s: float

    def put(self, export: StoredExport) -> Path:
        """Write the file atomically (temporary file, then rename); the path it was written to."""
        folder = self.root / export.file_id
        folder.mkdir(parents=True, exist_ok=False)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".partial-", suffix=Path(export.name).suffix)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(export.content)
            os.replace(temporary, folder / export.name)  # readers never see half a file
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return folder / export.name

    def path(self, file_id: str, name: str) -> Path:
        """The file itself, refusing anything that resolves outside its own folder (a symlink)."""
        check_reference(file_id, name)
        root = self.root.resolve()
        path = (root / file_id / name).resolve()
        if path.parent.parent != root or not path.is_file():
            raise FileNotFoundError(f"no export {file_id!r}/{name!r}")
        return path

    def get(self, file_id: str, name: str) -> StoredExport:
        """The file's bytes (FileNotFoundError when malformed or unknown)."""
        path = self.path(file_id, name)
        return StoredExport(file_id=file_id, name=name, content=path.read_bytes(),
                            expires_at=path.stat().st_mtime + self.max_age_s)

    def prune(self, now: float | None = None) -> int:
        """Delete the export folders older than the link lifetime."""
        oldest = (time.time() if now is None else now) - self.max_age_s
        removed = 0
        for folder in self.root.glob("*"):
            if FILE_ID.fullmatch(folder.name) and folder.is_dir() and folder.stat().st_mtime < oldest:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed


@dataclass(frozen=True)
class DatabaseExportStore:
    """Exports as rows of `relais_exports` in the shared database: every replica reads the same files."""

    engine: Engine

    def put(self, export: StoredExport) -> None:
        """Insert one row: the bytes, their SHA-256, the user and the link's expiry."""
        with self.engine.begin() as connection:
            connection.execute(insert(exports_table).values(
                file_id=export.file_id, user_id=export.user_id, name=export.name, media_type=export.media_type,
                content=export.content, sha256=export.sha256, created_at=datetime.now(UTC),
                expires_at=datetime.fromtimestamp(export.expires_at, UTC)))

    def get(self, file_id: str, name: str) -> StoredExport:
        """The row's bytes, checked against their SHA-256 (ExportCorrupted when they differ)."""
        check_reference(file_id, name)
        query = select(exports_table).where(exports_table.c.file_id == file_id, exports_table.c.name == name)
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            raise FileNotFoundError(f"no export {file_id!r}/{name!r}")
        export = StoredExport(file_id=file_id, name=name, content=bytes(row["content"]), user_id=row["user_id"],
                              expires_at=row["expires_at"].timestamp())
        if export.sha256 != row["sha256"]:
            raise ExportCorrupted(f"export {file_id}/{name} does not match its recorded SHA-256")
        return export

    def prune(self, now: float | None = None) -> int:
        """Delete the rows whose links have expired."""
        moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
        with self.engine.begin() as connection:
            return connection.execute(delete(exports_table).where(exports_table.c.expires_at <= moment)).rowcount


def export_store(settings: Settings | None = None) -> ExportStore:
    """The database store when `RELAIS_DATABASE_URL` is set, else the data folder's."""
    settings = settings or get_settings()
    if settings.database_url is not None and settings.database_url.get_secret_value().strip():
        return DatabaseExportStore(database_engine(settings.database_url.get_secret_value().strip()))
    return FolderExportStore(settings.data_dir / EXPORT_FOLDER, settings.link_ttl_hours * 3600)


@cache
def database_engine(url: str) -> Engine:
    """One pooled engine per database URL, its exports table created on first use.

    Raises:
        ValueError: for a URL that is not PostgreSQL's.
    """
    engine = create_engine(sqlalchemy_url(url), pool_pre_ping=True, connect_args={"connect_timeout": 5})
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        metadata.create_all(connection, checkfirst=True)
    return engine


def sqlalchemy_url(url: str) -> str:
    """RELAIS_DATABASE_URL as SQLAlchemy reads it with psycopg 3 (the driver the checkpoints use)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError("RELAIS_DATABASE_URL must be a PostgreSQL URL (postgresql://user@host:5432/db)")

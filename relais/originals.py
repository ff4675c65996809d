"""The original files users upload through Open WebUI when Relais is its external document loader.

Open WebUI sends Relais each uploaded file (server/documents.py); Relais extracts its text and keeps
the file itself, so an agent can later work on the real document rather than on Open WebUI's chunks.
A file is kept per user and by content hash:

    RELAIS_DATA_DIR/originals/<user key>/<sha256>/<file name>     the file, byte for byte
    RELAIS_DATA_DIR/originals/<user key>/<sha256>/original.json   its name, type, size and upload time

The user key is a hash of the user id (ids are not safe folder names). Nothing is half-written: the
upload is streamed into a staging file, and renamed into place only once its text was extracted; the
record is written last, so a folder without one is an interrupted upload and `find_original` ignores
it. Originals older than RELAIS_DOCUMENT_RETENTION_DAYS are deleted by `prune_originals`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from relais.settings import get_settings

ORIGINALS_FOLDER = "originals"
STAGING_FOLDER = ".staging"
RECORD_NAME = "original.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
STALE_STAGING_S = 24 * 3600  # a staging file this old belongs to an upload that died mid-way


@dataclass(frozen=True)
class StoredOriginal:
    """A kept original: its hash, the name the user gave it, where it is, and whether this upload added it."""

    sha256: str
    name: str
    path: Path
    size: int
    created: bool


def originals_dir() -> Path:
    """The folder every original is kept under (inside RELAIS_DATA_DIR)."""
    return get_settings().data_dir / ORIGINALS_FOLDER


def user_key(user_id: str) -> str:
    """The folder name of a user's originals: a hash, since a user id may hold any character."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:32]


def stored_file_name(name: str) -> str:
    """A name safe on disk that keeps the extension (the extractor reads the type from it)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, suffix = os.path.splitext(ascii_name)
    safe_stem = _UNSAFE.sub("-", stem).strip("-.")[:100] or "document"
    return safe_stem + _UNSAFE.sub("", suffix)[:12].lower()


def staging_file(suffix: str) -> Path:
    """A new empty staging file for an upload in progress (same file system as the originals: rename is atomic)."""
    folder = originals_dir() / STAGING_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(dir=folder, prefix="upload-", suffix=_UNSAFE.sub("", suffix)[:12])
    os.close(handle)
    return Path(path)


def keep_original(user_id: str, name: str, staged: Path, sha256: str, content_type: str | None) -> StoredOriginal:
    """Move a fully received, readable upload into the user's originals (or refresh the copy already there).

    Args:
        user_id: who uploaded it (`server.auth.Identity.user_id`).
        name: the file's name as the user gave it.
        staged: the staging file holding the bytes (moved away, or deleted when the same file is kept already).
        sha256: the hex SHA-256 of those bytes.
        content_type: the MIME type the client declared, if any.

    Returns:
        The kept original; `created` is False when the user had uploaded the same bytes before.
    """
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 digest: {sha256!r}")
    folder = originals_dir() / user_key(user_id) / sha256
    existing = find_original(user_id, sha256)
    if existing is not None:
        staged.unlink(missing_ok=True)
        os.utime(folder / RECORD_NAME)  # retention counts from the latest upload of the same file
        return StoredOriginal(sha256, existing.name, existing.path, existing.size, created=False)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / stored_file_name(name)
    size = staged.stat().st_size
    os.replace(staged, target)
    record = {"name": name, "file": target.name, "sha256": sha256, "size": size, "content_type": content_type,
              "uploaded_at": time.time()}
    _write_atomically(folder / RECORD_NAME, json.dumps(record, ensure_ascii=False, indent=1))
    return StoredOriginal(sha256, name, target, size, created=True)


def find_original(user_id: str, sha256: str) -> StoredOriginal | None:
    """A user's kept original with this hash, or None (never another user's: the folder is the user's)."""
    if not _SHA256.fullmatch(sha256 or ""):
        return None
    record_path = originals_dir() / user_key(user_id) / sha256 / RECORD_NAME
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = record_path.parent / str(record.get("file", ""))
    if path.parent != record_path.parent or not path.is_file():
        return None
    return StoredOriginal(sha256, str(record.get("name", path.name)), path, path.stat().st_size, created=False)


def prune_originals(retention_days: float | None = None, now: float | None = None) -> list[Path]:
    """Delete the originals last uploaded more than `retention_days` ago, and dead staging files.

    Args:
        retention_days: defaults to RELAIS_DOCUMENT_RETENTION_DAYS.
        now: the current time (tests).

    Returns:
        The folders and files deleted.
    """
    root = originals_dir()
    now = time.time() if now is None else now
    limit = now - 86400 * (retention_days if retention_days is not None else get_settings().document_retention_days)
    removed: list[Path] = []
    for folder in root.glob("*/*"):
        if folder.parent.name == STAGING_FOLDER or not folder.is_dir():
            continue
        record = folder / RECORD_NAME
        stamp = record.stat().st_mtime if record.exists() else folder.stat().st_mtime
        if stamp < limit:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    for staged in (root / STAGING_FOLDER).glob("upload-*"):
        if staged.stat().st_mtime < now - STALE_STAGING_S:
            staged.unlink(missing_ok=True)
            removed.append(staged)
    return removed


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

"""The keys of the audit chain: HMAC-SHA256 with a secret the audit database never holds.

Someone who may write to the database can rewrite a record and recompute a plain sha256 chain;
without the key they cannot recompute an HMAC. Each record stores the id of the key that sealed it
(a fingerprint of the key, never the key), so a rotated trail still verifies: the current key comes
from RELAIS_AUDIT_KEY, retired ones from RELAIS_AUDIT_OLD_KEYS.

Without RELAIS_AUDIT_KEY, a single-machine trail (SQLite) uses a key generated once into
RELAIS_DATA_DIR/audit.key (mode 0600), with a warning: whoever can read that folder can forge
records, so production sets RELAIS_AUDIT_KEY from a secret store. A shared database (PostgreSQL)
is written by several replicas that must share one key: there, no key means no audited request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from relais.settings import Settings

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "audit.key"
MIN_KEY_CHARS = 32
_KEY_ID_LABEL = b"relais audit key id"


class AuditKeyError(RuntimeError):
    """No usable audit key: records cannot be sealed (or verified) until one is configured."""


@dataclass(frozen=True)
class AuditKey:
    """One key: its public id and its secret."""

    key_id: str
    secret: bytes = field(repr=False)
    origin: str = "RELAIS_AUDIT_KEY"

    @classmethod
    def from_text(cls, text: str, origin: str) -> AuditKey:
        """A key from its text form (any string of at least MIN_KEY_CHARS characters, e.g. 64 hex digits).

        Raises:
            AuditKeyError: the text is too short to be a secret.
        """
        text = text.strip()
        if len(text) < MIN_KEY_CHARS:
            raise AuditKeyError(f"the audit key from {origin} has {len(text)} characters; it needs at least "
                                f"{MIN_KEY_CHARS} (generate one with `openssl rand -hex 32`)")
        secret = text.encode("utf-8")
        return cls(key_id=key_id_of(secret), secret=secret, origin=origin)

    def seal(self, message: str) -> str:
        """The hex HMAC-SHA256 of a message under this key."""
        return hmac.new(self.secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


def key_id_of(secret: bytes) -> str:
    """A key's public id: a short HMAC of a fixed label, which tells keys apart and reveals nothing of them."""
    return "k" + hmac.new(secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeyring:
    """The key that seals new records, and every key (retired ones too) that verifies old ones."""

    current: AuditKey
    retired: tuple[AuditKey, ...] = ()

    @property
    def by_id(self) -> Mapping[str, AuditKey]:
        """Every known key by id."""
        return {key.key_id: key for key in (*self.retired, self.current)}


def key_file(settings: Settings) -> Path:
    """Where a generated key lives: RELAIS_DATA_DIR/audit.key."""
    return Path(settings.data_dir).resolve() / KEY_FILE_NAME


def load_keyring(settings: Settings, *, may_generate: bool) -> AuditKeyring | None:
    """The keys the settings name; a key file is generated only when `may_generate` and none is configured.

    Returns None when no key is configured and none may be generated.

    Raises:
        AuditKeyError: a configured key is too short, or the key file cannot be read or written.
    """
    retired = [AuditKey.from_text(old.get_secret_value(), "RELAIS_AUDIT_OLD_KEYS") for old in settings.audit_old_keys]
    path = key_file(settings)
    file_key = _read_key_file(path) if path.exists() else None
    if settings.audit_key is not None:
        current = AuditKey.from_text(settings.audit_key.get_secret_value(), "RELAIS_AUDIT_KEY")
        # A trail first sealed with the generated key keeps verifying once the key moves to the environment.
        retired += [file_key] if file_key is not None and file_key.key_id != current.key_id else []
        return AuditKeyring(current, tuple(key for key in retired if key.key_id != current.key_id))
    if file_key is not None:
        logger.warning("the audit chain is keyed with %s from %s, beside the data: whoever can read that folder "
                       "can forge records. Set RELAIS_AUDIT_KEY from a secret store in production (docs/audit.md).",
                       file_key.key_id, path)
    elif may_generate:
        file_key = _generate_key_file(path)
    else:
        return None
    return AuditKeyring(file_key, tuple(key for key in retired if key.key_id != file_key.key_id))


def _read_key_file(path: Path) -> AuditKey:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AuditKeyError(f"the audit key file {path} cannot be read: {error}") from error
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("the audit key file %s is readable by other users (mode %o): run `chmod 600 %s`",
                       path, stat.S_IMODE(mode), path)
    return AuditKey.from_text(text, f"key file {path}")


def _generate_key_file(path: Path) -> AuditKey:
    """Write a new random key with mode 0600; if another process won the race, use its key instead."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)  # atomic, and never replaces a key another process wrote first
        except FileExistsError:
            pass
    except OSError as error:
        raise AuditKeyError(f"no RELAIS_AUDIT_KEY is set and the key file {path} cannot be written: {error}") from error
    finally:
        draft.unlink(missing_ok=True)
    key = _read_key_file(path)
    logger.warning("no RELAIS_AUDIT_KEY is set: generated the audit key %s in %s (mode 0600). A key beside the "
                   "database protects less than one held elsewhere; see docs/audit.md.", key.key_id, path)
    return key

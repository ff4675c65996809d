"""Signed export links: a browser opens an export without an API key, and only until the link expires.

A link reads `/files/<id>/<name>?u=<user>&exp=<unix seconds>&sig=<signature>`. The signature is an
HMAC-SHA256 over the file id, the file name, the user the export was made for and the expiry, so
changing any of them (or forging a link without the key) is detected, and a link, whoever holds it,
stops working at `exp`. The key comes from `RELAIS_LINK_SECRET`; without it a random key is
generated once and kept in `RELAIS_DATA_DIR/link-secret` (mode 0600). Several replicas behind one
address must share the key through `RELAIS_LINK_SECRET`, or a link made by one is refused by another.
Changing the key revokes every link issued with the old one.

Until it expires a link is a bearer credential: a browser click carries no identity, so whoever holds
the link downloads the file. The user in it says whom it was issued to (the server logs it at each
download) and cannot be changed without breaking the signature; the expiry bounds how long a
forwarded or leaked link works.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from relais.settings import Settings, get_settings

SECRET_FILE = "link-secret"
MIN_SECRET_CHARS = 32  # 32 hex characters = 128 bits, the least an HMAC key should carry
MAX_USER_CHARS = 256
CLOCK_SKEW_S = 60  # a link dated a little ahead (another replica's clock) is still accepted
_VERSION = "relais-link-v1"  # part of every signed message: a future format cannot be confused with this one
_EXPIRY = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() would also take "١٢" or " 12"

# Where signing and checking read the time; tests replace it to move time instead of sleeping.
clock: Callable[[], float] = time.time


class LinkSecretError(RuntimeError):
    """The link key is missing, too short or readable by others; the message says how to fix it."""


class LinkRefused(Exception):
    """A download link that does not open its file: missing, malformed, forged, altered or expired."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LinkGrant:
    """What a valid link opens, and for whom it was issued."""

    file_id: str
    name: str
    user_id: str
    expires_at: int


@dataclass(frozen=True)
class LinkSigner:
    """Signs and checks export links with one key and one lifetime."""

    secret: bytes
    ttl_s: float
    now: Callable[[], float] = time.time

    def query(self, file_id: str, name: str, user_id: str) -> dict[str, str]:
        """The query parameters (`u`, `exp`, `sig`) that let `user_id`'s link open the file for `ttl_s`."""
        if not user_id or len(user_id) > MAX_USER_CHARS:
            raise ValueError(f"a link needs a user id of 1 to {MAX_USER_CHARS} characters")
        expires_at = int(self.now() + self.ttl_s)
        return {"u": user_id, "exp": str(expires_at), "sig": self.signature(file_id, name, user_id, expires_at)}

    def signature(self, file_id: str, name: str, user_id: str, expires_at: int) -> str:
        """The URL-safe HMAC-SHA256 of the link's fields."""
        # JSON keeps the fields apart whatever they contain, so no two links share a message.
        message = json.dumps([_VERSION, file_id, name, user_id, expires_at], separators=(",", ":"))
        digest = hmac.new(self.secret, message.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def verify(self, file_id: str, name: str, params: Mapping[str, str | None]) -> LinkGrant:
        """Check a link's query parameters against the file it names.

        Raises:
            LinkRefused: `link_incomplete`, `link_invalid` (forged or altered) or `link_expired`.
        """
        user_id, expiry, signature = params.get("u"), params.get("exp"), params.get("sig")
        if not user_id or not expiry or not signature:
            raise LinkRefused("This download link is incomplete: it needs its u, exp and sig parameters. "
                              "Copy the whole link from the answer.", "link_incomplete")
        if len(user_id) > MAX_USER_CHARS or not _EXPIRY.fullmatch(expiry):
            raise _invalid()
        expires_at = int(expiry)
        expected = self.signature(file_id, name, user_id, expires_at)
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
            raise _invalid()
        now = self.now()
        if now >= expires_at:
            raise LinkRefused("This download link has expired. Ask the assistant again for a new export.",
                              "link_expired")
        if expires_at > now + self.ttl_s + CLOCK_SKEW_S:
            # Issued under a longer lifetime than the one configured now: shortening the TTL shortens old links.
            raise LinkRefused("This download link outlives the link lifetime configured now. Ask the assistant "
                              "again for a new export.", "link_expired")
        return LinkGrant(file_id=file_id, name=name, user_id=user_id, expires_at=expires_at)


def _invalid() -> LinkRefused:
    return LinkRefused("This download link is not valid (altered or not issued by Relais). "
                       "Copy the whole link from the answer, or ask the assistant again.", "link_invalid")


def link_signer(settings: Settings | None = None) -> LinkSigner:
    """The signer for the current settings: their key and lifetime, and the module's `clock`."""
    settings = settings or get_settings()
    return LinkSigner(secret=link_secret(settings), ttl_s=settings.link_ttl_hours * 3600, now=lambda: clock())


def link_secret(settings: Settings) -> bytes:
    """The HMAC key: `RELAIS_LINK_SECRET`, else the key kept in the data folder (created on first use).

    Raises:
        LinkSecretError: the configured key is too short, or the stored one is unreadable or exposed.
    """
    configured = settings.link_secret.get_secret_value().strip() if settings.link_secret else ""
    if configured:
        if len(configured) < MIN_SECRET_CHARS:
            raise LinkSecretError(
                f"RELAIS_LINK_SECRET must be at least {MIN_SECRET_CHARS} characters; generate one with "
                "python -c 'import secrets; print(secrets.token_hex(32))'")
        return configured.encode("utf-8")
    return stored_secret(settings.data_dir / SECRET_FILE)


def stored_secret(path: Path) -> bytes:
    """The key kept at `path`, generated there (mode 0600) by the first process that needs one."""
    if not path.exists():
        _create_secret(path)
    return _read_secret(path)


def _create_secret(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".link-secret-")  # mkstemp creates it 0600
    try:
        with os.fdopen(handle, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
        try:
            # A hard link publishes the whole file at once and never replaces a key another process made first.
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)


def _read_secret(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise LinkSecretError(f"{path} holds the export-link key but other users may read it (mode {mode:o}): "
                              f"run chmod 600 {path}, or set RELAIS_LINK_SECRET.")
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise LinkSecretError(f"{path} holds no usable export-link key (empty or too short): delete it to have "
                              "a new one generated (links issued earlier stop working), or set RELAIS_LINK_SECRET.")
    return secret.encode("ascii")

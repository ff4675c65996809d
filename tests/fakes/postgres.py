"""A throw-away database on the PostgreSQL server the machine runs (127.0.0.1:5432, trust auth).

`RELAIS_TEST_POSTGRES_URL` names another server. No server means a FAILED test that says what to
start, never a skipped one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

SERVER_URL = os.environ.get("RELAIS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test").replace(
    "postgresql+psycopg://", "postgresql://")


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """Create a uniquely named database, yield its libpq URL (postgresql://…), drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {SERVER_URL}: start PostgreSQL on 127.0.0.1:5432 (trust auth, "
                    f"database `test`) or set RELAIS_TEST_POSTGRES_URL ({error})")
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        yield SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

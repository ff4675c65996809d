"""Exports kept in a real PostgreSQL database (RELAIS_DATABASE_URL): no replica's disk holds them.

Uses the server at RELAIS_TEST_POSTGRES_URL (default: 127.0.0.1:5432, trust auth, database `test`)
and a throw-away database per test, dropped afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psycopg
import pytest
from fastapi.testclient import TestClient

from relais.documents import RichDocument, export_docx
from relais.exports import DatabaseExportStore, ExportCorrupted, StoredExport, database_engine, export_store
from relais.settings import get_settings
from server.app import create_app
from tests.fakes.postgres import throwaway_database

pytestmark = pytest.mark.integration

SAMPLE = RichDocument(title="Nettoyage de la cuve C-12")


@pytest.fixture
def database_url(monkeypatch) -> Iterator[str]:
    """A fresh database on the running server; RELAIS_DATABASE_URL points at it."""
    with throwaway_database("relais_exports") as url:
        monkeypatch.setenv("RELAIS_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            yield url
        finally:
            database_engine(url).dispose()
            database_engine.cache_clear()


def test_an_export_is_kept_in_the_database_not_on_disk(database_url):
    exported = export_docx(SAMPLE, user_id="alice@example.org")
    assert exported.path is None
    assert not (get_settings().data_dir / "exports").exists()
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT user_id, name, media_type, sha256, length(content), expires_at - created_at"
                                 " FROM relais_exports WHERE file_id = %s", (exported.file_id,)).fetchone()
    assert row is not None
    user_id, name, media_type, sha256, size, lifetime = row
    assert (user_id, name, sha256) == ("alice@example.org", exported.name, exported.sha256)
    assert media_type.endswith("wordprocessingml.document") and size > 1000
    assert abs(lifetime.total_seconds() - get_settings().link_ttl_hours * 3600) < 5


def test_a_link_signed_by_one_app_downloads_from_another(database_url, monkeypatch):
    """Two apps with nothing in common but the database and the link key: what a second replica is."""
    monkeypatch.setenv("RELAIS_LINK_SECRET", "k" * 40)
    get_settings.cache_clear()
    exported = export_docx(SAMPLE, user_id="alice@example.org")
    monkeypatch.setenv("RELAIS_DATA_DIR", str(get_settings().data_dir.parent / "another-replica"))
    get_settings.cache_clear()
    url = urlsplit(exported.url)
    with TestClient(create_app()) as other_replica:
        response = other_replica.get(f"{url.path}?{url.query}")
    assert response.status_code == 200, response.text
    assert response.content[:2] == b"PK"
    assert response.headers["content-disposition"] == f'attachment; filename="{exported.name}"'
    assert response.headers["cache-control"] == "private, no-store"


def test_get_checks_the_recorded_sha256(database_url):
    store = export_store()
    assert isinstance(store, DatabaseExportStore)
    file_id = uuid.uuid4().hex
    store.put(StoredExport(file_id=file_id, name="a.xlsx", content=b"original", user_id="bob",
                           expires_at=time.time() + 60))
    assert store.get(file_id, "a.xlsx").content == b"original"
    with pytest.raises(FileNotFoundError):
        store.get(file_id, "b.xlsx")
    with pytest.raises(FileNotFoundError):
        store.get("../../etc", "passwd")
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE relais_exports SET content = 'altered'::bytea WHERE file_id = %s", (file_id,))
    with pytest.raises(ExportCorrupted, match="SHA-256"):
        store.get(file_id, "a.xlsx")


def test_prune_deletes_expired_exports_only(database_url):
    store = export_store()
    now = time.time()
    expired, current = uuid.uuid4().hex, uuid.uuid4().hex
    store.put(StoredExport(file_id=expired, name="a.docx", content=b"1", user_id="u", expires_at=now - 1))
    store.put(StoredExport(file_id=current, name="b.docx", content=b"2", user_id="u", expires_at=now + 3600))
    assert store.prune(now) == 1
    with pytest.raises(FileNotFoundError):
        store.get(expired, "a.docx")
    assert store.get(current, "b.docx").content == b"2"
    # A new export prunes first, so an expired file never outlives the next export.
    store.put(StoredExport(file_id=expired, name="a.docx", content=b"1", user_id="u", expires_at=now - 1))
    export_docx(SAMPLE, user_id="u")
    with pytest.raises(FileNotFoundError):
        store.get(expired, "a.docx")


def test_replicas_starting_at_once_create_the_table_once(database_url):
    """Eight engines (as many replicas starting together) race to create the table: none fails."""
    uncached = database_engine.__wrapped__  # a new engine each call, as each replica process has its own
    with ThreadPoolExecutor(8) as pool:
        engines = list(pool.map(lambda _: uncached(database_url), range(8)))
    for engine in engines:
        engine.dispose()
    with psycopg.connect(database_url) as connection:
        tables = connection.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'relais_exports'")
        assert tables.fetchone() == (1,)

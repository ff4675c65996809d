"""The export store on this machine's data folder (no RELAIS_DATABASE_URL): put, get, prune."""

from __future__ import annotations

import os
import time

import pytest

from relais.exports import FolderExportStore, StoredExport, export_store, media_type_of, sqlalchemy_url
from relais.settings import get_settings

FILE_ID = "0123456789abcdef0123456789abcdef"


def test_without_a_database_the_store_is_the_data_folder():
    store = export_store()
    assert isinstance(store, FolderExportStore)
    assert store.root == get_settings().data_dir / "exports"


def test_a_stored_export_reads_back_byte_for_byte(tmp_path):
    store = FolderExportStore(tmp_path / "exports", max_age_s=3600)
    path = store.put(StoredExport(file_id=FILE_ID, name="rapport.docx", content=b"PK\x03\x04 contenu", user_id="alice"))
    assert path == tmp_path / "exports" / FILE_ID / "rapport.docx"
    export = store.get(FILE_ID, "rapport.docx")
    assert export.content == b"PK\x03\x04 contenu"
    assert export.media_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    with pytest.raises(FileNotFoundError):
        store.get(FILE_ID, "autre.docx")


def test_an_id_is_never_reused(tmp_path):
    store = FolderExportStore(tmp_path, max_age_s=3600)
    store.put(StoredExport(file_id=FILE_ID, name="a.docx", content=b"1"))
    with pytest.raises(FileExistsError):
        store.put(StoredExport(file_id=FILE_ID, name="a.docx", content=b"2"))
    assert store.get(FILE_ID, "a.docx").content == b"1"


def test_prune_deletes_only_exports_older_than_the_link_lifetime(tmp_path):
    store = FolderExportStore(tmp_path, max_age_s=3600)
    old_id, new_id = "a" * 32, "b" * 32
    store.put(StoredExport(file_id=old_id, name="vieux.xlsx", content=b"old"))
    store.put(StoredExport(file_id=new_id, name="neuf.xlsx", content=b"new"))
    two_hours_ago = time.time() - 7200
    os.utime(tmp_path / old_id, (two_hours_ago, two_hours_ago))
    (tmp_path / "not-an-export").mkdir()  # anything else in the folder is left alone
    os.utime(tmp_path / "not-an-export", (two_hours_ago, two_hours_ago))
    assert store.prune() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [new_id, "not-an-export"]
    assert store.get(new_id, "neuf.xlsx").content == b"new"


def test_media_types_and_database_urls():
    assert media_type_of("tableau.xlsx") == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert media_type_of("inconnu.zzz") == "application/octet-stream"
    assert sqlalchemy_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValueError, match="PostgreSQL URL"):
        sqlalchemy_url("sqlite:///var/relais.db")

"""Shared knowledge for replicas: a real `chroma run` server, `relais ingest` as its own job, replicas that read.

The server is started once for the module (`chroma run` from chromadb, in this virtualenv). A collection
of contract clauses and one procedure is ingested by a separate `relais ingest` process; a "replica" (a
fresh `relais retrieve` process, or this process with fresh settings and no local data) must then find
exactly what an embedded ingest of the same documents finds, dense and BM25 alike, and follow a re-ingest.
Timings are printed (run with `-s` to see them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from relais.settings import get_settings
from retrievers.clauses import LIBRARY_FOLDER
from retrievers.index import ingest
from retrievers.search import CollectionNotFound, search
from retrievers.store import CollectionOutdated, chroma_client, chroma_collection, server_version
from tests.fakes.chroma import chroma_server as running_chroma
from tests.fakes.chroma import free_port
from tests.fakes.serving import ThreadedServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLAUSES = ["CONF-01.md", "CONF-02.md", "AUDIT-01.md", "AUDIT-02.md", "DROIT-01.md", "APPRO-01.md"]
QUESTIONS = ["obligation de confidentialité du sous-traitant", "droit d'audit du donneur d'ordre",
             "What law governs the contract?", "nettoyage des cuves de fabrication après chaque lot",
             "délai de préavis pour un audit sur site"]
PROCEDURE = """Procédure de nettoyage des cuves de fabrication

1. Objet
Cette procédure décrit le nettoyage des cuves de fabrication en acier inoxydable après chaque lot.

2. Responsabilités
Le chef d'atelier planifie le nettoyage ; l'opérateur l'exécute et l'enregistre dans le dossier de lot.

3. Déroulement
Rincer la cuve à l'eau purifiée, appliquer le détergent alcalin à 60 °C pendant 20 minutes, rincer
jusqu'à conductivité inférieure à 5 µS/cm, puis sécher à l'air filtré. Le contrôle visuel est consigné.
"""
REVISED = "Rincer la cuve puis la stériliser dans le lyophilisateur de la zone C, cycle validé VAL-214."


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real Chroma server on a free port, its data in a temporary folder; (host, port)."""
    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as address:
        yield address


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    folder = tmp_path / "documents"
    folder.mkdir()
    for name in CLAUSES:
        shutil.copy(LIBRARY_FOLDER / name, folder / name)
    (folder / "nettoyage.txt").write_text(PROCEDURE, encoding="utf-8")
    return folder


def _cli(args: list[str], *, expect: int = 0, **environment: str) -> subprocess.CompletedProcess[str]:
    """`relais ARGS` as its own process (this worktree's code, the `relais` entry point), with these settings."""
    entry_point = "import sys; from cli.main import main; sys.exit(main())"  # as the installed `relais` script
    completed = subprocess.run([sys.executable, "-c", entry_point, *args], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, **environment}, timeout=900, check=False)
    assert completed.returncode == expect, completed.stderr[-3000:]
    return completed


def _server_settings(chroma_server: tuple[str, int], data_dir: Path, embedding_cache: Path) -> dict[str, str]:
    host, port = chroma_server
    return {"RELAIS_CHROMA_HOST": host, "RELAIS_CHROMA_PORT": str(port), "RELAIS_DATA_DIR": str(data_dir),
            "RELAIS_EMBEDDING_CACHE_DIR": str(embedding_cache)}


def _use(monkeypatch: pytest.MonkeyPatch, **environment: str) -> None:
    """This process becomes an embedded instance or a replica: its own settings, nothing cached from before."""
    monkeypatch.delenv("RELAIS_CHROMA_HOST", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _results(hits) -> list[dict]:  # noqa: ANN001
    return [{"text": hit.text, "score": hit.score, "metadata": hit.metadata} for hit in hits]


def _assert_same(found: list[dict], wanted: list[dict], question: str) -> None:
    """The same passages, metadata (relevance and BM25 scores included) and fused scores, in the same order."""
    assert [hit["metadata"] for hit in found] == [hit["metadata"] for hit in wanted], question
    assert [hit["text"] for hit in found] == [hit["text"] for hit in wanted], question
    assert [hit["score"] for hit in found] == pytest.approx([hit["score"] for hit in wanted]), question


def _timing(label: str, seconds: float) -> None:
    print(f"\nTIMING {label}: {seconds:.2f} s (load average {Path('/proc/loadavg').read_text().split()[:3]})")


def _job_seconds(stderr: str) -> float:
    return float(re.search(r"\(([\d.]+) s\)", stderr).group(1))


def test_a_replica_process_finds_what_an_embedded_index_finds(chroma_server, documents: Path, tmp_path: Path,
                                                              embedding_cache: Path, monkeypatch: pytest.MonkeyPatch):
    _use(monkeypatch, RELAIS_DATA_DIR=str(tmp_path / "embedded"), RELAIS_EMBEDDING_CACHE_DIR=str(embedding_cache))
    embedded_report = ingest("contracts", documents)
    expected = [_results(search("contracts", question, k=4)) for question in QUESTIONS]
    _timing("embedded ingest (in process)", embedded_report.seconds)

    started = time.perf_counter()
    job = _cli(["ingest", "--collection", "contracts", "--source", str(documents), "--json"],
               **_server_settings(chroma_server, tmp_path / "ingest-job", embedding_cache))
    _timing("server ingest, `relais ingest` process", time.perf_counter() - started)
    _timing("server ingest, inside that process", _job_seconds(job.stderr))
    assert json.loads(job.stdout)["chunks_total"] == embedded_report.chunks_total

    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"id": n, "question": q}) + "\n" for n, q in enumerate(QUESTIONS)),
                         encoding="utf-8")
    replica_dir = tmp_path / "replica"
    replica = _cli(["retrieve", "--collection", "contracts", "--k", "4", "--input", str(questions)],
                   **_server_settings(chroma_server, replica_dir, embedding_cache))
    answers = [json.loads(line)["results"] for line in replica.stdout.splitlines()]
    assert len(answers) == len(QUESTIONS)
    for question, found, wanted in zip(QUESTIONS, answers, expected, strict=True):
        _assert_same(found, wanted, question)
    assert any(hit["metadata"]["lexical"] for found in answers for hit in found)  # BM25 took part
    assert not replica_dir.exists() or not any(replica_dir.rglob("*"))  # a replica keeps nothing on disk


def test_a_replica_follows_a_reingest_and_never_serves_the_old_corpus(chroma_server, documents: Path, tmp_path: Path,
                                                                       embedding_cache: Path,
                                                                       monkeypatch: pytest.MonkeyPatch):
    server = _server_settings(chroma_server, tmp_path / "ingest-job", embedding_cache)
    _cli(["ingest", "--collection", "procedures", "--source", str(documents)], **server)
    _use(monkeypatch, **_server_settings(chroma_server, tmp_path / "replica", embedding_cache))
    first_version = server_version("procedures")
    started = time.perf_counter()
    before = search("procedures", "détergent alcalin conductivité", k=3)
    _timing("first search on a fresh replica (corpus read + BM25 rebuild)", time.perf_counter() - started)
    started = time.perf_counter()
    search("procedures", "détergent alcalin conductivité", k=3)
    _timing("next search on that replica (version check only)", time.perf_counter() - started)
    assert "détergent alcalin" in before[0].text and before[0].metadata["lexical"]

    procedure = documents / "nettoyage.txt"
    procedure.write_text(PROCEDURE.replace(PROCEDURE.split("\n\n")[-1], "3. Déroulement\n" + REVISED), encoding="utf-8")
    reingest = _cli(["ingest", "--collection", "procedures", "--source", str(documents), "--json"], **server)
    assert json.loads(reingest.stdout)["updated"] == ["nettoyage.txt"]
    assert server_version("procedures") != first_version

    after = search("procedures", "lyophilisateur cycle validé", k=3)
    assert REVISED in after[0].text and after[0].metadata["lexical"]  # BM25 knows the new words
    stale = search("procedures", "détergent alcalin conductivité", k=8)
    assert not any("détergent alcalin" in hit.text for hit in stale)  # and has forgotten the old ones

    _use(monkeypatch, RELAIS_DATA_DIR=str(tmp_path / "embedded"), RELAIS_EMBEDDING_CACHE_DIR=str(embedding_cache))
    procedure.write_text(PROCEDURE, encoding="utf-8")
    ingest("procedures", documents)
    procedure.write_text(PROCEDURE.replace(PROCEDURE.split("\n\n")[-1], "3. Déroulement\n" + REVISED), encoding="utf-8")
    ingest("procedures", documents)  # the same history as the server's: the corpus order matches too
    embedded = search("procedures", "lyophilisateur cycle validé", k=3)
    _assert_same(_results(after), _results(embedded), "after the re-ingest")


def test_replicas_only_read_the_server(chroma_server, documents: Path, tmp_path: Path, embedding_cache: Path,
                                       monkeypatch: pytest.MonkeyPatch):
    _use(monkeypatch, **_server_settings(chroma_server, tmp_path / "replica", embedding_cache))
    with pytest.raises(CollectionNotFound, match="relais ingest --collection ghost"):
        search("ghost", "confidentialité")
    assert "relais-ghost" not in {collection.name for collection in chroma_client().list_collections()}

    view = chroma_collection("ghost-2", create=True)  # an ingest that has written vectors but not finished
    view.upsert(ids=["a"], embeddings=[[0.1] * 384], documents=["x"], metadatas=[{"chunk_id": "a", "window": 0}])
    with pytest.raises(CollectionNotFound):
        search("ghost-2", "confidentialité")  # no published version: not served half-built

    _cli(["ingest", "--collection", "readonly", "--source", str(documents)],
         **_server_settings(chroma_server, tmp_path / "ingest-job", embedding_cache))
    read_only = chroma_collection("readonly", create=False)
    for write in ("add", "upsert", "update", "delete", "modify"):
        assert not hasattr(read_only, write), write
    count, version = read_only.count(), server_version("readonly")
    search("readonly", "droit d'audit", k=3)
    assert (read_only.count(), server_version("readonly")) == (count, version)


def test_an_unreachable_server_is_named_with_what_to_start(documents: Path, tmp_path: Path, embedding_cache: Path):
    settings = _server_settings(("127.0.0.1", free_port()), tmp_path / "job", embedding_cache)
    failed = _cli(["ingest", "--collection", "contracts", "--source", str(documents)], expect=2, **settings)
    assert "cannot reach the Chroma server at 127.0.0.1:" in failed.stderr and "chroma run" in failed.stderr
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": 1, "question": "audit"}) + "\n", encoding="utf-8")
    failed = _cli(["retrieve", "--collection", "contracts", "--input", str(questions)], expect=2, **settings)
    assert "cannot reach the Chroma server" in failed.stderr and "Traceback" not in failed.stderr


class ReadOnlyGate:
    """An ASGI proxy in front of the Chroma server: forwards reads, refuses (403) and records anything else.

    Reads are GETs and the two POSTs that only read (`…/get`, `…/query`); adding, upserting, deleting,
    creating or modifying a collection is refused. A replica behind it must work and be refused nothing.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.forwarded: list[str] = []
        self.refused: list[str] = []

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        request = f"{scope['method']} {scope['path']}"
        if not (scope["method"] == "GET" or scope["path"].endswith(("/get", "/query"))):
            self.refused.append(request)
            await send({"type": "http.response.start", "status": 403, "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        self.forwarded.append(request)
        headers = {key.decode(): value.decode() for key, value in scope["headers"]
                   if key.decode().lower() not in ("host", "content-length")}
        async with httpx.AsyncClient() as client:
            response = await client.request(scope["method"], self.upstream + scope["path"], headers=headers,
                                            params=scope["query_string"].decode(), content=body)
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": [(b"content-type", response.headers.get("content-type", "application/json").encode()),
                                (b"content-length", str(len(response.content)).encode())]})
        await send({"type": "http.response.body", "body": response.content})


def test_a_replica_searches_and_follows_a_reingest_through_a_gate_that_refuses_writes(
        chroma_server, documents: Path, tmp_path: Path, embedding_cache: Path, monkeypatch: pytest.MonkeyPatch):
    host, port = chroma_server
    server = _server_settings(chroma_server, tmp_path / "ingest-job", embedding_cache)
    _cli(["ingest", "--collection", "gated", "--source", str(documents)], **server)
    gate = ReadOnlyGate(f"http://{host}:{port}")
    with ThreadedServer(gate) as gated:
        _use(monkeypatch, **_server_settings((host, gated.port), tmp_path / "replica", embedding_cache))
        assert "confidentialité" in search("gated", "obligation de confidentialité", k=2)[0].text
        with pytest.raises(CollectionNotFound):
            search("never-ingested", "audit")
        (documents / "nettoyage.txt").write_text(PROCEDURE + "\n4. Archivage\n" + REVISED, encoding="utf-8")
        _cli(["ingest", "--collection", "gated", "--source", str(documents)], **server)  # straight to the server
        assert REVISED in search("gated", "lyophilisateur cycle validé", k=2)[0].text
        assert gate.refused == []  # the replica never tried to write
        assert any(request.endswith("/query") for request in gate.forwarded)  # it did search through the gate
        assert sum(request.endswith("/get") for request in gate.forwarded) >= 2  # corpus read, then read again
        with pytest.raises(Exception):  # noqa: B017 - chromadb's error type for a 403 varies; the gate records it
            chroma_collection("gated", create=True).upsert(ids=["x"], embeddings=[[0.0] * 384])
        assert gate.refused  # so a write from the search path would have shown above


def test_a_collection_ingested_without_its_chunk_text_asks_for_a_new_ingest(chroma_server, tmp_path: Path,
                                                                             embedding_cache: Path,
                                                                             monkeypatch: pytest.MonkeyPatch):
    _use(monkeypatch, **_server_settings(chroma_server, tmp_path / "replica", embedding_cache))
    old = chroma_collection("before-upgrade", create=True)  # as an older `relais ingest` left it
    old.upsert(ids=["c1"], embeddings=[[0.1] * 384], documents=["x"], metadatas=[{"chunk_id": "c1", "window": 0}])
    old.modify(metadata={"relais_version": "an-old-one"})
    with pytest.raises(CollectionOutdated, match="relais ingest --collection before-upgrade"):
        search("before-upgrade", "audit")

"""Two Relais replicas behind a real nginx, sharing PostgreSQL and Redis: any replica answers any request.

Real engines: PostgreSQL at RELAIS_TEST_POSTGRES_URL (default 127.0.0.1:5432, trust auth; a
throw-away database per run, dropped afterwards) for the threads' checkpoints, the audit trail and
the exports; Redis at 127.0.0.1:6379 for the rate limit; nginx (`make e2e-deps`) with
deploy/nginx/relais.conf. The replicas are `relais serve` processes with their own data folders and
the fake Mistral server as their model, so answers are deterministic and fast.

To force a step onto one replica the test calls that replica directly; everything else goes
through nginx, as Open WebUI would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import jwt
import psycopg
import pytest
import redis

from relais.guard import tagger
from retrievers.clauses import CLAUSES_COLLECTION, LIBRARY_FOLDER
from tests.fakes.chroma import chroma_server
from tests.fakes.mistral_server import FakeModelServer, Reply
from tests.fakes.postgres import throwaway_database
from tests.fakes.replicas import ROOT, ClusterError, ReplicaCluster
from tests.integration.test_export_links import DRAFT, NOTES  # one SOP draft for the export tests

pytestmark = pytest.mark.e2e

REDIS_URL = "redis://127.0.0.1:6379/0"
API_KEY = "replicas-e2e-key"
JWT_SECRET = "replicas-e2e-openwebui-jwt-secret-2026"
RATE_LIMIT = 6  # per user and minute, counted in Redis for both replicas


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A throw-away database on the running PostgreSQL server (postgresql://... URL)."""
    with throwaway_database("relais_replicas") as url:
        yield url


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is needed at {REDIS_URL} ({error}): start it with "
                    "redis-server --daemonize yes --bind 127.0.0.1 --port 6379")
    prefix = f"relais-replicas-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def model() -> Iterator[FakeModelServer]:
    with FakeModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory, embedding_cache) -> Iterator[dict[str, str]]:  # noqa: ANN001
    """A Chroma server holding the clause library, written by its own `relais ingest` job (replicas only read)."""
    with chroma_server(tmp_path_factory.mktemp("chroma")) as (host, port):
        settings = {"RELAIS_CHROMA_HOST": host, "RELAIS_CHROMA_PORT": str(port)}
        job_env = {**os.environ, **settings, "RELAIS_DATA_DIR": str(tmp_path_factory.mktemp("ingest-job")),
                   "RELAIS_EMBEDDING_CACHE_DIR": str(embedding_cache)}
        job = subprocess.run([sys.executable, "-m", "cli", "ingest", "--collection", CLAUSES_COLLECTION,
                              "--source", str(LIBRARY_FOLDER)], cwd=ROOT, env=job_env, capture_output=True,
                             text=True, timeout=900, check=False)
        assert job.returncode == 0, job.stderr[-2000:]
        yield settings


@pytest.fixture(scope="module")
def trained_models(embedding_cache) -> str:  # noqa: ANN001
    """The guard's tagger trained once by `relais guard prepare`, before the replicas start, in the cache they share.

    Each replica warms its guard at start-up, but training takes one to two minutes on 2 cores: two replicas training
    at once on a loaded CI machine kept the first guarded request waiting past its timeout. A deployment runs the
    command once per release against the replicas' cache (deploy/README.md); so does this fixture.
    """
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("RELAIS_", "MISTRAL_"))}
    env = {**inherited, "RELAIS_EMBEDDING_CACHE_DIR": str(embedding_cache), "HF_HUB_OFFLINE": "1"}
    prepared = subprocess.run([sys.executable, "-m", "cli", "guard", "prepare"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600, check=False)
    assert prepared.returncode == 0 and "guard tagger ready" in prepared.stdout, prepared.stderr[-2000:]
    assert tagger.model_path(tagger.TRAINING_SETS, cache=tagger.cache_dir(embedding_cache)).is_file()
    return str(embedding_cache)


@pytest.fixture(scope="module")
def shared_env(database: str, redis_prefix: str, model: FakeModelServer, knowledge: dict[str, str],
               trained_models: str) -> dict[str, str]:
    """What every replica is given: the same engines (Chroma included), the same secrets, the trained tagger."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("RELAIS_", "MISTRAL_"))}
    return {
        "RELAIS_EMBEDDING_CACHE_DIR": trained_models,
        **inherited,
        "HF_HUB_OFFLINE": "1", "LANGSMITH_TRACING": "false",
        "MISTRAL_API_KEY": "replicas-e2e", "MISTRAL_BASE_URL": model.base_url,
        "RELAIS_DATABASE_URL": database,
        "RELAIS_AUDIT_URL": database.replace("postgresql://", "postgresql+psycopg://"),
        "RELAIS_AUDIT_KEY": "replicas-e2e-audit-key-0123456789abcdef",
        "RELAIS_REDIS_URL": REDIS_URL, "RELAIS_REDIS_KEY_PREFIX": redis_prefix,
        "RELAIS_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "RELAIS_LINK_SECRET": "replicas-e2e-link-secret-0123456789abcdef",
        "RELAIS_API_KEYS": API_KEY, "RELAIS_OPENWEBUI_JWT_SECRET": JWT_SECRET,
        **knowledge,
    }


@pytest.fixture(scope="module")
def cluster(shared_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaCluster]:
    workdir = tmp_path_factory.mktemp("replicas")
    try:
        replicas = ReplicaCluster(dict(shared_env), workdir, replicas=2)
        replicas.env["RELAIS_PUBLIC_URL"] = replicas.url  # links are opened through the proxy
        with replicas:
            yield replicas
    except ClusterError as error:
        pytest.fail(str(error))


@pytest.fixture
def running(cluster: ReplicaCluster, model: FakeModelServer) -> ReplicaCluster:
    """Both replicas up (a test that killed one leaves it dead) and the model with nothing queued."""
    cluster.revive()
    model.reset()
    return cluster


def as_user(user_id: str, chat_id: str | None = None) -> dict[str, str]:
    """The headers Open WebUI sends for `user_id` (the signed forwarded-user JWT) in chat `chat_id`."""
    token = jwt.encode({"sub": user_id, "iss": "open-webui", "exp": int(time.time()) + 600}, JWT_SECRET,
                       algorithm="HS256")
    headers = {"Authorization": f"Bearer {API_KEY}", "X-OpenWebUI-User-Jwt": token}
    if chat_id:
        headers["X-OpenWebUI-Chat-Id"] = chat_id
    return headers


def chat(base: str, headers: dict[str, str], messages: list[dict[str, str]], model_id: str = "relais-general",
         timeout: float = 60) -> httpx.Response:
    return httpx.post(f"{base}/v1/chat/completions", headers=headers, timeout=timeout,
                      json={"model": model_id, "messages": messages})


def answer_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def audit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`relais audit ...` with the replicas' audit settings, as an operator runs it."""
    return subprocess.run([sys.executable, "-m", "cli", "audit", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_an_approval_paused_on_one_replica_is_given_on_the_other_and_its_export_opens_anywhere(
        running: ReplicaCluster, model: FakeModelServer):
    replica_a, replica_b = running.replica_urls
    chat_id = f"chat-{uuid.uuid4().hex[:8]}"
    model.queue(Reply.structured_output(DRAFT))
    first = [{"role": "user", "content": NOTES}]
    shown = answer_of(chat(replica_b, as_user("alice", chat_id), first, "relais-procedures"))
    assert "Vidanger puis rincer la cuve" in shown and "valid" in shown.lower()  # the draft, waiting for approval

    # Replica A never saw this chat: only the checkpoint in PostgreSQL tells it an approval is pending.
    second = [*first, {"role": "assistant", "content": shown}, {"role": "user", "content": "valider"}]
    exported = answer_of(chat(replica_a, as_user("alice", chat_id), second, "relais-procedures"))
    assert len(model.chat_requests) == 1, "the approval must resume the paused run, not draft again"
    link = exported.rsplit("](", 1)[1].rstrip(")")
    assert link.startswith(f"{running.url}/files/"), exported
    split = urlsplit(link)

    # Made on A, opened on B (no credential: a browser click), and through nginx.
    for base in (replica_b, running.url):
        download = httpx.get(f"{base}{split.path}?{split.query}", timeout=30)
        assert download.status_code == 200, download.text
        assert download.content[:2] == b"PK" and "no-store" in download.headers["cache-control"]
    for index in (0, 1):
        assert not (running.workdir / f"replica-{index}" / "exports").exists(), "an export landed on a replica's disk"


def test_a_plain_chat_continues_on_the_other_replica_with_its_thread(running: ReplicaCluster, database: str):
    replica_a, replica_b = running.replica_urls
    chat_id = f"chat-{uuid.uuid4().hex[:8]}"
    first = [{"role": "user", "content": "Premier message sur A."}]
    reply = answer_of(chat(replica_a, as_user("bob", chat_id), first))
    first_turn_end = _checkpoints(database, chat_id)[-1]
    second = [*first, {"role": "assistant", "content": reply}, {"role": "user", "content": "Suite sur B."}]
    answer_of(chat(replica_b, as_user("bob", chat_id), second))
    checkpoints = _checkpoints(database, chat_id)
    assert len({thread for thread, _, _ in checkpoints}) == 1, "both turns must land on one thread"
    # B went on from where A ended (a replica that did not see A's turn would branch from the first checkpoint).
    assert any(parent == first_turn_end[1] for _, _, parent in checkpoints), checkpoints


def _checkpoints(database: str, chat_id: str) -> list[tuple[str, str, str | None]]:
    """(thread, checkpoint, parent) of a chat's top-level checkpoints, oldest first (their ids are time-ordered)."""
    with psycopg.connect(database) as connection:
        return connection.execute(
            "SELECT thread_id, checkpoint_id, parent_checkpoint_id FROM checkpoints WHERE checkpoint_ns = '' "
            "AND metadata->>'relais_chat_id' = %s ORDER BY checkpoint_id", (chat_id,)).fetchall()


def test_the_rate_limit_holds_across_replicas(running: ReplicaCluster):
    replica_a, replica_b = running.replica_urls
    user = as_user(f"carol-{uuid.uuid4().hex[:6]}")
    message = [{"role": "user", "content": "Bonjour"}]
    allowed = [chat(base, user, message).status_code for base in [replica_a, replica_b] * (RATE_LIMIT // 2)]
    assert allowed == [200] * RATE_LIMIT
    refused = [chat(base, user, message) for base in (replica_a, replica_b, running.url)]
    assert [response.status_code for response in refused] == [429, 429, 429]
    assert refused[0].json()["error"]["code"] == "rate_limit_exceeded"
    assert chat(running.url, as_user("dave"), message).status_code == 200  # another user, their own quota


def test_a_replica_killed_mid_stream_leaves_the_audit_valid_and_the_other_answering(
        running: ReplicaCluster, model: FakeModelServer, shared_env: dict[str, str]):
    replica_a, _ = running.replica_urls
    before = [answer_of(chat(running.url, as_user("erin"), [{"role": "user", "content": f"Question {n}"}]))
              for n in range(2)]
    assert before == ["echo: Question 0", "echo: Question 1"]  # the fake model echoes
    model.token_latency_ms = 100  # 60 words: a stream of about six seconds
    long_question = " ".join(f"mot{n}" for n in range(60))
    body = {"model": "relais-general", "stream": True, "messages": [{"role": "user", "content": long_question}]}
    received = []
    with httpx.stream("POST", f"{replica_a}/v1/chat/completions", headers=as_user("erin"), json=body,
                      timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                received.append(line)
            if len(received) >= 3:
                running.kill(0)
                break
    assert not running.alive(0) and len(received) == 3
    model.token_latency_ms = 0

    verified = audit(shared_env, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    tail = audit(shared_env, "tail", "--n", "50")
    assert tail.returncode == 0, tail.stderr
    assert len([line for line in tail.stdout.splitlines() if '"erin"' in line]) >= 2, "committed records lost"

    # nginx skips the dead replica: every request still gets its answer.
    after = [chat(running.url, as_user("frank"), [{"role": "user", "content": f"Encore {n}"}]) for n in range(4)]
    assert [answer_of(response) for response in after] == [f"echo: Encore {n}" for n in range(4)]
    assert "Traceback" not in running.log(1)



def test_both_replicas_answer_from_the_clause_library_on_the_chroma_server(running: ReplicaCluster,
                                                                           model: FakeModelServer):
    """Neither replica holds an index: the clauses each one cites come from the shared Chroma server."""
    request = [{"role": "user", "content": "Rédige une clause de confidentialité pour un contrat de sous-traitance."}]
    for index, replica in enumerate(running.replica_urls):
        clause = {"title": "Confidentialité", "based_on": ["CONF-01"],
                  "clause_text": "1. Les parties gardent confidentielles les informations échangées."}
        model.queue(Reply.structured_output(clause))
        # the first request of a replica loads the guard and the embedding model: slow on a busy machine
        response = chat(replica, as_user(f"juriste-{index}"), request, "relais-contract-clauses", timeout=180)
        answer_of(response)
        cited = {source["metadata"].get("clause_id") or source["title"] for source in response.json()["sources"]}
        assert any("CONF-01" in str(name) for name in cited), cited
        assert not (running.workdir / f"replica-{index}" / "chroma").exists(), "a replica built a local index"

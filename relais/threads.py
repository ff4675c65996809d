"""Conversation threads: where their checkpoints are kept, how they are named, listed and pruned.

Each Open WebUI chat is a LangGraph thread. Its checkpoints live in SQLite under `RELAIS_DATA_DIR`
(langgraph-checkpoint-sqlite), or in PostgreSQL when `RELAIS_DATABASE_URL` is set
(langgraph-checkpoint-postgres): `open_checkpointer` is the one place that chooses, so every
caller (the server, Studio, `relais threads`) reads and writes the same threads.

A thread id is made by the server from the authenticated user and the chat id, never taken from a
client: `thread_id_for(user, chat)` hashes both, so two users' chats can never share a thread and
knowing another user's chat id opens nothing. Who and which chat are kept in each checkpoint's
metadata for the admin commands; permissions never are (they travel in the run's context).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

from relais.settings import Settings, get_settings

STATELESS_CHAT_PREFIX = "local:"  # Open WebUI's temporary chats: never kept
USER_KEY, CHAT_KEY, MESSAGE_KEY = "relais_user_id", "relais_chat_id", "relais_message_id"  # checkpoint metadata
SQLITE_FILE = "threads.sqlite"
CHECKPOINT_SETUP_LOCK = 0x52454C434B50  # "RELCKP": the advisory lock replicas take to set up the checkpoint tables
THREAD_NAMESPACE = uuid.UUID("5c3f0f0e-7d1b-4c7e-9a52-2f0e6b1c9d41")  # Relais's own: ids differ from other apps'


def is_stateless_chat(chat_id: str | None) -> bool:
    """Whether a request runs without a thread: no chat id, or one of Open WebUI's temporary chats."""
    return not chat_id or not chat_id.strip() or chat_id.startswith(STATELESS_CHAT_PREFIX)


def thread_id_for(user_id: str, chat_id: str) -> str:
    """The thread of one user's chat: a UUID derived from both (UUID5, SHA-1 based).

    Derived, not looked up: the server computes it from the authenticated user on every request,
    so a chat id sent by another user gives another thread. A UUID because the LangGraph API
    (`langgraph dev`, Studio) only accepts UUID thread ids, and this way it opens the same threads.
    """
    return str(uuid.uuid5(THREAD_NAMESPACE, f"{user_id}\x00{chat_id.strip()}"))


def thread_metadata(user_id: str, chat_id: str, message_id: str | None = None) -> dict[str, str]:
    """What a run on a thread records in its checkpoints' metadata (for `relais threads` and branching)."""
    metadata = {USER_KEY: user_id, CHAT_KEY: chat_id}
    if message_id:
        metadata[MESSAGE_KEY] = message_id
    return metadata


class ThreadedSaver(BaseCheckpointSaver):
    """A blocking LangGraph saver whose async methods run it in a worker thread.

    The library's async savers bind their connection to the event loop that opened them; Relais
    serves from uvicorn's loop, tests from one loop per client, the CLI from none. The blocking
    savers (SQLite with `check_same_thread=False`, PostgreSQL through a connection pool) are safe
    across threads and take their own lock, so one saver serves every caller.
    """

    def __init__(self, inner: BaseCheckpointSaver) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint `config` names (the thread's latest without a checkpoint id)."""
        return self.inner.get_tuple(config)

    def list(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,  # noqa: A002
             before: RunnableConfig | None = None, limit: int | None = None) -> Iterator[CheckpointTuple]:
        """Checkpoints, newest first (of one thread, or of all when `config` is None)."""
        return self.inner.list(config, filter=filter, before=before, limit=limit)

    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        """Store a checkpoint."""
        return self.inner.put(config, checkpoint, metadata, new_versions)

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                   task_path: str = "") -> None:
        """Store a task's pending writes."""
        self.inner.put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of a thread."""
        self.inner.delete_thread(thread_id)

    def get_next_version(self, current: Any, channel: None = None) -> Any:
        """The inner saver's channel versioning (SQLite and PostgreSQL differ)."""
        return self.inner.get_next_version(current, channel)

    def get_delta_channel_history(self, *, config: RunnableConfig, channels: Sequence[str]) -> Any:
        """The inner saver's fast path for delta channels."""
        return self.inner.get_delta_channel_history(config=config, channels=channels)

    async def aget_delta_channel_history(self, *, config: RunnableConfig, channels: Sequence[str]) -> Any:
        """`get_delta_channel_history` in a worker thread."""
        return await asyncio.to_thread(partial(self.inner.get_delta_channel_history, config=config,
                                               channels=channels))

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """`get_tuple` in a worker thread."""
        return await asyncio.to_thread(self.inner.get_tuple, config)

    async def alist(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,  # noqa: A002
                    before: RunnableConfig | None = None, limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        """`list` in a worker thread (read whole: callers ask for one thread's history)."""
        found = await asyncio.to_thread(lambda: list(self.inner.list(config, filter=filter, before=before,
                                                                     limit=limit)))
        for item in found:
            yield item

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: ChannelVersions) -> RunnableConfig:
        """`put` in a worker thread."""
        return await asyncio.to_thread(self.inner.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        """`put_writes` in a worker thread."""
        await asyncio.to_thread(self.inner.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """`delete_thread` in a worker thread."""
        await asyncio.to_thread(self.inner.delete_thread, thread_id)


def open_checkpointer(settings: Settings | None = None) -> ThreadedSaver:
    """The saver the settings name: PostgreSQL for `RELAIS_DATABASE_URL`, else SQLite in the data folder.

    Raises:
        ValueError: `RELAIS_DATABASE_URL` is not a PostgreSQL URL.
    """
    settings = settings or get_settings()
    if settings.database_url is not None:
        return ThreadedSaver(_postgres_saver(settings.database_url.get_secret_value()))
    return ThreadedSaver(_sqlite_saver(settings.data_dir / SQLITE_FILE))


def _sqlite_saver(path: Any) -> BaseCheckpointSaver:
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    # One connection shared by the worker threads: SqliteSaver serialises its use with a lock.
    connection = sqlite3.connect(str(path), check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")  # the CLI can read while the server writes
    saver = SqliteSaver(connection)
    saver.setup()
    return saver


def _postgres_saver(url: str) -> BaseCheckpointSaver:
    url = url.replace("postgresql+psycopg://", "postgresql://", 1)  # SQLAlchemy's form (deploy/) is libpq's here
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError("RELAIS_DATABASE_URL must be a PostgreSQL URL (postgresql://user@host:5432/db)")
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    # The saver's queries need autocommit and rows as dicts (its documented connection settings).
    pool = ConnectionPool(url, kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
                          open=True)
    saver = PostgresSaver(pool)  # type: ignore[arg-type]
    _setup_once(saver, url)
    return saver


def _setup_once(saver: BaseCheckpointSaver, url: str, timeout_s: float = 120.0) -> None:
    """Run the saver's migrations with no other replica running them: its `setup()` takes no lock.

    Two replicas starting together on a new database would deadlock or insert one version twice.
    A session advisory lock, taken by polling `pg_try_advisory_lock` between short statements: a
    statement blocked on the lock would hold a snapshot that setup's CREATE INDEX CONCURRENTLY
    waits for. Closing the connection (or the process dying) releases the lock.

    Raises:
        TimeoutError: another replica held the lock for `timeout_s` seconds.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as lock:
        deadline = time.monotonic() + timeout_s
        while not lock.execute("SELECT pg_try_advisory_lock(%s)", (CHECKPOINT_SETUP_LOCK,)).fetchone()[0]:  # type: ignore[index]
            if time.monotonic() > deadline:
                raise TimeoutError(f"another replica has been setting up the checkpoint tables for {timeout_s:.0f} s")
            time.sleep(0.1)
        saver.setup()  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ThreadSummary:
    """One thread as `relais threads list` shows it."""

    thread_id: str
    user_id: str
    chat_id: str
    updated: datetime
    checkpoints: int


def list_threads(saver: BaseCheckpointSaver) -> list[ThreadSummary]:
    """Every thread, most recently updated first (top-level checkpoints only: subgraphs share the thread)."""
    found: dict[str, dict[str, Any]] = {}
    for item in saver.list(None):
        if item.config["configurable"].get("checkpoint_ns"):
            continue
        thread_id = item.config["configurable"]["thread_id"]
        entry = found.setdefault(thread_id, {"count": 0, "updated": _when(item), "metadata": item.metadata})
        entry["count"] += 1
        if _when(item) > entry["updated"]:
            entry["updated"], entry["metadata"] = _when(item), item.metadata
    summaries = [ThreadSummary(thread_id, str(entry["metadata"].get(USER_KEY, "?")),
                               str(entry["metadata"].get(CHAT_KEY, "?")), entry["updated"], entry["count"])
                 for thread_id, entry in found.items()]
    return sorted(summaries, key=lambda summary: summary.updated, reverse=True)


def prune_threads(saver: BaseCheckpointSaver, older_than_days: float, *,
                  now: datetime | None = None) -> list[ThreadSummary]:
    """Delete the threads not updated for `older_than_days` days; returns what was deleted.

    Raises:
        ValueError: a negative number of days.
    """
    stale = stale_threads(list_threads(saver), older_than_days, now=now)
    for summary in stale:
        saver.delete_thread(summary.thread_id)
    return stale


def stale_threads(summaries: list[ThreadSummary], older_than_days: float, *,
                  now: datetime | None = None) -> list[ThreadSummary]:
    """The threads of `summaries` not updated for `older_than_days` days.

    Raises:
        ValueError: a negative number of days.
    """
    if older_than_days < 0:
        raise ValueError("the retention must be zero or more days")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    return [summary for summary in summaries if summary.updated < cutoff]


def _when(item: CheckpointTuple) -> datetime:
    return datetime.fromisoformat(item.checkpoint["ts"])

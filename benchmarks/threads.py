"""What a conversation thread costs: checkpoint reads and writes per turn, and a thread's size on disk.

Runs the supervisor (agent `general`, the scripted fake model answering at once, so the figures are
the checkpointer's) over `--threads` chats of `--turns` turns each, as the server does: plan the
turn on the thread (`server.threads.plan_turn`), then run it. Every call to the saver is timed.

Per turn: read (get_tuple/list: planning the turn and loading the checkpoint), write (put and
put_writes: one checkpoint per step, subgraph steps included), and the whole turn; p50 / p95
over all turns. Then the SQLite file holding one thread of `--turns` turns (WAL folded in).

Usage: python benchmarks/threads.py [--threads 5] [--turns 20] [--answer-chars 1500]
Prints figures with the load average; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from relais.threads import ThreadedSaver  # noqa: E402

QUESTION = ("Pouvez-vous résumer les exigences de nettoyage entre deux lots pour la cuve C-12, en tenant compte "
            "des produits sensibilisants et du temps d'attente maximal avant nettoyage ? ")


class TimedSaver(ThreadedSaver):
    """The server's saver, with the time of every blocking call added up per kind."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.spent: dict[str, float] = defaultdict(float)

    def _timed(self, kind: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.spent[kind] += time.perf_counter() - started

    def get_tuple(self, config):  # noqa: ANN001, ANN201, D102
        return self._timed("read", self.inner.get_tuple, config)

    def list(self, config, **kwargs):  # noqa: ANN001, ANN003, ANN201, D102
        return iter(self._timed("read", lambda: list(self.inner.list(config, **kwargs))))

    def put(self, *args):  # noqa: ANN002, ANN201, D102
        return self._timed("write", self.inner.put, *args)

    def put_writes(self, *args):  # noqa: ANN002, ANN201, D102
        return self._timed("write", self.inner.put_writes, *args)

    async def aget_tuple(self, config):  # noqa: ANN001, ANN201, D102
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(self, config, **kwargs):  # noqa: ANN001, ANN003, ANN201, D102
        for item in await asyncio.to_thread(lambda: list(self.list(config, **kwargs))):
            yield item

    async def aput(self, *args):  # noqa: ANN002, ANN201, D102
        return await asyncio.to_thread(self.put, *args)

    async def aput_writes(self, *args):  # noqa: ANN002, ANN201, D102
        await asyncio.to_thread(self.put_writes, *args)


def use_scripted_models(answer_chars: int) -> None:
    """Every role answers at once with a text of `answer_chars` characters (as the tests' fixture does)."""
    from relais.models import catalog
    from relais.settings import get_settings
    from tests.fakes.fixtures import ScriptedModels

    models = ScriptedModels()
    catalog.PROVIDERS["fake"] = models.factory
    os.environ["RELAIS_MODELS"] = ",".join(f"{role}=fake:{role}" for role in catalog.ROLES)
    get_settings.cache_clear()
    answer = ("Le nettoyage est réalisé selon la procédure validée ; " * 40)[:answer_chars]
    models.model("fast").queue(*[answer] * 10_000)


async def run_chat(graph: Any, saver: TimedSaver, chat_id: str, turns: int) -> list[dict[str, float]]:
    """One chat of `turns` turns through the server's own run path; the cost of each turn."""
    from langchain_core.messages import AIMessage, HumanMessage

    from relais.context import Context
    from server.chat import ChatRun, run_to_end
    from server.threads import ChatThread

    history: list[Any] = []
    figures = []
    for turn in range(turns):
        history.append(HumanMessage(f"{QUESTION} (question {turn + 1})"))
        run = ChatRun(messages=list(history), context=Context(user_id="bench", requested_agent="general"),
                      thread=ChatThread(user_id="bench", chat_id=chat_id))
        saver.spent.clear()
        started = time.perf_counter()
        await run_to_end(graph, run)
        total = time.perf_counter() - started
        history.append(AIMessage(run.answer))
        figures.append({"read": saver.spent["read"], "write": saver.spent["write"], "turn": total})
    return figures


def percentiles(values: list[float]) -> str:
    """p50 / p95 in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms"


def sqlite_size(path: Path, saver: TimedSaver) -> int:
    """The database file's size once the write-ahead log is folded into it."""
    saver.inner.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--answer-chars", type=int, default=1500)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["RELAIS_DATA_DIR"] = tempfile.mkdtemp(prefix="relais-threads-bench-")
    use_scripted_models(args.answer_chars)
    from graphs.supervisor import build_supervisor_graph
    from relais.settings import get_settings
    from relais.threads import SQLITE_FILE, open_checkpointer

    saver = TimedSaver(open_checkpointer().inner)
    graph = build_supervisor_graph(checkpointer=saver)
    path = get_settings().data_dir / SQLITE_FILE
    asyncio.run(run_chat(graph, saver, "warm-up", 2))
    saver.inner.delete_thread(next(iter(saver.inner.list(None))).config["configurable"]["thread_id"])
    empty = sqlite_size(path, saver)
    first = asyncio.run(run_chat(graph, saver, "chat-0", args.turns))
    one_thread = sqlite_size(path, saver) - empty
    figures = first + [turn for index in range(1, args.threads)
                       for turn in asyncio.run(run_chat(graph, saver, f"chat-{index}", args.turns))]
    print(f"{args.threads} chats x {args.turns} turns, answers of {args.answer_chars} characters, SQLite")
    for kind in ("read", "write", "turn"):
        print(f"  {kind:<5} per turn: {percentiles([turn[kind] for turn in figures])}")
    late = [turn for index, turn in enumerate(figures) if index % args.turns >= args.turns - 5]
    print(f"  the last 5 turns of each chat: read {percentiles([t['read'] for t in late])}, "
          f"write {percentiles([t['write'] for t in late])}")
    print(f"  one thread of {args.turns} turns on disk: {one_thread / 1024:.0f} KiB "
          f"({one_thread / args.turns / 1024:.1f} KiB per turn)")
    print(f"  load average: {open('/proc/loadavg').read().strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

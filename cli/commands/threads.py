"""`relais threads list|show|prune`: the conversation threads kept for Open WebUI chats."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.main import UserError

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

HELP = "list the conversation threads, show one, or delete those older than the retention (prune)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `list`, `show` and `prune` actions."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="threads, most recently updated first")
    listing.add_argument("--user", help="only this user's threads (Open WebUI user id)")
    show = actions.add_parser("show", help="a thread's latest conversation, and every turn end (its branches)")
    show.add_argument("thread_id", help="a thread id as `list` prints it")
    prune = actions.add_parser("prune", help="delete threads not updated for the retention "
                               "(RELAIS_THREAD_RETENTION_DAYS, default 30 days)")
    prune.add_argument("--days", type=float, help="another retention for this run, in days")
    prune.add_argument("--dry-run", action="store_true", help="print what would be deleted, delete nothing")


def run(args: argparse.Namespace) -> int:
    """Run the chosen action on the threads' saver the settings name."""
    from relais.threads import open_checkpointer

    try:
        saver = open_checkpointer()
    except (ValueError, OSError) as error:
        raise UserError(f"cannot open the threads' store: {error}") from error
    if args.action == "list":
        return list_action(saver, args.user)
    if args.action == "show":
        return show_action(saver, args.thread_id)
    return prune_action(saver, args.days, args.dry_run)


def list_action(saver: BaseCheckpointSaver, user: str | None) -> int:
    """Print one line per thread: id, user, chat, last update, checkpoints."""
    from relais.threads import list_threads

    summaries = [summary for summary in list_threads(saver) if user is None or summary.user_id == user]
    if not summaries:
        print("no threads" + (f" for user {user}" if user else ""))
    for summary in summaries:
        print(f"{summary.thread_id}\tuser={summary.user_id}\tchat={summary.chat_id}\t"
              f"updated={summary.updated.isoformat(timespec='seconds')}\tcheckpoints={summary.checkpoints}")
    return 0


def show_action(saver: BaseCheckpointSaver, thread_id: str) -> int:
    """Print the thread's latest conversation, then every turn end, newest first.

    Turn ends are read through the supervisor graph (compiling it loads no model), which knows
    which checkpoints ended a run or wait on an interrupt; a branch shows as a turn end that
    starts from an older one.
    """
    from graphs.supervisor import build_supervisor_graph
    from relais.threads import CHAT_KEY, USER_KEY
    from server.threads import conversation, is_turn_end

    graph = build_supervisor_graph(checkpointer=saver)
    history = list(graph.get_state_history({"configurable": {"thread_id": thread_id}}))
    if not history:
        raise UserError(f"no thread {thread_id!r} (see `relais threads list`)")
    turn_ends = [snapshot for snapshot in history if is_turn_end(snapshot)]
    metadata = history[0].metadata or {}
    print(f"thread {thread_id}: user={metadata.get(USER_KEY, '?')} chat={metadata.get(CHAT_KEY, '?')}, "
          f"{len(history)} checkpoints, {len(turn_ends)} turn ends")
    for role, text in conversation(history[0].values.get("messages", [])):
        print(f"  [{role}] {text[:200]}")
    print("turn ends, newest first:")
    for snapshot in turn_ends:
        turns = conversation(snapshot.values.get("messages", []))
        waiting = " (waiting for the user)" if snapshot.next else ""
        print(f"  {snapshot.config['configurable']['checkpoint_id']} {snapshot.created_at} "
              f"{len(turns)} messages{waiting}: {turns[-1][1][:80] if turns else ''}")
    return 0


def prune_action(saver: BaseCheckpointSaver, days: float | None, dry_run: bool) -> int:
    """Delete (or only print, with --dry-run) the threads not updated for the retention."""
    from relais.settings import get_settings
    from relais.threads import list_threads, prune_threads, stale_threads

    retention = get_settings().thread_retention_days if days is None else days
    if retention < 0:
        raise UserError("--days must be zero or more")
    stale = stale_threads(list_threads(saver), retention) if dry_run else prune_threads(saver, retention)
    verb = "would delete" if dry_run else "deleted"
    for summary in stale:
        print(f"{verb} {summary.thread_id} (user={summary.user_id}, chat={summary.chat_id}, "
              f"updated {summary.updated.isoformat(timespec='seconds')})")
    print(f"{verb} {len(stale)} thread(s) not updated for {retention:g} day(s)")
    return 0

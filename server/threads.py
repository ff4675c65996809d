"""Which thread a chat request continues, and from which of its checkpoints.

Open WebUI sends the whole visible conversation with every request, and its chat is a tree: a user
may edit an earlier message or regenerate an answer, and the conversation then goes on along the
new branch. The thread keeps every branch (LangGraph checkpoints are never overwritten); each turn
starts from the checkpoint that ended the turn the new message follows, so two branches never mix:

1. Open WebUI can say which message the new one follows (a connection header templated with
   `{{USER_MESSAGE_PARENT_ID}}`, see PARENT_ID_HEADER): the turn starts after the answer with that
   id (each answer's id, from `{{MESSAGE_ID}}`, is kept in its checkpoints' metadata).
2. Otherwise the conversations are compared: the turn starts from the longest turn end whose
   conversation the incoming one begins with (user texts equal, each incoming answer ending with the
   stored answer, which Open WebUI may have received after streamed progress).
3. When no turn end fits (a history Open WebUI changed some other way), the turn starts again from
   the thread's first checkpoint with the whole incoming conversation: a new branch, never a mix.

The incoming messages after the starting point (normally the one new user message) are what the
run adds. The thread's checkpoints are the agents' memory; the history Open WebUI shows is the
user's, and it decides the branch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import StateSnapshot

from graphs.router.classifier import parse_slash_command
from relais.threads import MESSAGE_KEY, is_stateless_chat, thread_id_for, thread_metadata

CHAT_ID_HEADER = "X-OpenWebUI-Chat-Id"  # sent by Open WebUI with ENABLE_FORWARD_USER_INFO_HEADERS=true
# Connection headers an admin templates in Open WebUI (see the README): the answer being written, and
# the message the user's new message follows.
MESSAGE_ID_HEADER = "X-Relais-Message-Id"  # {{MESSAGE_ID}}
PARENT_ID_HEADER = "X-Relais-Parent-Id"  # {{USER_MESSAGE_PARENT_ID}}
CHAT_ID_FALLBACK_HEADER = "X-Relais-Chat-Id"  # {{CHAT_ID}}, for Open WebUI without forwarded user headers


@dataclass(frozen=True)
class ChatThread:
    """The thread of one user's chat, and where this request sits in the chat's tree."""

    user_id: str
    chat_id: str
    message_id: str | None = None
    parent_id: str | None = None

    @property
    def thread_id(self) -> str:
        """The server-made thread id (derived from the user and the chat id)."""
        return thread_id_for(self.user_id, self.chat_id)

    @property
    def metadata(self) -> dict[str, str]:
        """What this request's checkpoints record (who, which chat, which answer)."""
        return thread_metadata(self.user_id, self.chat_id, self.message_id)


def chat_thread(headers: Mapping[str, str], user_id: str) -> ChatThread | None:
    """The thread a request belongs to, or None for a stateless one (no chat id, or a temporary chat)."""
    chat_id = headers.get(CHAT_ID_HEADER) or headers.get(CHAT_ID_FALLBACK_HEADER)
    if chat_id is None or is_stateless_chat(chat_id):
        return None
    return ChatThread(user_id=user_id, chat_id=chat_id.strip(),
                      message_id=(headers.get(MESSAGE_ID_HEADER) or "").strip() or None,
                      parent_id=(headers.get(PARENT_ID_HEADER) or "").strip() or None)


@dataclass
class TurnStart:
    """Where a turn starts on its thread, and what it adds."""

    configurable: dict[str, Any]  # thread_id, plus checkpoint_id when starting from a known checkpoint
    messages: list[BaseMessage]  # the incoming messages the run adds to the thread
    branched: bool = False  # starts from an earlier checkpoint than the thread's latest
    matched_by: str = "new"  # "new" thread, "parent_id", "history", or "restart" (nothing fitted)
    snapshot: StateSnapshot | None = field(default=None, repr=False)  # the starting point, when there is one
    resume: bool = False  # the starting point waits on an interrupt: the new message answers it


def _pause(snapshot: StateSnapshot) -> dict[str, Any] | None:
    for pending in snapshot.interrupts:
        if isinstance(pending.value, dict) and isinstance(pending.value.get("text"), str):
            return pending.value
    return None


def pending_question(snapshot: StateSnapshot) -> str | None:
    """The text a paused run showed the user (relais/approval.py), or None if it waits on nothing."""
    pause = _pause(snapshot)
    return pause["text"] if pause is not None else None


def snapshot_conversation(snapshot: StateSnapshot) -> list[tuple[str, str]]:
    """The conversation the user saw at a turn end.

    A paused agent's earlier review rounds and the draft it shows are still in its own state, not
    the supervisor's: the pause carries them (relais/approval.py).
    """
    pause = _pause(snapshot)
    if pause is None:
        return conversation(snapshot.values.get("messages", []))
    shown = conversation(pause.get("messages") or snapshot.values.get("messages", []))
    return [*shown, ("assistant", _squash(pause["text"]))]


def conversation(messages: Sequence[BaseMessage]) -> list[tuple[str, str]]:
    """The turns the user sees: user texts (slash command as the agent got it) and final answers."""
    turns: list[tuple[str, str]] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            turns.append(("user", _user_text(message.text)))
        elif isinstance(message, AIMessage) and not message.tool_calls and message.text.strip():
            turns.append(("assistant", _squash(message.text)))
    return turns


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _user_text(text: str) -> str:
    # The supervisor hands an agent the text after a slash command; Open WebUI keeps what was typed.
    slash = parse_slash_command(text)
    return _squash(slash.rest if slash is not None and slash.rest else text)


def _same_turn(stored: tuple[str, str], incoming: tuple[str, str]) -> bool:
    if stored[0] != incoming[0]:
        return False
    if stored[0] == "user":
        return stored[1] == incoming[1]
    return incoming[1].endswith(stored[1])  # streamed progress may precede the final answer


def continues(stored: list[tuple[str, str]], incoming: list[tuple[str, str]]) -> bool:
    """Whether the incoming conversation goes on from the stored one with a new user message."""
    if len(incoming) <= len(stored) or incoming[len(stored)][0] != "user":
        return False
    return all(_same_turn(mine, theirs) for mine, theirs in zip(stored, incoming, strict=False))


def is_turn_end(snapshot: StateSnapshot) -> bool:
    """A checkpoint where a turn ended: the run finished, or paused on an interrupt."""
    return bool(snapshot.values) and (not snapshot.next or any(task.interrupts for task in snapshot.tasks))


def added_messages(incoming: Sequence[BaseMessage], stored_user_turns: int) -> list[BaseMessage]:
    """The incoming messages after the stored turns: from the first user message the thread lacks."""
    seen = 0
    for index, message in enumerate(incoming):
        if isinstance(message, HumanMessage):
            if seen == stored_user_turns:
                return list(incoming[index:])
            seen += 1
    return list(incoming[-1:])


def choose_start(history: Sequence[StateSnapshot], incoming: Sequence[BaseMessage],
                 parent_id: str | None = None) -> tuple[StateSnapshot | None, str]:
    """The turn end a new turn starts from (newest-first `history`), and how it was found.

    Returns (None, "new") for an empty thread, (None, "restart") when no turn end fits.
    """
    turn_ends = [snapshot for snapshot in history if is_turn_end(snapshot)]
    if not turn_ends:
        return None, "new"
    if parent_id:
        for snapshot in turn_ends:
            if (snapshot.metadata or {}).get(MESSAGE_KEY) == parent_id:
                return snapshot, "parent_id"
    wanted = conversation(incoming)
    best: StateSnapshot | None = None
    best_length = -1
    for snapshot in turn_ends:  # newest first: among equally long matches the newest wins
        stored = snapshot_conversation(snapshot)
        if len(stored) > best_length and continues(stored, wanted):
            best, best_length = snapshot, len(stored)
    return (best, "history") if best is not None else (None, "restart")


async def plan_turn(graph: Any, thread: ChatThread, incoming: Sequence[BaseMessage]) -> TurnStart:
    """Where this request's turn starts on `thread` (see the module docstring), read from the graph's saver."""
    base = {"thread_id": thread.thread_id}
    head = await graph.aget_state({"configurable": base})
    if not head.values:
        return TurnStart(configurable=base, messages=list(incoming))
    if is_turn_end(head) and _follows(head, incoming, thread.parent_id):  # the usual case: one read
        start, how = head, "parent_id" if thread.parent_id else "history"
    else:
        history = [snapshot async for snapshot in graph.aget_state_history({"configurable": base})]
        start, how = choose_start(history, incoming, thread.parent_id)
        if start is None:
            root = history[-1]
            return TurnStart(configurable=dict(root.config["configurable"]), messages=list(incoming),
                             branched=True, matched_by="restart")
    stored = start.values.get("messages", [])
    user_turns = sum(isinstance(message, HumanMessage) for message in stored)
    return TurnStart(configurable=dict(start.config["configurable"]),
                     messages=added_messages(incoming, user_turns),
                     branched=start.config["configurable"].get("checkpoint_id")
                     != head.config["configurable"].get("checkpoint_id"),
                     matched_by=how, snapshot=start, resume=pending_question(start) is not None)


def _follows(head: StateSnapshot, incoming: Sequence[BaseMessage], parent_id: str | None) -> bool:
    if parent_id:
        return (head.metadata or {}).get(MESSAGE_KEY) == parent_id
    stored, wanted = snapshot_conversation(head), conversation(incoming)
    return continues(stored, wanted) and len(wanted) == len(stored) + 1

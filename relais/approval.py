"""Approval before a deliverable is final: the agent shows its draft and waits for « valider ».

Open WebUI has no approval button for an external model, so the pause happens in the conversation:
the draft is the answer, followed by the choices said plainly. The graph pauses with LangGraph's
`interrupt`; the user's next message in the same chat resumes it (`Command(resume=text)`, sent by
the server, or by Studio). « valider » exports the file, any other text is the change requested and
the agent redrafts, as many rounds as needed. An approval is a governance event: the audit record
of the run holds who approved (the record's user), when (its time) and the SHA-256 of each approved
file. The procedures agent (one Word file) and the computer-validation agent (Word, and Excel when
its deliverables have tables) pause through `review_draft`.

A run that is not on a thread (a stateless request) has nowhere to resume from: it exports at once,
as before approvals existed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.config import get_config
from langgraph.graph import END
from langgraph.types import Command, interrupt

from relais.attachments import attached_request, is_rag_wrapped, parse_message
from relais.documents import ExportedFile
from relais.events import emit_governance, emit_status

APPROVAL_REPLIES = {"valider", "je valide", "valide", "validé", "ok valider", "oui valider"}
NOTHING_PENDING = ("Aucun livrable n'attend votre validation dans cette conversation : « valider » "
                   "n'exporte rien ici. Décrivez le document à rédiger.")
CHOICES = ("**Validation** : répondez « valider » pour obtenir {files}, ou dites ce qu'il faut "
           "modifier et je reprendrai le projet (autant de fois que nécessaire).")


def is_approval(text: str) -> bool:
    """Whether a reply approves the pending draft (« valider », « je valide »…, quotes and case aside)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = re.sub(r"[«»\"'“”.!\s]+", " ", folded).strip()
    return folded in APPROVAL_REPLIES


def on_thread() -> bool:
    """Whether this run is kept on a thread, so that it can pause and be resumed."""
    try:
        return bool(get_config().get("configurable", {}).get("thread_id"))
    except RuntimeError:  # outside a run
        return False


def nothing_pending(messages: Sequence[BaseMessage]) -> Command | None:
    """End a run that starts with « valider »: a pending draft is resumed, never re-entered, so none waits.

    Returns None for any other request.
    """
    if is_approval(attached_request(messages).request):
        return Command(goto=END, update={"messages": [AIMessage(content=NOTHING_PENDING)]})
    return None


def files_named(kinds: Sequence[str]) -> str:
    """The files an approval yields, said in French: « le fichier Word (.docx) », « les fichiers … et … »."""
    if len(kinds) == 1:
        return f"le fichier {kinds[0]}"
    return f"les fichiers {', '.join(kinds[:-1])} et {kinds[-1]}"


def approval_request(draft_text: str, *kinds: str) -> str:
    """What the user sees while the graph waits: the draft, then the choices naming the files."""
    return f"{draft_text}\n\n---\n{CHOICES.format(files=files_named(kinds))}"


def wait_for_approval(shown: str, messages: Sequence[BaseMessage]) -> str:
    """Pause the run until the user answers; returns their reply (the `Command(resume=…)` value).

    The pause carries the agent's conversation so far (`messages`): earlier review rounds live in
    the agent's own state until it finishes, and the server needs the whole conversation the user
    sees to know that their next message answers this pause (server/threads.py). A request that came
    with attached documents is carried as the user's own words: Open WebUI wraps them in its RAG
    template for that one request, then shows and sends back only the words.
    """
    reply = interrupt({"type": "approval", "text": shown, "messages": as_the_user_sees_it(messages)})
    return str(reply.get("text", "") if isinstance(reply, dict) else reply).strip()


def as_the_user_sees_it(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The conversation with each request's attached documents and Open WebUI's template taken off."""
    return [HumanMessage(parse_message(str(message.text)).request, id=message.id)
            if isinstance(message, HumanMessage) and is_rag_wrapped(str(message.text)) else message
            for message in messages]


@dataclass(frozen=True)
class Review:
    """The user's answer to a draft shown for approval."""

    approved: bool
    exchange: list[BaseMessage]  # the draft shown and the user's reply, for the agent's conversation

    def next_step(self, *, export: str, redraft: str, redraft_update: dict[str, Any] | None = None) -> Command:
        """Go to `export` once approved (flagged `approved` for the audit), else back to `redraft`.

        The redraft sees the draft it was shown and the change asked after it; `redraft_update`
        resets what the drafting step must produce again.
        """
        if self.approved:
            return Command(goto=export, update={"messages": self.exchange, "approved": True})
        return Command(goto=redraft, update={"messages": self.exchange, **(redraft_update or {})})


def review_draft(title: str, draft_text: str, kinds: Sequence[str], messages: Sequence[BaseMessage]) -> Review:
    """Show the draft with the choices (the files `kinds` names), pause, and read the user's answer."""
    shown = approval_request(draft_text, *kinds)
    emit_status(f"{title} : projet prêt, en attente de votre validation", done=True)
    reply = wait_for_approval(shown, messages)
    return Review(approved=is_approval(reply), exchange=[AIMessage(content=shown), HumanMessage(reply)])


def record_approval(*files: ExportedFile, user_id: str, agent: str) -> list[dict[str, Any]]:
    """Write the approval of each exported file to the audit trail (one governance event a file) and return them.

    Each event names its file and its SHA-256 (taken when the file was stored, wherever the store keeps
    it), so any approved file can be matched to its approval.
    """
    records = []
    for file in files:
        emit_governance("approval", file=file.name, sha256=file.sha256, approved_by=user_id, agent=agent)
        records.append({"file": file.name, "sha256": file.sha256, "approved_by": user_id, "agent": agent})
    return records

"""Approval before a deliverable is final: the agent shows its draft and waits for « valider ».

Open WebUI has no approval button for an external model, so the pause happens in the conversation:
the draft is the answer, followed by the choices said plainly. The graph pauses with LangGraph's
`interrupt`; the user's next message in the same chat resumes it (`Command(resume=text)`, sent by
the server, or by Studio). « valider » exports the file, any other text is the change requested and
the agent redrafts, as many rounds as needed. An approval is a governance event: the audit record
of the run holds who approved (the record's user), when (its time) and the file's SHA-256.

A run that is not on a thread (a stateless request) has nowhere to resume from: it exports at once,
as before approvals existed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.config import get_config
from langgraph.types import interrupt

from relais.events import emit_governance

APPROVAL_REPLIES = {"valider", "je valide", "valide", "validé", "ok valider", "oui valider"}
NOTHING_PENDING = ("Aucun livrable n'attend votre validation dans cette conversation : « valider » "
                   "n'exporte rien ici. Décrivez le document à rédiger.")
CHOICES = ("**Validation** : répondez « valider » pour obtenir le fichier {kind}, ou dites ce qu'il faut "
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


def approval_request(draft_text: str, kind: str) -> str:
    """What the user sees while the graph waits: the draft, then the choices."""
    return f"{draft_text}\n\n---\n{CHOICES.format(kind=kind)}"


def wait_for_approval(shown: str, messages: Sequence[BaseMessage]) -> str:
    """Pause the run until the user answers; returns their reply (the `Command(resume=…)` value).

    The pause carries the agent's conversation so far (`messages`): earlier review rounds live in
    the agent's own state until it finishes, and the server needs the whole conversation the user
    sees to know that their next message answers this pause (server/threads.py).
    """
    reply = interrupt({"type": "approval", "text": shown, "messages": list(messages)})
    return str(reply.get("text", "") if isinstance(reply, dict) else reply).strip()


def record_approval(name: str, sha256: str, *, user_id: str, agent: str) -> dict[str, Any]:
    """Write the approval of the exported file `name` (its SHA-256) to the audit trail and return it."""
    emit_governance("approval", file=name, sha256=sha256, approved_by=user_id, agent=agent)
    return {"file": name, "sha256": sha256, "approved_by": user_id, "agent": agent}

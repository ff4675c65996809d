"""What the document agents (procedures, computer validation, code) share.

Input checks, templates from knowledge/, one wrapper around structured drafting, the final answer.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langgraph.graph import END
from langgraph.types import Command
from pydantic import BaseModel

from relais.documents import ExportedFile, UnsupportedExportFormatError, check_export_formats
from relais.events import emit_status
from relais.guard import GuardPolicy
from relais.models.catalog import Role, Sensitivity, get_chat_model
from relais.models.guarded import GuardRefused
from relais.publish import usage_total
from relais.settings import get_settings
from relais.sources import Source
from relais.state import last_user_text

logger = logging.getLogger(__name__)

# "/sop" with nothing after it reaches the agent as is: it is an empty request too.
_LONE_COMMAND = re.compile(r"\s*/[^\s/]+\s*")
TEMPLATES = Path(__file__).resolve().parents[1] / "knowledge" / "templates"


class DraftingError(RuntimeError):
    """The model did not produce a usable structured deliverable; the message is for the user."""


def request_problem(text: str, title: str, export_formats: Sequence[str] = ()) -> str | None:
    """What is wrong with a request before any model sees it (None when it can go ahead).

    With `export_formats`, a request for any other file format is refused too.
    """
    if not text.strip() or _LONE_COMMAND.fullmatch(text):
        return (
            f"{title} : la demande est vide. Décrivez ce que vous attendez "
            "(vos notes, le système concerné, le livrable souhaité)."
        )
    limit = get_settings().agent_request_max_chars
    if len(text) > limit:
        return (
            f"{title} : la demande fait {_thousands(len(text))} caractères, au-delà de la limite de "
            f"{_thousands(limit)}. Découpez-la (une procédure ou un système à la fois) ou résumez vos notes."
        )
    if export_formats:
        try:
            check_export_formats(text, export_formats)
        except UnsupportedExportFormatError as error:
            return str(error)
    return None


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")


@cache
def load_template(name: str) -> str:
    """A template the project ships in knowledge/templates/<name>.md (French reference text).

    Raises:
        FileNotFoundError: naming the missing template.
    """
    path = TEMPLATES / f"{name}.md"
    if not path.is_file():
        raise FileNotFoundError(f"no template named {name!r} (expected {path})")
    return path.read_text(encoding="utf-8").strip()


def answer_message(text: str) -> AIMessage:
    """The agent's final answer (sent whole by the server, since nothing of it was streamed)."""
    return AIMessage(content=text)


def draft_structured(
    schema: type[BaseModel],
    messages: Sequence[BaseMessage],
    *,
    role: Role,
    sensitivity: Sensitivity,
    guard: GuardPolicy,
    overrides: dict[str, str],
) -> tuple[Any, dict[str, Any]]:
    """One structured-output call: (the parsed deliverable, its usage for the run total).

    The model is not tagged as the answer: its JSON must never stream to the user.

    Raises:
        DraftingError: when the model fails or its output does not fit the schema.
    """
    started = time.perf_counter()
    with get_usage_metadata_callback() as counter:
        try:
            model = get_chat_model(role, sensitivity, guard=guard, schema=schema, overrides=overrides)
            draft = model.invoke(messages)
            if not isinstance(draft, schema):  # some providers hand back a dict: it must fit the schema too
                draft = schema.model_validate(draft)
        except GuardRefused as refusal:
            raise DraftingError(str(refusal)) from refusal
        except Exception as error:  # the one place a drafting failure turns into a message
            logger.exception("structured drafting of %s failed", schema.__name__)
            raise DraftingError(
                "Le modèle n'a pas produit un document exploitable "
                f"({type(error).__name__}). Réessayez, ou précisez et raccourcissez la demande."
            ) from error
    return draft, usage_total(counter.usage_metadata, started, 1)


def system_with_template(prompt: str, template: str) -> SystemMessage:
    """The agent prompt followed by the company template it must follow, fenced as data."""
    return SystemMessage(f"{prompt}\n\n<modele>\n{template}\n</modele>")


def export_source(exported: ExportedFile, kind: str) -> Source:
    """The export as a source with its download link (Open WebUI lists it under the answer)."""
    return Source(title=f"{kind} : {exported.name}", text=f"Fichier à télécharger : {exported.url}",
                  url=exported.url, metadata={"export": exported.name})


def screen_request(title: str, messages: Sequence[BaseMessage],
                   export_formats: Sequence[str]) -> tuple[str, Command | None]:
    """The request's text, and a Command that ends the run with the reason when it cannot go ahead."""
    emit_status(f"{title} : vérification de la demande…")
    text = last_user_text(messages)
    problem = request_problem(text, title, export_formats)
    if problem is None:
        return text, None
    emit_status(f"{title} : demande non traitée", done=True)
    return text, Command(goto=END, update={"messages": [answer_message(problem)]})

"""Documents a user attached in Open WebUI, read back out of the messages it sends.

Open WebUI does not send attached files: it puts their text into the conversation through its RAG
template (open_webui/config.py DEFAULT_RAG_TEMPLATE, applied by open_webui/utils/task.py
rag_template), one `<source id="1" name="contrat.pdf">…</source>` block per extract inside
`<context>…</context>`: the retrieved chunks of each file, or each file whole in "full context" mode
(the same block, holding the entire text). By default the filled template is put before the user's
own message, in that message; with RAG_SYSTEM_CONTEXT it goes into the system message instead.

`attached_request(messages)` separates the two: the user's own request, and the documents (blocks of
one source joined in order). Agents treat these documents as data, fenced like any extract
(`relais.guard.fence_untrusted`), never as part of the instruction; `fenced_conversation(messages)`
gives a model the conversation that way.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from relais.guard.injection import fence_untrusted

# The first words of Open WebUI's default RAG template (server/chat.py tells it from a task prompt by them).
RAG_TEMPLATE_START = "Respond to the user query using the provided context"
_SOURCE = re.compile(r"<source\b(?P<attributes>[^>]*)>(?P<text>.*?)</source>", re.DOTALL)
_ATTRIBUTE = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CONTEXT = re.compile(r"<context>\s*(.*?)\s*</context>", re.DOTALL)
_USER_QUERY = re.compile(r"<user_query>\s*(.*?)\s*</user_query>", re.DOTALL)
_TASK_HEADING = re.compile(r"^\s*### Task:\s*$", re.MULTILINE)


@dataclass(frozen=True)
class AttachedDocument:
    """One attached file as Open WebUI sent it: its name, its citation id and its text."""

    name: str
    id: str
    text: str
    parts: int = 1  # how many <source> blocks it was assembled from (several: RAG extracts, not the whole file)


@dataclass(frozen=True)
class AttachedRequest:
    """A user message split into the user's own words and the documents that came with them."""

    request: str
    documents: tuple[AttachedDocument, ...] = ()

    @property
    def has_documents(self) -> bool:
        """Whether any document text came with the request."""
        return bool(self.documents)


def parse_sources(text: str) -> tuple[AttachedDocument, ...]:
    """The `<source>` blocks of a text, grouped by source (id and name) in order of first appearance."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for match in _SOURCE.finditer(text):
        attributes = {key: first or second for key, first, second in _ATTRIBUTE.findall(match["attributes"])}
        key = (attributes.get("id", ""), html.unescape(attributes.get("name", "")))
        grouped.setdefault(key, []).append(match["text"].strip("\n"))
    return tuple(AttachedDocument(name=name or f"source {source_id}".strip(), id=source_id,
                                  text="\n\n".join(part for part in parts if part.strip()), parts=len(parts))
                 for (source_id, name), parts in grouped.items())


def is_rag_wrapped(text: str) -> bool:
    """Whether a message holds Open WebUI's filled RAG template (its context and its sources)."""
    return bool(_CONTEXT.search(text)) and bool(_SOURCE.search(text))


def parse_message(text: str) -> AttachedRequest:
    """Split one message into the user's request and its attached documents (none: the text as it is)."""
    if not is_rag_wrapped(text):
        return AttachedRequest(request=text)
    context = _CONTEXT.search(text)
    documents = parse_sources(context[1]) if context else ()
    return AttachedRequest(request=_request_outside_template(text), documents=documents)


def attached_request(messages: Sequence[BaseMessage]) -> AttachedRequest:
    """The latest user request and the documents attached to it (in that message, else in the system message).

    Without attached documents the request is the latest user message as it is.
    """
    user = next((message for message in reversed(messages) if isinstance(message, HumanMessage)), None)
    parsed = parse_message(str(user.text) if user is not None else "")
    if parsed.has_documents:
        return parsed
    for message in messages:
        if isinstance(message, SystemMessage) and is_rag_wrapped(str(message.text)):
            return AttachedRequest(request=parsed.request, documents=parse_message(str(message.text)).documents)
    return parsed


def user_request(messages: Sequence[BaseMessage]) -> str:
    """The user's own words in the latest request (what to search or route on), attached documents aside."""
    return attached_request(messages).request


def fenced_conversation(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The conversation for a model: each request's documents fenced as data after the user's words.

    Open WebUI's template (its instructions in English, its citation rules) is dropped wherever it was,
    the user's messages or the system message (whose documents go with the latest request). An earlier
    request keeps its documents fenced too: on a thread, an agent redrafting after a change asked in a
    later message still reads the document attached first. A conversation without attachments comes
    back as it is.
    """
    attached = attached_request(messages)
    last_user = max((index for index, message in enumerate(messages) if isinstance(message, HumanMessage)),
                    default=None)
    conversation: list[BaseMessage] = []
    for index, message in enumerate(messages):
        if index == last_user and attached.has_documents:
            conversation.append(_fenced_request(attached, message))
        elif isinstance(message, HumanMessage) and is_rag_wrapped(str(message.text)):
            conversation.append(_fenced_request(parse_message(str(message.text)), message))
        elif isinstance(message, SystemMessage) and is_rag_wrapped(str(message.text)):
            outside = _request_outside_template(str(message.text))
            conversation += [SystemMessage(outside, id=message.id)] if outside else []
        else:
            conversation.append(message)
    return conversation


def _fenced_request(attached: AttachedRequest, message: BaseMessage) -> HumanMessage:
    fenced = "\n\n".join(fence_untrusted(document.text, document.name) for document in attached.documents)
    return HumanMessage(f"{attached.request}\n\n{fenced}".strip(), id=message.id)


def _request_outside_template(text: str) -> str:
    """The user's own words: the message minus the filled template (the query it quotes when it has one)."""
    context = _CONTEXT.search(text)
    if context is None:
        return text.strip()
    # the last "### Task:" before the context starts the template (the user may have written one too)
    tasks = list(_TASK_HEADING.finditer(text, 0, context.start()))
    start = tasks[-1].start() if tasks else context.start()
    outside = (text[:start] + text[context.end():]).strip()
    if outside:
        return outside
    query = _USER_QUERY.search(text)
    return query[1].strip() if query else ""

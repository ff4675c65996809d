"""A source an answer relies on: a GMP-guide paragraph, a library clause, a web page."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict


class Source(TypedDict):
    """What the server sends to Open WebUI as a `source` event and lists under the answer."""

    title: str  # e.g. "BPF Partie I, chapitre 2, §2.10" or a page title
    text: str  # the extract the answer relies on
    url: NotRequired[str]  # for web pages and downloadable exports
    metadata: NotRequired[dict]  # part, chapter, paragraph, clause id, score...


def source_key(source: Source) -> str:
    """Identity used to de-duplicate sources across tool calls."""
    return source.get("url") or source["title"]

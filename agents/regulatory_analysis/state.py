"""The regulatory agent's private state, shared by its generative and extract-first paths."""

from __future__ import annotations

from typing import NotRequired

from langchain_core.documents import Document

from agents.base import AgentSpec
from relais.state import AgentState


class RegulatoryState(AgentState):
    """What the agent works from: the extracts, the compared parts, and a small model's picks and synthesis.

    `picked` and `synthesis` belong to the extract-first answer (extract_first.py).
    """

    chunks: NotRequired[list[Document]]  # langchain Documents with part/chapter/paragraph
    # the parts a comparison names, each searched on its own:
    # {"label": "Annexe 1", "part": "Annexes", "chapter": "LD.1"}
    compared: NotRequired[list[dict[str, str | None]]]
    named: NotRequired[int]  # how many of the first chunks are paragraphs the question names (« §4.11 »)
    picked: NotRequired[list[int]]  # numbers of the extracts' sentences that answer (sentences.py)
    synthesis: NotRequired[str]


def guide_collection(spec: AgentSpec) -> str:
    """The knowledge collection holding the guide the agent answers from."""
    if spec.collection is None:
        raise ValueError(f"agent {spec.label} has no knowledge collection: the regulatory graph needs the guide's")
    return spec.collection

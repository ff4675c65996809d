"""What defines a business agent: its prompt, tools, knowledge, model role and data sensitivity."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool

from relais.guard import GuardPolicy
from relais.labels import Label, model_id
from relais.models.catalog import Role, Sensitivity
from relais.sources import Source


class SourcesUnavailable(RuntimeError):
    """The agent cannot get the sources it must rely on; `answer` tells the user plainly (no model call)."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


# A retriever for an agent: (question, k) -> the extracts the model must rely on.
Retrieve = Callable[[str, int], list[Source]]
# What compiles an agent's graph from its spec (a CompiledStateGraph: its generics are noisy to spell).
GraphBuilder = Callable[["AgentSpec"], Any]


@dataclass(frozen=True)
class AgentSpec:
    """A business agent, as the supervisor, the server and LangGraph Studio see it."""

    label: Label
    title: str  # French display name in Open WebUI's model picker
    description: str
    role: Role
    sensitivity: Sensitivity
    # The function that compiles this agent's graph: `agents.generic.build_generic_graph` for the
    # retrieve → answer → tools loop, or the agent's own `agents/<label>/graph.py` builder.
    graph: GraphBuilder
    prompt: str = ""  # prompts/<prompt>.md; defaults to the label
    tools: Sequence[BaseTool] = ()
    retrieve: Retrieve | None = None
    # What the confidentiality guard does with personal or confidential data bound for a remote model.
    guard: GuardPolicy = "local"
    # The knowledge collection (`relais ingest --collection NAME`) every answer rests on, if any:
    # evaluation checks it is indexed before a run.
    collection: str | None = None
    # Whether the retrieved extracts are public texts (web pages, the published GMP guide): the guard
    # then inspects only what the user and the company supply, so a name on a public page never makes
    # the agent refuse.
    public_sources: bool = False

    @property
    def prompt_name(self) -> str:
        """The prompt file this agent answers with."""
        return self.prompt or self.label

    @property
    def model_id(self) -> str:
        """The id Open WebUI lists for this agent."""
        return model_id(self.label)

    @property
    def tool_names(self) -> frozenset[str]:
        """The allowlist: the only tools this agent may call."""
        return frozenset(tool.name for tool in self.tools)


def collection_retriever(collection: str, title: str) -> Retrieve:
    """A retriever over a knowledge collection built by `relais ingest`.

    A collection that was never ingested is reported to the user (status event) and the agent
    answers without extracts, saying so, rather than failing the whole request.
    """

    def retrieve(question: str, k: int) -> list[Source]:
        from relais.events import emit_status
        from retrievers.search import CollectionNotFound, search

        try:
            hits = search(collection, question, k=k)
        except CollectionNotFound as error:
            emit_status(f"{title} : base documentaire absente ({error})", done=True)
            return []
        return [hit_to_source(hit) for hit in hits]

    return retrieve


def hit_to_source(hit) -> Source:  # noqa: ANN001 - retrievers.search.Hit, imported lazily
    """A search hit as a source the server can show (title built from its reference metadata)."""
    metadata = dict(hit.metadata)
    title = metadata.get("reference") or metadata.get("title") or metadata.get("source") or "extrait"
    return Source(title=str(title), text=hit.text, metadata={**metadata, "score": round(float(hit.score), 4)})

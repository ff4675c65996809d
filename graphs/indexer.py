"""The `indexer` graph: ingest a source folder or file into a knowledge collection (LangGraph Studio, API).

Input `{collection, source}`; output the ingest summary. Plain `def` nodes: ingestion blocks (embedding),
which `langgraph dev` forbids inside `async def` nodes.
"""

from __future__ import annotations

from pathlib import Path

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from relais.events import emit_status


class IndexerInput(TypedDict):
    """What to index."""

    collection: str
    source: str


class IndexerOutput(TypedDict):
    """What the ingestion did."""

    summary: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]
    skipped: list[str]
    problems: list[str]
    chunks_total: int


class IndexerState(IndexerInput, IndexerOutput, total=False):
    """Input and output together (the graph has a single node)."""


def ingest_source(state: IndexerInput) -> IndexerOutput:
    """Build or update the collection; bad files are reported in `skipped`, never raised."""
    from retrievers.index import SourceNotFound, ingest

    emit_status(f"Indexation de {state['source']} dans « {state['collection']} »...")
    try:
        report = ingest(state["collection"], Path(state["source"]))
    except (SourceNotFound, ValueError) as error:
        return {"summary": str(error), "added": [], "updated": [], "unchanged": [], "removed": [],
                "skipped": [str(error)], "problems": [], "chunks_total": 0}
    emit_status("Indexation terminée", done=True)
    return {"summary": report.summary(), "added": report.added, "updated": report.updated,
            "unchanged": report.unchanged, "removed": report.removed, "skipped": report.skipped,
            "problems": [str(problem) for problem in report.problems], "chunks_total": report.chunks_total}


def build_indexer():  # noqa: ANN201 - a compiled StateGraph
    """Compile the indexer graph."""
    builder = StateGraph(IndexerState, input_schema=IndexerInput, output_schema=IndexerOutput)
    builder.add_node("ingest_source", ingest_source)
    builder.add_edge(START, "ingest_source")
    builder.add_edge("ingest_source", END)
    return builder.compile(name="indexer")


graph = build_indexer()

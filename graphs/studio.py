"""The graphs LangGraph Studio and `langgraph dev` serve (listed in langgraph.json).

Compiling a graph loads no model: models are built when a node first runs. The graphs carry no
saver (the LangGraph API refuses one); langgraph.json's `checkpointer` names `threads_checkpointer`,
so Studio keeps its runs in, and opens, the same threads as the server.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.supervisor import agent_graph, build_supervisor_graph
from relais.threads import open_checkpointer

supervisor = build_supervisor_graph()
contract_clauses = agent_graph("contract_clauses")
web_research = agent_graph("web_research")
procedures = agent_graph("procedures")
translation = agent_graph("translation")
computer_validation = agent_graph("computer_validation")
code = agent_graph("code")
regulatory_analysis = agent_graph("regulatory_analysis")
general = agent_graph("general")


@asynccontextmanager
async def threads_checkpointer() -> AsyncIterator[BaseCheckpointSaver]:
    """The threads' saver the settings name (SQLite in RELAIS_DATA_DIR, or PostgreSQL), for `langgraph dev`."""
    yield open_checkpointer()

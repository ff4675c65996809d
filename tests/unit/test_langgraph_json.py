"""Every graph langgraph.json lists imports and compiles, under the name Studio shows."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = json.loads((ROOT / "langgraph.json").read_text())["graphs"]


def test_langgraph_json_lists_the_supervisor_every_agent_and_the_indexer():
    from relais.labels import LABELS

    assert set(GRAPHS) == {"supervisor", "indexer", *LABELS}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_each_entry_imports_and_compiles(name):
    path, attribute = GRAPHS[name].split(":")
    spec = importlib.util.spec_from_file_location(f"studio_{name}", ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = getattr(module, attribute)
    assert graph.name == name
    assert graph.get_graph().nodes  # drawable, as Studio draws it

"""The regulatory agent's extract-first answer on the real embedded model (issue 13).

On the embedded default, « Quelles sont les exigences des BPF pour la qualification des fournisseurs de
matières premières ? » was answered « Le guide BPF ne fixe pas de spécifications… » although the first
extract (Partie I §§5.27-5.29) answers it. The answer must now quote that extract, each quotation followed by
its reference, and refuse nothing. One run: two to four minutes on two shared cores.
"""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import HumanMessage

from agents import build_agent_graph, get_spec
from relais.settings import get_settings
from retrievers.citations import normalise
from retrievers.store import collection_dir, load_chunks

pytestmark = pytest.mark.e2e

SUPPLIERS = "Quelles sont les exigences des BPF pour la qualification des fournisseurs de matières premières ?"
QUOTED_IN_CHAPTER_5 = re.compile(r"[«“] ?(.+?) ?[»”] \((Partie I, chapitre 5, §5\.2[7-9])\)")


@pytest.fixture
def embedded_8k(embedded, monkeypatch):
    """The embedded model with the production context (8k): the extracts' sentences take about 3,500 tokens."""
    monkeypatch.setenv("RELAIS_EMBEDDED_N_CTX", "8192")
    get_settings.cache_clear()


def test_supplier_qualification_is_answered_by_quoting_chapter_5_with_inline_references(embedded_8k, guide_index):
    events, state = [], {}
    graph = build_agent_graph(get_spec("regulatory_analysis"))
    for mode, data in graph.stream({"messages": [HumanMessage(SUPPLIERS)]}, stream_mode=["custom", "values"]):
        events.append(data) if mode == "custom" else state.update(data)
    answer = state["messages"][-1].content
    statuses = [event["description"] for event in events if event["type"] == "status"]
    print(statuses, answer, sep="\n")
    assert any("choix des phrases qui répondent" in status for status in statuses)  # the extract-first path
    assert not answer.startswith("❌") and not re.search(r"ne (?:fixe|traite|couvre) (?:pas|rien)", answer)
    quotations = QUOTED_IN_CHAPTER_5.findall(answer)
    assert quotations, "no sentence of Partie I §§5.27-5.29 quoted with its reference"
    guide = normalise(" ".join(chunk.page_content for chunk in load_chunks(collection_dir("bpf"))))
    assert all(normalise(text) in guide for text, _reference in quotations)  # the guide's words, verbatim
    assert any("5.27" in source["title"] for source in state["sources"])

"""Comparison and named-paragraph questions end to end on the real GMP-guide index: API → supervisor → agent.

The model is the scripted fake, answering from the system prompt it receives, so what retrieval gave it
can be read back; the guide index is the session's `guide_index` (minutes cold, seconds with a warm
RELAIS_EMBEDDING_CACHE_DIR).
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from agents.regulatory_analysis.graph import compared_parts, search_each_part
from agents.regulatory_analysis.paragraphs import find_paragraph
from agents.regulatory_analysis.references import ABSENT_REMOVED
from retrievers.search import known_references, search
from server.app import create_app

pytestmark = pytest.mark.integration

COMPARISON = "Quelle différence entre la partie I et la partie II sur le traitement des réclamations ?"
_EXTRACT = re.compile(r'<extrait n="\d+" référence="([^"]+)"[^>]*>\n(.+?)\n</extrait>', re.DOTALL)


@pytest.fixture
def client(guide_index, scripted_models):
    with TestClient(create_app(), raise_server_exceptions=False, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def _stream(client: TestClient, question: str) -> tuple[str, list[dict]]:
    """The streamed answer's text and its Open WebUI `source` events."""
    body = {"model": "relais-regulatory-analysis", "stream": True, "messages": [{"role": "user", "content": question}]}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    chunks = [json.loads(line[6:]) for line in response.text.split("\n") if line.startswith("data: {")]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    return text, [c["event"]["data"] for c in chunks if c.get("event", {}).get("type") == "source"]


def _groups(system: str) -> dict[str, list[tuple[str, str]]]:
    """The extracts of each `<extraits-partie>` group: {"Partie I": [(reference, text), ...]}."""
    found = re.findall(r'<extraits-partie nom="([^"]+)">(.*?)</extraits-partie>', system, re.DOTALL)
    return {name: _EXTRACT.findall(body) for name, body in found}


def _absent_paragraph(system: str) -> str:
    """A Partie I paragraph that exists in the guide but in no chapter the extracts come from."""
    chapters = set(re.findall(r'référence="Partie I, chapitre (\d+)', system))
    numbers = sorted(number for part, number in known_references("bpf") if part == "I"
                     and re.fullmatch(r"\d\.\d+", number) and number.split(".")[0] not in chapters)
    return numbers[0]


def _compare_and_invent(messages) -> str:
    """Cite the first extract of each group (true), and one paragraph no extract carries (invented)."""
    system = messages[0].content
    lines = [f"- {name} : ce que disent ses extraits [{extracts[0][0]}]" for name, extracts in _groups(system).items()]
    invented = f"- Les réclamations sont revues chaque année [Partie I, §{_absent_paragraph(system)}]."
    return "\n".join([*lines, invented, "", "Fiabilité : ✅ appuyé sur les extraits."])


@pytest.mark.parametrize(
    ("question", "filters"),
    [
        (COMPARISON, [("I", None), ("II", None)]),
        ("Compare Annex 1 and Annex 15 on cleaning validation", [("Annexes", "LD.1"), ("Annexes", "15")]),
        ("Les principes de gestion du risque du chapitre 1 de la Partie I sont-ils ceux d'ICH Q9 ?",
         [("I", None), ("III", "ICH Q9")]),
    ],
)
def test_each_compared_part_is_searched_on_its_own(guide_index, question, filters):
    compared = compared_parts(question, "bpf")
    assert [where for _scope, where in compared] == filters
    hits = search_each_part("bpf", question, compared, top_k=6)
    per_part = 6 // len(filters)
    assert len(hits) == 6
    for number, (part, chapter) in enumerate(filters):  # each part's extracts, in the order it is named
        side = hits[number * per_part : (number + 1) * per_part]
        assert all(hit.metadata["part"] == part and chapter in (None, hit.metadata["chapter"]) for hit in side)


def test_an_annex_filter_keeps_that_annex_only(guide_index):
    hits = search("bpf", "Compare annex 1 and annex 15 on cleaning validation", k=4, within=[("Annexes", "15")])
    assert len(hits) == 4 and {(hit.metadata["part"], hit.metadata["chapter"]) for hit in hits} == {("Annexes", "15")}


def test_comparison_through_the_api_groups_extracts_by_part_and_sends_one_source_per_passage(client, scripted_models):
    scripted_models.queue("reasoning", _compare_and_invent)
    answer, source_events = _stream(client, COMPARISON)
    system = scripted_models.calls("reasoning")[-1][0].content
    groups = _groups(system)
    assert list(groups) == ["Partie I", "Partie II"]
    assert all(groups[name] and all(ref.startswith(name + ",") for ref, _ in groups[name]) for name in groups)
    assert "## Question de comparaison : Partie I, Partie II" in system
    for name, extracts in groups.items():  # each side's true reference is kept
        assert f"[{extracts[0][0]}]" in answer, name
    assert f"revues chaque année {ABSENT_REMOVED}." in answer and "⚠️" in answer and "✅" not in answer
    passages = system.count("<extrait ")
    assert len(source_events) == passages
    # Open WebUI's Citations.svelte merges documents whose metadata.source match into one chip
    assert len({event["metadata"][0]["source"] for event in source_events}) == passages
    assert len({event["source"]["name"] for event in source_events}) == passages


def test_named_paragraph_through_the_api_is_fetched_verbatim_and_cited(client, scripted_models):
    scripted_models.queue("reasoning", lambda messages: "Le §4.11 fixe l'archivage des dossiers de lots "
                          f"[{_EXTRACT.search(messages[0].content).group(1)}].\n\nFiabilité : ✅ appuyé sur l'extrait.")
    answer, source_events = _stream(client, "que dit le §4.11 de la partie I ?")
    system = scripted_models.calls("reasoning")[-1][0].content
    reference, text = _EXTRACT.search(system).groups()
    assert reference == "Partie I, chapitre 4, §4.11" and text == find_paragraph("I", "4.11").text
    assert "<extraits-partie" not in system  # one part named: no comparison
    assert "[Partie I, chapitre 4, §4.11]" in answer and ABSENT_REMOVED not in answer and "✅" in answer
    assert source_events[0]["source"]["name"] == "BPF Partie I — Chapitre 4 — §4.11"
    assert len(source_events) == system.count("<extrait ")

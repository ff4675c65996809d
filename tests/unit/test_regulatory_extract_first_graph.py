"""The regulatory graph's extract-first path on a small model: a scripted fake model, the real guide index.

The fake model stands for a small one (RELAIS_SMALL_MODELS); its choice of sentences is computed from the
numbered sentences it receives, so the tests do not depend on how retrieval numbers them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from agents.regulatory_analysis.extract_first import UNREADABLE
from relais.settings import get_settings
from retrievers.citations import structured_sections_present
from tests.unit.test_regulatory_paragraph import _run

SUPPLIERS = "Quelles sont les exigences des BPF pour la qualification des fournisseurs de matières premières ?"
SELECTION_527 = "La sélection, la qualification, l'approbation et le maintien des fournisseurs de matières premières"


@pytest.fixture
def small_model(guide_index, scripted_models, monkeypatch):
    """The scripted fake answers every role and counts as a small model."""
    monkeypatch.setenv("RELAIS_SMALL_MODELS", "fake:reasoning")
    get_settings.cache_clear()
    return scripted_models


def numbered(system_prompt: str) -> dict[int, str]:
    """The sentences the model was offered (with their references), by number."""
    return {int(number): text for number, text in re.findall(r"^\[(\d+)\] (.+)$", system_prompt, re.MULTILINE)}


def pick_containing(*words: str) -> Callable:
    """A model reply choosing every offered sentence that holds all of `words`."""
    def choose(messages):
        offered = numbered(messages[0].content)
        return {"phrases": [number for number, text in offered.items()
                            if all(word in text.lower() for word in words)]}
    return choose


def test_the_picked_sentences_are_quoted_with_their_reference_after_the_synthesis(small_model):
    synthesis = ("Les BPF exigent que la qualification des fournisseurs soit documentée (Partie I, chapitre 5, "
                 "§5.27). Le guide BPF ne fixe pas de spécifications pour les fournisseurs. La sélection des "
                 "fournisseurs est documentée (Partie I, chapitre 9, §9.1). L'approbation des fournisseurs est "
                 "documentée (Partie I, §5.99).")
    small_model.queue("reasoning", pick_containing("fournisseurs"), synthesis)
    events, final = _run(SUPPLIERS)
    answer = final["messages"][-1].content
    first_line = answer.splitlines()[0]
    assert first_line.startswith("Les BPF exigent que la qualification des fournisseurs soit documentée")
    assert re.search(rf"« {SELECTION_527}[^»]*» \(Partie I, chapitre 5, §5\.27\)", answer)
    assert "ne fixe pas" not in answer  # the synthesis denied what its own quotations say: removed
    assert "§9.1" not in answer and "§5.99" not in answer  # cited from memory, or not in the guide at all
    assert any("2 phrase(s) de la synthèse retirée(s)" in event.get("description", "") for event in events)
    pick_call, synthesis_call = small_model.calls("reasoning")
    assert "<phrases>" in pick_call[0].content and pick_call[-1].content == SUPPLIERS
    assert SELECTION_527 in synthesis_call[0].content and "<phrases>" not in synthesis_call[0].content
    assert final["usage"]["model_calls"] == 2


def test_each_cited_passage_is_its_own_source(small_model):
    small_model.queue("reasoning", pick_containing("fournisseurs"), "Les fournisseurs sont qualifiés.")
    events, final = _run(SUPPLIERS)
    retrieved = [source["title"] for event in events if event["type"] == "sources" for source in event["sources"]]
    assert len(retrieved) == len(set(retrieved)) >= 2  # one source event per passage, never merged
    cited = [source["title"] for source in final["sources"]]
    assert any("§5.27" in title for title in cited) and set(cited) <= set(retrieved)
    assert all(title in final["messages"][-1].content for title in cited)  # listed under the answer too


def test_no_sentence_picked_is_the_refusal_saying_what_was_searched(small_model):
    small_model.queue("reasoning", {"phrases": []})
    _events, final = _run(SUPPLIERS)
    answer = final["messages"][-1].content
    assert answer.startswith("❌ **Le guide des Bonnes Pratiques de Fabrication")
    assert f"Votre question : {SUPPLIERS}" in answer and "Ce que j'ai cherché : le guide BPF (index bpf)" in answer
    assert len(small_model.calls("reasoning")) == 1  # no synthesis of nothing


def test_a_paragraph_the_question_names_is_quoted_whatever_the_model_picks(small_model):
    """« Que dit le §4.11 ? »: the embedded model once picked §§4.19-4.20 only; the named paragraph comes first."""
    small_model.queue("reasoning", {"phrases": []}, "Le §4.11 de la partie I traite de la documentation.")
    _events, final = _run("Que dit le §4.11 de la partie I ?")
    answer = final["messages"][-1].content
    assert not answer.startswith("❌"), answer
    assert "§4.11" in answer.split("**Sources**")[0]
    first = final["sources"][0]
    assert first["metadata"].get("part") == "I" and "4.11" in first["title"]


def test_numbers_naming_no_sentence_count_as_no_pick(small_model):
    small_model.queue("reasoning", {"phrases": [0, 9999]})
    _events, final = _run(SUPPLIERS)
    assert final["messages"][-1].content.startswith("❌")


def test_a_reply_outside_the_schema_is_said_and_is_no_refusal(small_model):
    small_model.queue("reasoning", "Les phrases 3 et 4.")
    _events, final = _run(SUPPLIERS)
    answer = final["messages"][-1].content
    assert answer.startswith(UNREADABLE.split(" (")[0]) and "**Sources**" in answer and "❌" not in answer


def test_the_structured_format_is_filled_in_code(small_model):
    small_model.queue("reasoning", pick_containing("fournisseurs"), "Les fournisseurs sont qualifiés et suivis.")
    _events, final = _run(SUPPLIERS, structured=True)
    answer = final["messages"][-1].content
    assert all(structured_sections_present(answer).values()), answer
    assert "## Synthèse\nLes fournisseurs sont qualifiés et suivis." in answer
    assert "- Partie I, chapitre 5, §5.27" in answer.split("## Références")[1].split("## Synthèse")[0]


def test_a_capable_model_still_drafts_the_answer(guide_index, scripted_models):
    scripted_models.queue("reasoning", "Les fournisseurs doivent être qualifiés [Partie I, chapitre 5, §5.27].")
    _events, final = _run(SUPPLIERS)
    (call,) = scripted_models.calls("reasoning")
    assert "<extraits>" in call[0].content and "<phrases>" not in call[0].content
    assert final["messages"][-1].content.startswith("Les fournisseurs doivent être qualifiés")


def test_the_answer_streams_once_with_one_source_event_per_passage(small_model):
    from server.app import create_app

    small_model.queue("fast", "regulatory_analysis")
    small_model.queue("reasoning", pick_containing("fournisseurs"), "Les fournisseurs sont qualifiés.")
    body = {"model": "relais-regulatory-analysis", "stream": True, "messages": [{"role": "user", "content": SUPPLIERS}]}
    with TestClient(create_app(), client=("127.0.0.1", 50000)) as client:
        response = client.post("/v1/chat/completions", json=body)
    chunks = [json.loads(line[6:]) for line in response.text.split("\n") if line.startswith("data: {")]
    content = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk.get("choices"))
    assert content.startswith("Les fournisseurs sont qualifiés.") and content.count(SELECTION_527) == 1
    names = [chunk["event"]["data"]["source"]["name"] for chunk in chunks
             if chunk.get("event", {}).get("type") == "source"]
    assert len(names) == len(set(names)) >= 2

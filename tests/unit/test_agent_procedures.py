"""Procedures agent: SOP drafted as structured output, rendered in the company structure, exported to .docx."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
from docx import Document
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage, HumanMessage

from agents import build_agent_graph, get_spec
from relais.documents import export_path
from relais.settings import get_settings

NOTES = """Rédige une SOP à partir de mes notes.
Nettoyage de la cuve C-12 après chaque lot : l'opérateur vidange, rince à l'eau purifiée,
le chef d'équipe vérifie visuellement et signe le formulaire F-NET-12."""

DRAFT = {
    "title": "Nettoyage de la cuve C-12",
    "purpose": "Prévenir la contamination croisée entre deux lots.",
    "scope": "Cuve C-12 de l'atelier des formes liquides.",
    "responsibilities": [{"role": "Opérateur de production", "duties": "Réalise le nettoyage."},
                         {"role": "Chef d'équipe", "duties": "Vérifie et signe."}],
    "definitions": [{"term": "EP", "definition": "Eau purifiée."}],
    "steps": [{"actor": "Opérateur de production", "action": "Vidanger la cuve."},
              {"actor": "Opérateur de production", "action": "Rincer à l'eau purifiée.", "details": "Volume : ?"},
              {"actor": "Chef d'équipe", "action": "Vérifier visuellement et signer le formulaire F-NET-12."}],
    "records": [{"name": "Formulaire F-NET-12"}],
    "references": [],
    "missing_information": ["Quel volume d'eau purifiée utiliser pour le rinçage ?",
                            "Quelle durée d'archivage pour le formulaire F-NET-12 ?"],
}


@pytest.fixture
def graph():
    return build_agent_graph(get_spec("procedures"))


def _run(graph, text, *history):
    events, state = [], None
    for mode, data in graph.stream({"messages": [*history, HumanMessage(text)]}, stream_mode=["custom", "values"]):
        if mode == "custom":
            events.append(data)
        else:
            state = data
    return state, events


def _exported_path(answer: str):
    url = answer.split("](")[-1].rstrip(")")
    _, _, file_id, name = urlparse(url).path.split("/")
    return export_path(file_id, name)


def test_sop_is_rendered_in_the_company_structure_with_missing_information_first(graph, scripted_models):
    scripted_models.queue("drafting", DRAFT)
    state, events = _run(graph, NOTES)
    answer = state["messages"][-1].content
    assert answer.index("Informations à compléter") < answer.index("# Nettoyage de la cuve C-12")
    assert "Quel volume d'eau purifiée" in answer
    sections = [line for line in answer.splitlines() if line.startswith("## ")]
    assert sections == ["## 1. Objet", "## 2. Domaine d'application", "## 3. Responsabilités",
                        "## 4. Définitions et abréviations", "## 5. Déroulement", "## 6. Enregistrements",
                        "## 7. Références", "## 8. Historique des révisions"]
    assert "| 5.3 | Chef d'équipe | Vérifier visuellement" in answer
    assert "| Formulaire F-NET-12 | [à compléter] |" in answer  # archiving not in the notes: not invented
    statuses = [event["description"] for event in events if event["type"] == "status"]
    assert any("rédaction" in text for text in statuses) and any("export" in text for text in statuses)
    assert events[-1]["done"] is True


def test_docx_export_has_headings_numbered_steps_tables_and_signature_block(graph, scripted_models):
    scripted_models.queue("drafting", DRAFT)
    state, events = _run(graph, NOTES)
    answer = state["messages"][-1].content
    path = _exported_path(answer)
    assert path.parent.parent == (get_settings().data_dir / "exports").resolve()
    word = Document(str(path))
    headings = [p.text for p in word.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:8] == ["1. Objet", "2. Domaine d'application", "3. Responsabilités",
                            "4. Définitions et abréviations", "5. Déroulement", "6. Enregistrements",
                            "7. Références", "8. Historique des révisions"]
    assert headings[-1] == "Informations à compléter avant vérification"
    signature, responsibilities, _definitions, steps, _records, revisions = word.tables
    assert [c.text for c in signature.rows[0].cells] == ["", "Rédaction", "Vérification", "Approbation"]
    assert [c.text for c in responsibilities.rows[1].cells] == ["Opérateur de production", "Réalise le nettoyage."]
    assert [row.cells[0].text for row in steps.rows] == ["N°", "5.1", "5.2", "5.3"]
    assert [c.text for c in revisions.rows[1].cells] == ["01", "[à compléter]", "Création"]
    source = next(e for e in events if e["type"] == "sources")["sources"][0]
    assert source["url"] in answer and state["sources"][0]["url"] == source["url"]


def test_the_model_drafts_from_the_template_and_the_whole_conversation(graph, scripted_models):
    scripted_models.queue("drafting", DRAFT)
    earlier = [HumanMessage("Rédige une SOP de nettoyage"), AIMessage("Informations à compléter : fréquence ?")]
    _run(graph, "La fréquence est : après chaque lot.", *earlier)
    model = scripted_models.model("drafting")
    system, *conversation = model.last_messages
    assert "<modele>" in system.content and "Domaine d'application" in system.content
    assert [m.content for m in conversation] == [earlier[0].content, earlier[1].content,
                                                 "La fréquence est : après chaque lot."]


def test_gaps_in_the_structure_are_asked_for_not_invented(graph, scripted_models):
    scripted_models.queue("drafting", {**DRAFT, "steps": [], "responsibilities": [], "missing_information": []})
    state, _ = _run(graph, NOTES)
    answer = state["messages"][-1].content
    assert "Les étapes du déroulement" in answer and "Les fonctions responsables" in answer
    assert "## 5. Déroulement\n\n[à compléter]" in answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("   ", "la demande est vide"),
        ("/sop", "la demande est vide"),
        ("x" * 30_001, "au-delà de la limite"),
        ("Rédige la SOP de nettoyage en PDF", "« pdf » n'est pas pris en charge"),
        ("Rédige la SOP et exporte-la au format xlsx", "« xlsx » n'est pas pris en charge"),
    ],
)
def test_bad_requests_are_answered_clearly_without_calling_the_model(graph, scripted_models, text, expected):
    state, events = _run(graph, text)
    assert expected in state["messages"][-1].content
    assert scripted_models.calls("drafting") == []
    assert events[-1]["done"] is True


def test_request_limit_follows_the_setting(graph, scripted_models, monkeypatch):
    monkeypatch.setenv("RELAIS_AGENT_REQUEST_MAX_CHARS", "50")
    get_settings.cache_clear()
    state, _ = _run(graph, "Rédige une SOP " + "notes " * 20)
    assert "limite de 50" in state["messages"][-1].content


def test_unusable_model_output_gives_a_clear_message_and_no_export(graph, scripted_models):
    scripted_models.queue("drafting", "Voici la procédure : 1. Objet ...")  # prose, not the schema
    state, events = _run(graph, NOTES)
    answer = state["messages"][-1].content
    assert "n'a pas produit un document exploitable" in answer
    assert not (get_settings().data_dir / "exports").exists()
    assert not any(event["type"] == "sources" for event in events)


def test_through_the_api_the_rendered_sop_reaches_the_client_and_no_json_leaks(scripted_models):
    from server.app import create_app

    scripted_models.queue("drafting", DRAFT)
    body = {"model": "relais-procedures", "stream": True, "messages": [{"role": "user", "content": NOTES}]}
    with TestClient(create_app(), client=("127.0.0.1", 50000)) as client:
        response = client.post("/v1/chat/completions", json=body)
    chunks = [json.loads(line[6:]) for line in response.text.split("\n") if line.startswith("data: {")]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    assert content.lstrip().startswith("**Informations à compléter**")
    assert '"purpose"' not in content and "## 5. Déroulement" in content
    statuses = [c["event"]["data"]["description"] for c in chunks if c.get("event", {}).get("type") == "status"]
    assert any("export Word" in text for text in statuses)


def test_a_revision_described_by_the_user_fills_the_history_without_invented_dates(graph, scripted_models):
    history = [{"version": "01", "date": "12/03/2024", "change": "Création"},
               {"version": "02", "change": "Ajout de la vérification par le chef d'équipe"}]
    scripted_models.queue("drafting", {**DRAFT, "revision_history": history})
    state, _ = _run(graph, "Révise la SOP-PROD-012 (v01 du 12/03/2024) : ajoute la vérification du chef d'équipe")
    answer = state["messages"][-1].content
    assert "| 01 | 12/03/2024 | Création |" in answer
    assert "| 02 | [à compléter] | Ajout de la vérification par le chef d'équipe |" in answer



def test_an_attached_document_reaches_the_drafting_model_fenced(graph, scripted_models):
    from tests.fakes.openwebui_rag import rag_user_message

    scripted_models.queue("drafting", DRAFT)
    notes = "Nettoyage de la cuve C-12 : vidange, rinçage à l'eau purifiée, contrôle visuel."
    graph.invoke({"messages": [HumanMessage(rag_user_message("Rédige une SOP à partir de ce document", [
        ("notes-cuve.txt", notes)]))]})
    request = scripted_models.calls("drafting")[-1][-1].text
    assert request.startswith("Rédige une SOP à partir de ce document\n\n<donnees_externes") and notes in request
    assert "Respond to the user query" not in request

"""The regulatory agent end to end on the real GMP-guide index, with the scripted fake model."""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import HumanMessage

from graphs.supervisor import agent_graph
from retrievers.citations import QUOTE_REMOVED, REFERENCE_FLAG

pytestmark = pytest.mark.integration

FALSE_QUOTE = "« Le personnel doit suivre une formation annuelle de quarante heures en laboratoire »"


def _true_quote_from_extracts(messages) -> str:
    """Answer like a careful model: quote a sentence that really is in the first extract."""
    system = messages[0].content
    extract = re.search(r"<extrait\s[^>]*>\s*(.+?)</extrait>", system, re.DOTALL).group(1)
    words = re.sub(r"\s+", " ", extract).split(" ")
    quote = " ".join(words[2:14])
    return (f"Le guide l'exige : « {quote} » (Partie I, chapitre 2).\n"
            f"Il ajoute aussi {FALSE_QUOTE} (Partie I, chapitre 10).\n\nFiabilité : ✅ appuyé sur les extraits.")


def _run(text: str, structured: bool = False) -> dict:
    return agent_graph("regulatory_analysis").invoke({"messages": [HumanMessage(text)], "structured": structured})


def test_true_quote_kept_false_quote_removed_bad_reference_flagged(guide_index, scripted_models):
    scripted_models.queue("reasoning", _true_quote_from_extracts)
    result = _run("Quelles sont les exigences pour la formation du personnel travaillant en production ?")
    answer = result["messages"][-1].content
    kept = re.search(r"« (.+?) »", _true_quote_from_extracts(scripted_models.calls("reasoning")[-1])).group(1)
    assert kept in answer
    assert "quarante heures" not in answer and QUOTE_REMOVED in answer
    assert REFERENCE_FLAG in answer
    assert "Fiabilité : ⚠️" in answer or "⚠️" in answer
    assert "Sources" in answer
    assert result["sources"] and all(source["metadata"].get("part") for source in result["sources"])
    assert all(source["metadata"].get("chapter") and source["title"].startswith("BPF Partie")
               for source in result["sources"])


def test_question_the_guide_does_not_cover_is_refused_without_a_model_call(guide_index, scripted_models):
    result = _run("Quel est le cours de bourse de l'action Sanofi et faut-il en acheter ?")
    answer = result["messages"][-1].content
    assert "ne traite pas de cette question" in answer and "Ce que j'ai cherché" in answer
    assert "«" not in answer  # guillemets would read as a quotation of the guide, and fail its check
    assert scripted_models.calls("reasoning") == []


def test_bpf_structured_format_is_asked_for(guide_index, scripted_models):
    scripted_models.queue("reasoning", "## Parties concernées\nPartie I\n\n## Fiabilité\n✅")
    _run("formation du personnel", structured=True)
    system = scripted_models.calls("reasoning")[-1][0].content
    assert "## Comparaison entre parties" in system and "## Citations exactes" in system


def test_missing_index_names_the_ingest_command(scripted_models):
    result = _run("formation du personnel")
    assert "relais ingest --collection bpf" in result["messages"][-1].content
    assert scripted_models.calls("reasoning") == []


def test_an_attached_document_is_fenced_and_the_guide_is_searched_with_the_users_words(guide_index, scripted_models):
    from tests.fakes.openwebui_rag import rag_user_message

    note = "Compte rendu d'audit interne : les enregistrements de formation du personnel de production manquent."
    question = "Que disent les BPF sur la formation du personnel de production ?"
    scripted_models.queue("reasoning", "Réponse.")
    result = _run(rag_user_message(question, [("audit.txt", note)]))
    request = scripted_models.calls("reasoning")[-1][-1].text
    assert request.startswith(question + "\n\n<donnees_externes source=\"audit.txt\"") and note in request
    assert "Respond to the user query" not in request
    assert any("formation" in source["text"].lower() for source in result["sources"])  # searched on the question

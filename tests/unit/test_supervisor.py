"""The supervisor: topology, decision order (slash > picked model > local router > router model), access."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from graphs import supervisor
from graphs.router.classifier import RouteDecision
from relais.context import Context
from relais.labels import LABELS
from relais.settings import get_settings


class StubRouter:
    def __init__(self, label, confidence):
        self.decision = RouteDecision(label=label, confidence=confidence, method="local")
        self.seen = []

    def decide(self, text):
        self.seen.append(text)
        return self.decision


@pytest.fixture
def graph():
    return supervisor.build_supervisor_graph()


def _use_router(monkeypatch, label, confidence):
    router = StubRouter(label, confidence)
    monkeypatch.setattr(supervisor, "get_router", lambda: router)
    return router


def test_topology_classify_then_one_agent_then_finish(graph):
    drawn = graph.get_graph()
    nodes = set(drawn.nodes)
    assert {"classify_request", "finish", supervisor.REFUSE_NODE, *LABELS} <= nodes
    edges = {(edge.source, edge.target) for edge in drawn.edges}
    assert ("__start__", "classify_request") in edges
    assert all((label, "finish") in edges for label in LABELS)
    assert ("finish", "__end__") in edges
    assert graph.name == "supervisor"


def test_confident_local_router_decides_without_the_router_model(graph, monkeypatch, scripted_models):
    _use_router(monkeypatch, "code", 0.97)
    scripted_models.queue("code", "def f(): ...")
    result = graph.invoke({"messages": [HumanMessage("Écris une fonction")]})
    assert result["route"] == {"label": "code", "confidence": 0.97, "method": "local"}
    assert result["messages"][-1].content == "def f(): ..."
    assert scripted_models.calls("router") == []


def test_unsure_local_router_asks_the_router_model(graph, monkeypatch, scripted_models):
    _use_router(monkeypatch, "general", 0.05)
    scripted_models.queue("router", {"label": "procedures", "reason": "une SOP est demandée"})
    scripted_models.queue("drafting", "1. Objet ...")
    result = graph.invoke({"messages": [HumanMessage("Notes pour le nettoyage de la cuve")]})
    assert result["route"]["label"] == "procedures" and result["route"]["method"] == "model"
    assert len(scripted_models.calls("router")) == 1


def test_unsure_local_router_keeps_its_guess_when_the_router_model_would_be_the_embedded_one(
        graph, monkeypatch, scripted_models):
    _use_router(monkeypatch, "procedures", 0.05)
    # No model server, no Mistral key: the router role resolves to the embedded model only.
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.delenv("RELAIS_LOCAL_BASE_URL", raising=False)
    monkeypatch.setenv("RELAIS_MODELS", "drafting=fake:drafting")
    get_settings.cache_clear()
    requested_roles = []
    real_get_chat_model = supervisor.get_chat_model

    def recording_get_chat_model(role, *args, **kwargs):
        requested_roles.append(role)
        return real_get_chat_model(role, *args, **kwargs)

    monkeypatch.setattr(supervisor, "get_chat_model", recording_get_chat_model)
    scripted_models.queue("drafting", "1. Objet ...")
    result = graph.invoke({"messages": [HumanMessage("Notes pour le nettoyage de la cuve")]})
    assert result["route"] == {"label": "procedures", "confidence": 0.05, "method": "local"}
    assert "router" not in requested_roles


def test_router_model_failure_keeps_the_local_decision(graph, monkeypatch, scripted_models):
    _use_router(monkeypatch, "general", 0.05)
    scripted_models.queue("router", RuntimeError("router down"))
    scripted_models.queue("fast", "réponse générale")
    result = graph.invoke({"messages": [HumanMessage("???")]})
    assert result["route"]["label"] == "general" and result["route"]["method"] == "local"
    assert result["messages"][-1].content == "réponse générale"


def test_picked_model_wins_over_the_router(graph, monkeypatch, scripted_models):
    router = _use_router(monkeypatch, "code", 0.99)
    scripted_models.queue("translation", {"translations": ["Hello"]})
    result = graph.invoke({"messages": [HumanMessage("Bonjour")]}, context=Context(requested_agent="translation"))
    assert result["route"] == {"label": "translation", "confidence": 1.0, "method": "explicit"}
    assert router.seen == []


def test_slash_command_wins_and_is_stripped_before_the_agent(graph, monkeypatch, scripted_models):
    _use_router(monkeypatch, "general", 0.99)
    scripted_models.queue("code", "ok")
    result = graph.invoke({"messages": [HumanMessage("/code trier une liste")]},
                          context=Context(requested_agent="general"))
    assert result["route"]["method"] == "slash" and result["route"]["label"] == "code"
    assert scripted_models.calls("code")[-1][-1].content == "trier une liste"
    assert result["messages"][0].content == "trier une liste"


def test_bpf_slash_command_asks_for_the_structured_format():
    route, rest, structured = supervisor.decide_route("/bpf formation du personnel", None, {})
    assert route["label"] == "regulatory_analysis" and structured is True and rest == "formation du personnel"


def test_forbidden_agent_falls_back_to_general(graph, monkeypatch, scripted_models):
    _use_router(monkeypatch, "code", 0.99)
    scripted_models.queue("fast", "réponse générale")
    result = graph.invoke({"messages": [HumanMessage("un script")]},
                          context=Context(allowed_agents=("general", "translation")))
    assert result["route"]["label"] == "general" and result["route"]["method"].endswith("+access")
    assert scripted_models.calls("code") == []


def test_no_allowed_agent_is_refused_plainly(graph, monkeypatch, scripted_models):
    _use_router(monkeypatch, "code", 0.99)
    result = graph.invoke({"messages": [HumanMessage("un script")]}, context=Context(allowed_agents=("translation",)))
    assert "n'a pas accès" in result["messages"][-1].content
    assert scripted_models.calls("code") == []


def test_permissions_are_not_part_of_the_graph_input():
    from relais.state import InputState

    assert "allowed_agents" not in InputState.__annotations__ and "requested_agent" not in InputState.__annotations__


def test_attached_documents_are_not_what_is_routed(graph, monkeypatch, scripted_models):
    """The router reads the user's words, not Open WebUI's RAG template nor the attached file's text."""
    from tests.fakes.openwebui_rag import rag_user_message

    router = _use_router(monkeypatch, "contract_clauses", 0.99)
    scripted_models.queue("drafting", "revue")
    message = rag_user_message("Relis ce contrat", [("contrat.md", "def main():\n    import os  # code-like text")])
    graph.invoke({"messages": [HumanMessage(message)]}, context=Context())
    assert router.seen == ["Relis ce contrat"]


def test_a_slash_command_with_an_attachment_keeps_the_document(graph, monkeypatch, scripted_models):
    _use_router(monkeypatch, "general", 0.99)
    scripted_models.queue("code", "ok")
    message = rag_user_message_for("/code explique ce script", "script.py", "print('bonjour')")
    result = graph.invoke({"messages": [HumanMessage(message)]}, context=Context())
    assert result["route"]["method"] == "slash" and result["route"]["label"] == "code"
    sent = scripted_models.calls("code")[-1][-1].content
    assert "print('bonjour')" in sent and "/code" not in sent
    # the answer step fences the document as data after the user's words, Open WebUI's template dropped
    assert sent.startswith("explique ce script\n\n<donnees_externes") and "Respond to the user query" not in sent


def rag_user_message_for(user_text: str, name: str, text: str) -> str:
    from tests.fakes.openwebui_rag import rag_user_message

    return rag_user_message(user_text, [(name, text)])

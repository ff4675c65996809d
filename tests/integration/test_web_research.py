"""Web research against a local search engine and local pages: search, read, search again when the pages
miss the question's terms, cite only the pages read; an unreachable web is said plainly."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, ToolMessage

from agents import build_agent_graph, get_spec
from agents.web_research.graph import MAX_SEARCH_ROUNDS
from relais.settings import get_settings
from tests.fakes import web_server
from tests.fakes.scripted_model import tool_call
from tests.fakes.web_server import FakeWeb
from tools import web

pytestmark = pytest.mark.integration


@pytest.fixture
def fake_web(monkeypatch):
    with FakeWeb() as server:
        monkeypatch.setenv("RELAIS_WEB_SEARCH", "searxng")
        monkeypatch.setenv("RELAIS_SEARXNG_URL", server.url)
        monkeypatch.setenv("RELAIS_WEB_ALLOW_PRIVATE", "true")  # the local pages live on 127.0.0.1, refused by default
        get_settings.cache_clear()
        yield server


def test_research_reads_the_pages_main_text_and_falls_back_to_snippets(fake_web):
    sources = web.research("annexe 1 BPF", max_results=5, pages=3)
    assert fake_web.queries == ["annexe 1 BPF"]
    assert [source["url"] for source in sources] == [f"{fake_web.url}/pages/annexe1", f"{fake_web.url}/pages/missing",
                                                     f"{fake_web.url}/pages/ema"]
    assert "stratégie de contrôle de la contamination" in sources[0]["text"]
    assert "Menu Menu" not in sources[0]["text"] and "mentions légales" not in sources[0]["text"]
    assert sources[1]["text"] == "extrait de secours"


def test_non_html_page_is_not_read(fake_web):
    assert web.fetch_page_text(f"{fake_web.url}/pages/binary") == ""


def test_search_failure_is_web_unavailable(fake_web):
    fake_web.fail_search = True
    with pytest.raises(web.WebUnavailable, match="SearXNG"):
        web.search_web("annexe 1")


def test_ddgs_offline_is_web_unavailable_at_once(monkeypatch):
    from ddgs import DDGS
    from ddgs.exceptions import DDGSException

    def offline(self, query, **kwargs):
        raise DDGSException("No results found.")

    monkeypatch.setattr(DDGS, "text", offline)
    with pytest.raises(web.WebUnavailable):
        web.search_web("annexe 1")


def test_web_search_tool_returns_numbered_pages_and_sources(fake_web):
    message = web.web_search.invoke({"name": "web_search", "args": {"query": "annexe 1"}, "id": "c1",
                                     "type": "tool_call"})
    assert message.content.startswith("[1] Révision de l'Annexe 1")
    assert message.artifact[0]["url"].endswith("/pages/annexe1")


def test_agent_answers_from_the_pages_with_their_urls_as_sources(fake_web, scripted_models):
    scripted_models.queue("fast", "L'Annexe 1 révisée impose une CCS [1].")
    result = build_agent_graph(get_spec("web_research")).invoke({"messages": [HumanMessage("Annexe 1 révisée ?")]})
    system = scripted_models.calls("fast")[-1][0].content
    assert "<extraits>" in system and "stratégie de contrôle de la contamination" in system
    assert result["sources"][0]["url"].endswith("/pages/annexe1")
    answer = result["messages"][-1].content
    assert answer.startswith("L'Annexe 1 révisée impose une CCS [1].\n\n---\n**Pages consultées**")
    assert f"1. [Révision de l'Annexe 1]({fake_web.url}/pages/annexe1) — citée" in answer
    assert "/pages/missing) — non citée ; page illisible : seul l'extrait du moteur de recherche a été lu" in answer
    assert len(scripted_models.calls("fast")) == 1  # the pages held the question's terms: no reformulation


def test_agent_says_the_web_is_unreachable_and_calls_no_model(fake_web, scripted_models):
    fake_web.fail_search = True
    result = build_agent_graph(get_spec("web_research")).invoke({"messages": [HumanMessage("Annexe 1 ?")]})
    assert "pas pu consulter le web" in result["messages"][-1].content
    assert result.get("sources", []) == [] and scripted_models.calls("fast") == []


def test_pages_on_loopback_are_refused_without_the_setting(fake_web, monkeypatch):
    monkeypatch.delenv("RELAIS_WEB_ALLOW_PRIVATE")
    get_settings.cache_clear()
    sources = web.research("annexe 1 BPF", max_results=5, pages=3)
    assert [source["text"] for source in sources] == ["extrait annexe 1", "extrait de secours", "extrait EMA"]


# --- search again when the pages do not answer; cite only what was read ---------------------------------

QUESTION = "Quelle limite l'EMA fixe-t-elle pour les nitrosamines ?"
NITROSAMINES = ("EMA : limites des nitrosamines",
                "L'EMA fixe une limite d'apport acceptable pour chaque nitrosamine, calculée sur la durée de "
                "traitement, et demande aux titulaires une évaluation des risques de chaque médicament.")


def _nitrosamine_results(query, base):
    """The question as asked finds pages off the subject; a query naming nitrosamines finds the page."""
    first = [{"title": "Révision de l'Annexe 1", "url": f"{base}/pages/annexe1", "content": "annexe 1"},
             {"title": "EMA", "url": f"{base}/pages/ema", "content": "EMA"}]
    if "nitrosamines" in query and "?" not in query:
        return [first[0], {"title": NITROSAMINES[0], "url": f"{base}/pages/nitrosamines", "content": "limites"}]
    return first


@pytest.fixture
def nitrosamine_web(monkeypatch):
    monkeypatch.setitem(web_server.PAGES, "/pages/nitrosamines", NITROSAMINES)
    with FakeWeb(results=_nitrosamine_results) as server:
        monkeypatch.setenv("RELAIS_WEB_SEARCH", "searxng")
        monkeypatch.setenv("RELAIS_SEARXNG_URL", server.url)
        monkeypatch.setenv("RELAIS_WEB_ALLOW_PRIVATE", "true")
        get_settings.cache_clear()
        yield server


def _research(question):
    events, state = [], None
    graph = build_agent_graph(get_spec("web_research"))
    for mode, data in graph.stream({"messages": [HumanMessage(question)]}, stream_mode=["custom", "values"]):
        if mode == "custom":
            events.append(data)
        else:
            state = data
    return state, [event["description"] for event in events if event["type"] == "status"]


def test_pages_that_miss_the_question_lead_to_a_reformulated_search(nitrosamine_web, scripted_models):
    base = nitrosamine_web.url
    scripted_models.queue("fast", {"queries": ["EMA nitrosamines limite acceptable"]},
                          f"L'EMA fixe une limite d'apport acceptable par nitrosamine [3]. Voir {base}/pages/ema "
                          "et https://www.ema.europa.eu/nitrosamines [7].")
    state, statuses = _research(QUESTION)
    assert nitrosamine_web.queries == [QUESTION, "EMA nitrosamines limite acceptable"]
    plan = scripted_models.calls("fast")[0][-1].content
    assert "nitrosamines" in plan.split("<termes_absents_des_pages>")[1]  # the model is told what the pages missed
    assert [f"Recherche web : « {QUESTION} »…", f"Recherche web : page lue — {base}/pages/annexe1",
            f"Recherche web : page lue — {base}/pages/ema"] == statuses[:3]
    assert "Recherche web : les pages trouvées ne répondent pas, reformulation de la recherche…" in statuses
    assert "Recherche web : nouvelle recherche — « EMA nitrosamines limite acceptable »" in statuses
    reads = [text for text in statuses if text.startswith("Recherche web : page lue")]
    assert reads == [f"Recherche web : page lue — {base}/pages/{name}" for name in ("annexe1", "ema", "nitrosamines")]
    assert "sur la durée de traitement" in scripted_models.calls("fast")[1][0].content  # the page found is an extract
    answer = state["messages"][-1].content
    assert f"3. [{NITROSAMINES[0]}]({base}/pages/nitrosamines) — citée" in answer
    assert f"2. [EMA]({base}/pages/ema) — citée" in answer  # cited by its address
    assert "⚠️ Citation sans page correspondante : [7]" in answer
    assert "jamais consultée (à vérifier avant tout usage) : https://www.ema.europa.eu/nitrosamines" in answer
    assert statuses[-1] == "Recherche web : 2 page(s) citée(s) sur 3 lue(s), 2 citation(s) sans page lue"
    assert [source["url"] for source in state["sources"]] == [f"{base}/pages/{name}"
                                                              for name in ("annexe1", "ema", "nitrosamines")]


def test_without_a_usable_reformulation_the_question_key_terms_make_the_query(nitrosamine_web, scripted_models):
    scripted_models.queue("fast", "je ne sais pas faire du JSON", "Réponse [3].")
    _research(QUESTION)
    assert nitrosamine_web.queries[1] == "limite fixe nitrosamines EMA"  # missing terms first, then the others


def test_searches_stop_after_the_last_round_and_the_answer_gets_no_more_searching(nitrosamine_web, scripted_models):
    scripted_models.queue("fast", {"queries": ["annexe 1 EMA"]}, {"queries": ["EMA lignes directrices"]},
                          "Les pages trouvées ne traitent pas des nitrosamines.")
    state, _ = _research(QUESTION)
    assert len(nitrosamine_web.queries) == MAX_SEARCH_ROUNDS == 3
    answer_call = scripted_models.model("fast").call_kwargs[-1]
    assert "tools" not in answer_call  # every search is spent: web_search is no longer offered
    assert state["messages"][-1].content.startswith("Les pages trouvées ne traitent pas des nitrosamines.")


def test_the_model_may_search_again_while_the_pages_miss_a_key_term(nitrosamine_web, scripted_models):
    question = "Quelle limite l'EMA fixe-t-elle pour les nitrosamines en 2025 ?"  # no page says 2025
    scripted_models.queue("fast", {"queries": ["EMA nitrosamines limite acceptable"]},
                          tool_call("web_search", {"query": "EMA nitrosamines 2025"}), "Réponse [3].")
    state, statuses = _research(question)
    assert nitrosamine_web.queries == [question, "EMA nitrosamines limite acceptable", "EMA nitrosamines 2025"]
    calls, kwargs = scripted_models.calls("fast"), scripted_models.model("fast").call_kwargs
    assert [tool["function"]["name"] for tool in kwargs[1]["tools"]] == ["web_search"]
    offered = calls[1][0].content.split("<recherches_faites>")[1]
    assert "EMA nitrosamines limite acceptable" in offered and "absents des pages lues : 2025." in offered
    assert "tools" not in kwargs[2]  # the last search is spent
    # the pages the tool found are extracts; the tool exchange itself is never shown to the model again
    assert [type(message).__name__ for message in calls[2]] == ["SystemMessage", "HumanMessage"]
    reply = next(message for message in state["messages"] if isinstance(message, ToolMessage))
    assert reply.content == "Aucune page nouvelle : les pages trouvées sont déjà dans les extraits."
    assert "Recherche web : outil « web_search »…" in statuses
    assert "Recherche web : « EMA nitrosamines 2025 »…" in statuses


def test_pages_holding_every_key_term_are_answered_without_offering_a_search(nitrosamine_web, scripted_models):
    scripted_models.queue("fast", {"queries": ["EMA nitrosamines limite acceptable"]}, "Réponse [3].")
    _research(QUESTION)
    assert "tools" not in scripted_models.model("fast").call_kwargs[1]


def test_a_search_the_model_asks_for_adds_its_new_pages_after_the_others(monkeypatch, scripted_models):
    def results(query, base):
        if "nitro" in query:
            return [{"title": NITROSAMINES[0], "url": f"{base}/pages/nitrosamines", "content": "x"}]
        return [{"title": "Révision de l'Annexe 1", "url": f"{base}/pages/annexe1", "content": "annexe 1"},
                {"title": "Page disparue", "url": f"{base}/pages/missing", "content": "extrait de secours"},
                {"title": "EMA", "url": f"{base}/pages/ema", "content": "extrait EMA"}]

    monkeypatch.setitem(web_server.PAGES, "/pages/nitrosamines", NITROSAMINES)
    with FakeWeb(results=results) as server:
        monkeypatch.setenv("RELAIS_WEB_SEARCH", "searxng")
        monkeypatch.setenv("RELAIS_SEARXNG_URL", server.url)
        monkeypatch.setenv("RELAIS_WEB_ALLOW_PRIVATE", "true")
        get_settings.cache_clear()
        scripted_models.queue("fast", tool_call("web_search", {"query": "nitrosamines EMA"}), "Réponse [4].")
        state, _ = _research("Annexe 1 révisée : quelles exigences pour la CCS ?")  # no page says « exigences »
    reply = next(message for message in state["messages"] if isinstance(message, ToolMessage))
    assert reply.content == f"Pages ajoutées aux extraits : [4] {NITROSAMINES[0]} — {server.url}/pages/nitrosamines"
    second_prompt = scripted_models.calls("fast")[1][0].content
    assert f"[4] {server.url}/pages/nitrosamines" in second_prompt and "durée de traitement" in second_prompt
    assert f"4. [{NITROSAMINES[0]}]({server.url}/pages/nitrosamines) — citée" in state["messages"][-1].content


def test_nothing_found_after_every_round_is_said_without_an_answer_call(monkeypatch, scripted_models):
    with FakeWeb(results=[]) as server:
        monkeypatch.setenv("RELAIS_WEB_SEARCH", "searxng")
        monkeypatch.setenv("RELAIS_SEARXNG_URL", server.url)
        get_settings.cache_clear()
        scripted_models.queue("fast", {"queries": ["nitrosamines limite"]}, {"queries": ["nitrosamines EMA"]})
        state, _ = _research(QUESTION)
    assert "aucun résultat exploitable" in state["messages"][-1].content
    assert len(server.queries) == 3 and len(scripted_models.calls("fast")) == 2  # two reformulations, no answer


def test_the_search_tool_never_sends_personal_data_to_the_engine(fake_web):
    reply = web.web_search.invoke({"query": "dossier de M. Jean Dupont, NIR 1 85 05 78 006 084 91"})
    assert reply.startswith("Requête refusée") and fake_web.queries == []


def test_with_an_attached_document_only_the_users_words_go_to_the_search_engine(fake_web, scripted_models):
    from tests.fakes.openwebui_rag import rag_user_message

    note = "Note interne confidentielle : le fournisseur X livre en retard depuis mars."
    message = rag_user_message("Annexe 1 révisée ?", [("note.txt", note)])
    scripted_models.queue("fast", "L'Annexe 1 révisée impose une CCS [1].")
    build_agent_graph(get_spec("web_research")).invoke({"messages": [HumanMessage(message)]})
    assert fake_web.queries and all(query == "Annexe 1 révisée ?" for query in fake_web.queries)
    request = scripted_models.calls("fast")[-1][-1].text
    assert request.startswith("Annexe 1 révisée ?\n\n<donnees_externes") and note in request

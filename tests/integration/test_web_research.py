"""Web research against a local search engine and local pages; an unreachable web is said plainly."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from agents import build_agent_graph, get_spec
from relais.settings import get_settings
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
    assert result["messages"][-1].content == "L'Annexe 1 révisée impose une CCS [1]."


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

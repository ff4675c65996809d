"""Web search and page reading for the web-research agent.

Search goes through `ddgs` (the maintained successor of duckduckgo-search) or, by configuration,
a self-hosted SearXNG instance (its JSON API). Pages are fetched with httpx and their main text
extracted with trafilatura. An unreachable web is reported as such: never an invented source.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from langchain_core.tools import tool

from relais.settings import get_settings
from relais.sources import Source

logger = logging.getLogger(__name__)

MAX_PAGE_BYTES = 3_000_000
PAGE_TEXT_CHARS = 4_000  # what one page may put in front of the model
USER_AGENT = "Relais-web-research/0.1 (internal assistant)"


class WebUnavailable(RuntimeError):
    """The search engine could not be reached or refused the query."""


@dataclass(frozen=True)
class SearchResult:
    """One search hit."""

    title: str
    url: str
    snippet: str


def search_web(query: str, max_results: int = 5) -> list[SearchResult]:
    """Search the web with the configured backend (`RELAIS_WEB_SEARCH`: ddgs or searxng)."""
    settings = get_settings()
    if not query.strip():
        raise ValueError("empty search query")
    if settings.web_search == "searxng":
        return _search_searxng(query, max_results)
    return _search_ddgs(query, max_results)


def _search_ddgs(query: str, max_results: int) -> list[SearchResult]:
    from ddgs import DDGS
    from ddgs.exceptions import DDGSException

    settings = get_settings()
    try:
        rows = DDGS(timeout=int(settings.web_timeout_s)).text(
            query, max_results=max_results, backend=settings.ddgs_backend, region="fr-fr"
        )
    except DDGSException as error:  # offline, blocked, rate-limited, or timed out
        raise WebUnavailable(f"recherche web impossible ({error})") from error
    return [SearchResult(row.get("title", ""), row.get("href", ""), row.get("body", "")) for row in rows or []]


def _search_searxng(query: str, max_results: int) -> list[SearchResult]:
    settings = get_settings()
    if not settings.searxng_url:
        raise WebUnavailable("RELAIS_WEB_SEARCH=searxng needs RELAIS_SEARXNG_URL")
    try:
        response = httpx.get(f"{settings.searxng_url.rstrip('/')}/search", timeout=settings.web_timeout_s,
                             params={"q": query, "format": "json", "language": "fr"},
                             headers={"User-Agent": USER_AGENT})
        response.raise_for_status()
        rows = response.json().get("results", [])
    except (httpx.HTTPError, ValueError) as error:
        raise WebUnavailable(f"SearXNG injoignable ou réponse invalide ({error})") from error
    return [SearchResult(row.get("title", ""), row.get("url", ""), row.get("content", "")) for row in rows][
        :max_results
    ]


def fetch_page_text(url: str) -> str:
    """The main text of a web page (boilerplate removed), or '' when it cannot be read."""
    settings = get_settings()
    try:
        with httpx.stream("GET", url, timeout=settings.web_timeout_s, follow_redirects=True,
                          headers={"User-Agent": USER_AGENT}) as response:
            response.raise_for_status()
            if "html" not in response.headers.get("content-type", "text/html"):
                return ""
            body = b""
            for block in response.iter_bytes():
                body += block
                if len(body) > MAX_PAGE_BYTES:
                    break
    except httpx.HTTPError as error:
        logger.info("page %s not read: %s", url, error)
        return ""
    import trafilatura

    return (trafilatura.extract(body.decode(response.encoding or "utf-8", "replace"), url=url) or "").strip()


def research(query: str, max_results: int = 5, pages: int = 3) -> list[Source]:
    """Search, read the best pages, and return them as sources (page text, or the snippet if unreadable)."""
    results = [result for result in search_web(query, max_results) if result.url.startswith(("http://", "https://"))]
    chosen = results[:pages]
    with ThreadPoolExecutor(max_workers=max(1, len(chosen))) as pool:
        texts = list(pool.map(fetch_page_text, [result.url for result in chosen]))
    sources = [
        Source(title=result.title or result.url, url=result.url, text=(text or result.snippet)[:PAGE_TEXT_CHARS])
        for result, text in zip(chosen, texts, strict=True)
    ]
    return [source for source in sources if source["text"]]


@tool(response_format="content_and_artifact")
def web_search(query: str) -> tuple[str, list[Source]]:
    """Search the public web and read the best pages. Use for recent or external information."""
    try:
        sources = research(query)
    except WebUnavailable as error:
        return f"Le web est inaccessible : {error}. Aucune source n'a pu être consultée.", []
    if not sources:
        return "La recherche n'a donné aucun résultat exploitable.", []
    blocks = [f"[{number}] {source['title']} — {source['url']}\n{source['text']}"
              for number, source in enumerate(sources, start=1)]
    return "\n\n".join(blocks), sources

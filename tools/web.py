"""Web search and page reading for the web-research agent.

Search goes through `ddgs` (the maintained successor of duckduckgo-search) or, by configuration,
a self-hosted SearXNG instance (its JSON API). Pages are fetched with httpx and their main text
extracted with trafilatura. An unreachable web is reported as such: never an invented source.

The pages to read come from search results, which anyone on the web can shape: a page (or a redirect
from it) could point at the company's own network (an intranet server, a cloud metadata endpoint on
169.254.169.254, a service on loopback). So every hop is checked: the host name is resolved once,
every address it resolves to must be public, and the request goes to that checked address (the
Host header and TLS's SNI and certificate check still use the name), redirects are followed by hand,
at most `MAX_REDIRECTS`, each checked the same way. `RELAIS_WEB_ALLOWED_HOSTS` (host names or
networks) or `RELAIS_WEB_ALLOW_PRIVATE=true` open internal addresses on purpose (tests, intranet).
Page fetches ignore the environment's HTTP proxy variables: through a proxy, the proxy would resolve the
name again, outside the check.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from langchain_core.tools import tool

from relais.events import emit_status
from relais.settings import get_settings
from relais.sources import Source

logger = logging.getLogger(__name__)

MAX_PAGE_BYTES = 3_000_000
MAX_REDIRECTS = 5  # each hop's address is checked before it is requested
PAGE_TEXT_CHARS = 4_000  # what one page may put in front of the model
USER_AGENT = "Relais-web-research/0.1 (internal assistant)"


class WebUnavailable(RuntimeError):
    """The search engine could not be reached or refused the query."""


class BlockedAddress(ValueError):
    """A page address the fetcher refuses to read: not http(s), or not on the public internet."""


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
    """The main text of a web page (boilerplate removed), or '' when it cannot be read or is refused."""
    try:
        body, encoding, final_url = fetch_page(url)
    except BlockedAddress as error:
        logger.warning("page %s refused: %s", url, error)
        return ""
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        logger.info("page %s not read: %s", url, error)
        return ""
    if body is None:
        return ""
    import trafilatura

    return (trafilatura.extract(body.decode(encoding or "utf-8", "replace"), url=final_url) or "").strip()


def fetch_page(url: str, transport: httpx.BaseTransport | None = None) -> tuple[bytes | None, str | None, str]:
    """GET a page, following at most `MAX_REDIRECTS` redirects, each hop's address checked first.

    Returns:
        The body (None when the page is not HTML), its encoding, and the URL it finally came from.

    Raises:
        BlockedAddress: the URL or a redirect points to a non-public address (see `check_address`).
        httpx.HTTPError: the page could not be read (network, status, too many redirects).
    """
    settings = get_settings()
    limits = httpx.Limits(max_keepalive_connections=0)  # a connection serves one checked hop, never another host
    with httpx.Client(transport=transport, limits=limits, timeout=settings.web_timeout_s, follow_redirects=False,
                      trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            target = httpx.URL(url)
            with _get_checked(client, target) as response:
                location = response.headers.get("location") if response.is_redirect else None
                if location is None:
                    response.raise_for_status()
                    if "html" not in response.headers.get("content-type", "text/html"):
                        return None, None, url
                    return _read_capped(response), response.encoding, url
            url = str(target.join(location))
    raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects from the page", request=response.request)


@contextmanager
def _get_checked(client: httpx.Client, target: httpx.URL) -> Iterator[httpx.Response]:
    """Stream a GET of `target` from one of its checked addresses, tried in turn as a browser would."""
    addresses = checked_addresses(target)
    host = target.netloc.decode("ascii").rpartition("@")[2]
    # The request goes to a checked address; the Host header and TLS (SNI, certificate) use the name.
    headers = {"User-Agent": USER_AGENT, "Host": host}
    extensions = {"sni_hostname": target.raw_host.decode("ascii")}
    for number, address in enumerate(addresses, start=1):
        request = client.build_request("GET", target.copy_with(host=str(address)), headers=headers,
                                       extensions=extensions)
        try:
            response = client.send(request, stream=True)
        except httpx.ConnectError:
            if number == len(addresses):
                raise
            continue
        try:
            yield response
        finally:
            response.close()
        return


def _read_capped(response: httpx.Response) -> bytes:
    body = b""
    for block in response.iter_bytes():
        body += block
        if len(body) > MAX_PAGE_BYTES:
            break
    return body


def checked_addresses(target: httpx.URL) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses to connect to for an http(s) URL, every one of them checked.

    The name is resolved once and the connection goes to a checked address (rather than letting the
    client resolve the name again), so a DNS rebinding attack has no window between check and connection.

    Raises:
        BlockedAddress: the scheme is not http(s), the host does not resolve, or an address is not public.
    """
    if target.scheme not in ("http", "https") or not target.host:
        raise BlockedAddress(f"{target} : seules les adresses http(s) vers un site web sont lues")
    return resolve_checked(target.raw_host.decode("ascii"), target.port or (443 if target.scheme == "https" else 80))


def resolve_checked(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses `host` resolves to, in the resolver's order, after checking every one of them.

    Raises:
        BlockedAddress: the name does not resolve, or one of its addresses is not public and neither
            RELAIS_WEB_ALLOW_PRIVATE nor RELAIS_WEB_ALLOWED_HOSTS allows it.
    """
    settings = get_settings()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise BlockedAddress(f"{host} : nom introuvable ({error})") from error
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    if not addresses:
        raise BlockedAddress(f"{host} : nom introuvable")
    if not settings.web_allow_private:
        for address in addresses:
            check_address(host, address, settings.web_allowed_hosts)
    return addresses


def check_address(host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address,
                  allowed_hosts: Sequence[str] = ()) -> None:
    """Refuse an address that is not on the public internet, unless its host is on the allowlist.

    Refused: loopback, private (RFC 1918, IPv6 ULA), link-local (cloud metadata at 169.254.169.254),
    shared (CGNAT), multicast, reserved, unspecified, documentation ranges, IPv4-mapped and NAT64
    IPv6 addresses, and 6to4 addresses that carry a refused IPv4 address.

    Raises:
        BlockedAddress: naming the host, the address and the settings that would allow it.
    """
    if _allowlisted(host, address, allowed_hosts) or is_public_address(address):
        return
    raise BlockedAddress(
        f"{host} pointe vers {address}, une adresse non publique (réseau interne, boucle locale ou réservée) : "
        "la recherche web ne lit que des pages du web public. Pour un site interne, l'administrateur peut "
        "l'ajouter à RELAIS_WEB_ALLOWED_HOSTS (ou poser RELAIS_WEB_ALLOW_PRIVATE=true).")


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is globally routable, including the IPv4 address an IPv6 one may embed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return False  # an IPv4 address in IPv6 clothing (::ffff:a.b.c.d): a public site has no reason to use it
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        return is_public_address(address.sixtofour)  # 2002::/16 routes to the IPv4 address it carries
    # `is_reserved` covers ::/8, hence IPv4-compatible and NAT64 (64:ff9b::/96) forms too.
    return address.is_global and not address.is_multicast and not address.is_reserved


def _allowlisted(host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address,
                 allowed_hosts: Sequence[str]) -> bool:
    name = host.rstrip(".").lower()
    for entry in allowed_hosts:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:  # not an address or a network: a host name, matched exactly
            if entry.rstrip(".").lower() == name:
                return True
    return False


def research(query: str, max_results: int = 5, pages: int = 3, *, skip_urls: Collection[str] = ()) -> list[Source]:
    """Search, read the best pages, and return them as sources (page text, or the snippet if unreadable).

    Each step is a status event (the search, then each page read). Pages in `skip_urls` (already read
    by an earlier search of the same run) are not read again. A source's `metadata["read"]` says
    whether its text is the page's (True) or only the search engine's snippet (False).
    """
    emit_status(f"Recherche web : « {query} »…")
    results = [result for result in search_web(query, max_results)
               if result.url.startswith(("http://", "https://")) and result.url not in skip_urls]
    chosen = results[:pages]
    sources = []
    with ThreadPoolExecutor(max_workers=max(1, len(chosen))) as pool:
        # Read in parallel; statuses are sent from this thread (the stream writer lives in its context).
        for result, text in zip(chosen, pool.map(fetch_page_text, [result.url for result in chosen]), strict=True):
            emit_status(f"Recherche web : page lue — {result.url}" if text else
                        f"Recherche web : page illisible, extrait du moteur gardé — {result.url}")
            sources.append(Source(title=result.title or result.url, url=result.url,
                                  text=(text or result.snippet)[:PAGE_TEXT_CHARS],
                                  metadata={"read": bool(text), "query": query}))
    return [source for source in sources if source["text"]]


@tool(response_format="content_and_artifact")
def web_search(query: str) -> tuple[str, list[Source]]:
    """Search the public web with a new query and read the best pages. Use it when the extracts do not answer."""
    from relais.guard import inspect  # the guard's analyser is heavy: loaded when a search is asked for

    report = inspect([query])
    if not report.is_clean:  # a public search engine is outside the company: nothing personal goes there
        return (f"Requête refusée : elle contient des données personnelles ou confidentielles ({report.summary()}). "
                "Reformule-la sans elles."), []
    try:
        sources = research(query)
    except WebUnavailable as error:
        return f"Le web est inaccessible : {error}. Aucune source n'a pu être consultée.", []
    if not sources:
        return "La recherche n'a donné aucun résultat exploitable.", []
    blocks = [f"[{number}] {source['title']} — {source['url']}\n{source['text']}"
              for number, source in enumerate(sources, start=1)]
    return "\n\n".join(blocks), sources

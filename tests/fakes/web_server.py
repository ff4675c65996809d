"""A local stand-in for the web: a SearXNG-style JSON search API and the pages it points to."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ARTICLE = """<!doctype html><html><head><title>{title}</title></head><body>
<nav><a href="/">Accueil</a> | <a href="/contact">Contact</a> | Menu Menu Menu</nav>
<article><h1>{title}</h1>
<p>{body}</p>
<p>Ce paragraphe complète l'article avec suffisamment de texte pour qu'un extracteur de contenu principal le
retienne comme le corps de la page plutôt que comme un élément de navigation ou un pied de page.</p>
</article>
<footer>© Site de test — mentions légales — cookies</footer></body></html>"""

PAGES = {
    "/pages/annexe1": ("Révision de l'Annexe 1 des BPF UE",
                       "La Commission européenne a publié la révision de l'Annexe 1 sur la fabrication des "
                       "médicaments stériles, entrée en application le 25 août 2023, avec une stratégie de "
                       "contrôle de la contamination (CCS) obligatoire."),
    "/pages/ema": ("EMA : nouvelles lignes directrices",
                   "L'Agence européenne des médicaments annonce des lignes directrices sur l'intégrité des données."),
}


class FakeWeb:
    """Start with `with FakeWeb() as web:`; `web.url` is its base address; `web.queries` what was searched.

    `results` is what every search returns, or a function `(query, base_url) -> results` for results
    that depend on the query (a first search that misses, a reformulated one that finds).
    """

    def __init__(self, results: list[dict] | Callable[[str, str], list[dict]] | None = None) -> None:
        self.queries: list[str] = []
        self.fail_search = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parsed = urlparse(self.path)
                if parsed.path == "/search":
                    query = parse_qs(parsed.query).get("q", [""])[0]
                    outer.queries.append(query)
                    if outer.fail_search:
                        return self._send(503, "text/plain", b"unavailable")
                    body = {"results": outer.results(query)}
                    return self._send(200, "application/json", json.dumps(body).encode())
                if parsed.path in PAGES:
                    title, text = PAGES[parsed.path]
                    return self._send(200, "text/html; charset=utf-8",
                                      ARTICLE.format(title=title, body=text).encode())
                if parsed.path == "/pages/binary":
                    return self._send(200, "application/pdf", b"%PDF-1.4 not html")
                self._send(404, "text/plain", b"not found")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._results = results

    def results(self, query: str = "") -> list[dict]:
        if callable(self._results):
            return self._results(query, self.url)
        if self._results is not None:
            return self._results
        return [
            {"title": "Révision de l'Annexe 1", "url": f"{self.url}/pages/annexe1", "content": "extrait annexe 1"},
            {"title": "Page disparue", "url": f"{self.url}/pages/missing", "content": "extrait de secours"},
            {"title": "EMA", "url": f"{self.url}/pages/ema", "content": "extrait EMA"},
        ]

    def __enter__(self) -> FakeWeb:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

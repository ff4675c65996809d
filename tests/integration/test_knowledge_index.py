"""Ingestion and retrieval for real: the GMP guide in Chroma on disk + BM25, incremental updates, the CLI.

The guide's index is built once per session in a temporary folder; embeddings are cached in the user's
cache folder (`~/.cache/relais/test-embeddings`, tests/conftest.py), so only the first session ever pays for them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from relais.settings import get_settings
from retrievers.index import SourceNotFound, ingest
from retrievers.search import CollectionNotFound, CollectionRetriever, chapters_by_part, known_references, search
from retrievers.store import chroma_collection

pytestmark = pytest.mark.integration


@pytest.fixture
def cached_embeddings(embedding_cache: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RELAIS_EMBEDDING_CACHE_DIR", str(embedding_cache))
    get_settings.cache_clear()


def _dev(shared_dir: Path, ids: set[str]) -> list[dict]:
    rows = [json.loads(line) for line in (shared_dir / "datasets" / "bpf_dev.jsonl").read_text().splitlines()]
    return [row for row in rows if row["id"] in ids]


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_guide_ingest_reports_chunks_and_json_problems(guide_index):
    assert guide_index.added == ["guide-bpf-2019.txt"] and guide_index.skipped == []
    assert guide_index.chunks_total > 1000
    summary = guide_index.summary()
    assert "partie-III.json:58:7" in summary and "repaired" in summary


def test_search_finds_dev_paragraphs_in_french_and_english(guide_index, shared_dir: Path):
    for question in _dev(shared_dir, {"d11", "d21", "d24", "d03"}):
        hits = search("bpf", question["question"], k=5)
        texts = [_collapse(hit.text) for hit in hits]
        found = [gold for gold in question["gold"] if any(_collapse(gold["quote"]) in text for text in texts)]
        assert found, question["id"]
        assert {"part", "chapter", "paragraph", "source"} <= set(hits[0].metadata)


def test_a_named_annex_or_part_is_searched_in_its_own_right(guide_index):
    # without the scope, Parts II and IV's personnel chapters outrank half of the annex
    scoped = search("bpf", "Quelles exigences pour le personnel selon l'annexe 11 ?", k=5)
    assert [hit.metadata["chapter"] for hit in scoped] == ["11"] * 5
    assert all(hit.metadata["relevance"] is not None for hit in scoped)
    scoped = search("bpf", "Gestion des risques : que dit ICH Q10 ?", k=5)
    assert {hit.metadata["chapter"] for hit in scoped} == {"ICH Q10"}


def test_hits_are_ordered_and_carry_a_relevance(guide_index):
    hits = search("bpf", "formation du personnel de production", k=5)
    assert len(hits) == 5
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert all(0.0 < (hit.metadata["relevance"] or 0.5) <= 1.0 for hit in hits)
    assert hits[0].document.page_content == hits[0].text


def test_references_and_chapters_come_from_the_index(guide_index):
    references = known_references("bpf")
    assert {("I", "2.10"), ("II", "7.40"), ("IV", "17.24"), ("Annexes", "4.8")} <= references
    chapters = chapters_by_part("bpf")
    assert sorted(int(c) for c in chapters["I"] if c.isdigit()) == list(range(1, 10))  # no "chapitre 10"
    assert "11" in chapters["Annexes"] and "LD.1" in chapters["Annexes"]


def test_langchain_retriever_wraps_search(guide_index):
    documents = CollectionRetriever(collection="bpf", k=3).invoke("Annexe 11 systèmes informatisés audit trail")
    assert len(documents) == 3 and all(doc.metadata["collection"] == "bpf" for doc in documents)


def test_reingesting_the_unchanged_guide_embeds_nothing(guide_index, bpf_dir: Path):
    again = ingest("bpf", bpf_dir)
    assert again.unchanged == ["guide-bpf-2019.txt"] and again.chunks_embedded == 0
    assert again.chunks_total == guide_index.chunks_total


def test_unknown_collection_names_the_ingest_command():
    with pytest.raises(CollectionNotFound, match=r"relais ingest --collection nope --source PATH"):
        search("nope", "question")


def test_changed_documents_replace_their_chunks(tmp_path: Path, cached_embeddings):
    folder = tmp_path / "sops"
    folder.mkdir()
    (folder / "a.txt").write_text("Procédure de nettoyage des cuves de fabrication.", encoding="utf-8")
    (folder / "b.md").write_text("Formation des opérateurs : enregistrement annuel.", encoding="utf-8")
    first = ingest("sops", folder)
    assert sorted(first.added) == ["a.txt", "b.md"] and first.chunks_embedded == 2
    old_ids = set(chroma_collection("sops", create=False).get()["ids"])

    (folder / "a.txt").write_text("Procédure de désinfection des isolateurs, version 2.", encoding="utf-8")
    second = ingest("sops", folder)
    assert second.updated == ["a.txt"] and second.unchanged == ["b.md"] and second.chunks_embedded == 1
    stored = chroma_collection("sops", create=False).get()
    assert len(stored["ids"]) == 2 and not any("nettoyage" in text for text in stored["documents"])
    assert len(old_ids & set(stored["ids"])) == 1  # b.md kept its chunk

    (folder / "b.md").unlink()
    third = ingest("sops", folder)
    assert third.removed == ["b.md"] and third.chunks_total == 1
    assert search("sops", "désinfection des isolateurs", k=3)[0].metadata["source"] == "a.txt"


def test_every_sentence_of_a_long_chunk_is_embedded_and_replaced_with_it(tmp_path: Path, cached_embeddings):
    folder = tmp_path / "sops"
    folder.mkdir()
    filler = "\n".join(f"Étape {n} : vérifier le bon état des équipements et consigner le contrôle." for n in range(14))
    deep = "Les filtres HEPA des isolateurs sont remplacés tous les six mois par le prestataire agréé."
    (folder / "a.txt").write_text(f"{filler}\n{deep}", encoding="utf-8")
    report = ingest("sops", folder)
    stored = chroma_collection("sops", create=False).get(include=["metadatas", "documents"])
    assert report.chunks_total == 1 and len(stored["ids"]) > 1  # one chunk, several windows
    assert any(deep in text for text in stored["documents"])  # past the opening, yet embedded
    manifest = json.loads((get_settings().data_dir / "collections" / "sops" / "manifest.json").read_text())
    assert {metadata["chunk_id"] for metadata in stored["metadatas"]} == set(manifest["chunk_ids"]["a.txt"])
    hit = search("sops", "remplacement des filtres HEPA des isolateurs", k=1)[0]
    assert deep in hit.text and hit.metadata["relevance"] > 0.8

    (folder / "a.txt").write_text("Procédure courte, version 2.", encoding="utf-8")
    assert ingest("sops", folder).updated == ["a.txt"]
    assert chroma_collection("sops", create=False).count() == 1  # no window of the old text left


def test_a_new_chunking_version_rebuilds_unchanged_documents(tmp_path: Path, cached_embeddings,
                                                             monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / "sops"
    folder.mkdir()
    (folder / "a.txt").write_text("Procédure de nettoyage des cuves.", encoding="utf-8")
    assert ingest("sops", folder).added == ["a.txt"]
    assert ingest("sops", folder).unchanged == ["a.txt"]
    monkeypatch.setattr("retrievers.index.CHUNKING_VERSION", 999)  # an upgrade that cuts chunks differently
    rebuilt = ingest("sops", folder)
    assert rebuilt.updated == ["a.txt"] and rebuilt.chunks_total == 1
    assert ingest("sops", folder).unchanged == ["a.txt"]


def test_bad_files_are_named_skipped_and_counted(tmp_path: Path, cached_embeddings):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("Contrat de sous-traitance : clause de confidentialité.", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7 truncated")
    report = ingest("docs", folder)
    assert report.added == ["good.txt"] and len(report.skipped) == 2
    assert any("empty.txt" in reason for reason in report.skipped)
    assert any("corrupt.pdf" in reason for reason in report.skipped)
    assert "2 skipped" in report.summary()


def test_missing_source_and_folder_without_documents_are_errors(tmp_path: Path):
    with pytest.raises(SourceNotFound, match="does not exist"):
        ingest("docs", tmp_path / "missing")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "logo.png").write_bytes(b"\x89PNG")
    with pytest.raises(SourceNotFound, match="no supported document"):
        ingest("docs", tmp_path / "images")


def test_cli_ingest_then_retrieve(tmp_path: Path, cached_embeddings, capsys: pytest.CaptureFixture[str]):
    from cli.main import main

    folder = tmp_path / "clauses"
    folder.mkdir()
    (folder / "clauses.txt").write_text("Clause de responsabilité : le sous-traitant répond des défauts.",
                                        encoding="utf-8")
    assert main(["ingest", "--collection", "clauses", "--source", str(folder)]) == 0
    assert "collection clauses: 1 added" in capsys.readouterr().err
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "responsabilité du sous-traitant"}) + "\n",
                         encoding="utf-8")
    assert main(["retrieve", "--collection", "clauses", "--k", "2", "--input", str(questions)]) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert line["id"] == "q1" and line["results"][0]["metadata"]["source"] == "clauses.txt"
    assert "sous-traitant" in line["results"][0]["text"]


def test_cli_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from cli.main import main

    assert main(["ingest", "--collection", "x1", "--source", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": 1, "question": "?"}\n', encoding="utf-8")
    assert main(["retrieve", "--collection", "ghost", "--input", str(questions)]) == 2
    assert "relais ingest --collection ghost" in capsys.readouterr().err


def test_indexer_graph_ingests(tmp_path: Path, cached_embeddings):
    from graphs.indexer import graph

    folder = tmp_path / "glossary"
    folder.mkdir()
    (folder / "terms.txt").write_text("CAPA : actions correctives et préventives.", encoding="utf-8")
    result = graph.invoke({"collection": "glossary", "source": str(folder)})
    assert result["added"] == ["terms.txt"] and result["chunks_total"] == 1
    missing = graph.invoke({"collection": "glossary", "source": str(tmp_path / "none")})
    assert missing["skipped"] and "does not exist" in missing["summary"]

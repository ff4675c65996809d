"""Pure parts of hybrid search: rank fusion, language switch, refusal threshold, chunk headers."""

from __future__ import annotations

from langchain_core.documents import Document

from retrievers.chunking import chapter_label, context_header
from retrievers.search import RELEVANCE_THRESHOLD, Hit, _fuse, is_covered, looks_english


def test_reciprocal_rank_fusion_rewards_agreement():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    lexical = [(3, 12.0), (4, 9.0)]
    fused = _fuse([dense, lexical])
    assert fused[0][0] == 3  # second and first: beats a single first place
    assert [index for index, _ in fused] == [3, 1, 2, 4]


def test_english_questions_are_told_from_french_ones():
    assert looks_english("What does Annex 11 require when data are migrated?")
    assert not looks_english("Quelles exigences pour la migration des données selon l'annexe 11 ?")
    assert not looks_english("audit trail")  # no evidence either way: keep BM25


def _hit(relevance):
    metadata = {"relevance": relevance}
    return Hit(text="t", score=0.1, metadata=metadata, document=Document(page_content="t", metadata=metadata))


def test_refusal_threshold_uses_the_best_relevance():
    assert is_covered([_hit(None), _hit(RELEVANCE_THRESHOLD + 0.01)])
    assert not is_covered([_hit(RELEVANCE_THRESHOLD - 0.01), _hit(None)])
    assert not is_covered([])


def test_context_header_names_part_chapter_section_and_paragraph():
    header = context_header({"part": "Annexes", "chapter": "11", "chapter_title": "Systèmes informatisés",
                             "section": "Validation", "paragraph": "4.8"})
    assert header == "Annexes | Annexe 11 Systèmes informatisés | Validation | §4.8"
    assert chapter_label("Annexes", "LD.1") == "LD.1" and chapter_label("I", "2") == "Chapitre 2"
    assert chapter_label("III", "ICH Q9") == "ICH Q9"

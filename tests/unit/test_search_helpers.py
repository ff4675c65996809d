"""Pure parts of hybrid search: rank fusion, language switch, refusal threshold, chunk headers."""

from __future__ import annotations

from langchain_core.documents import Document

from retrievers.chunking import chapter_label, context_header
from retrievers.query_expansion import french_terms
from retrievers.search import (
    CLOSE_ON_ITS_OWN,
    ENGLISH_RELEVANCE_THRESHOLD,
    LEXICAL_THRESHOLD,
    RELEVANCE_THRESHOLD,
    Hit,
    _fuse,
    _hybrid_ranking,
    _Loaded,
    _where,
    is_covered,
    join_neighbours,
    looks_english,
    named_scopes,
    passages,
    relevance_threshold,
)


def test_reciprocal_rank_fusion_rewards_agreement():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    lexical = [(3, 12.0), (4, 9.0)]
    fused = _fuse([dense, lexical])
    assert fused[0][0] == 3  # second and first: beats a single first place
    assert [index for index, _ in fused] == [3, 1, 2, 4]


def test_dense_best_match_is_not_buried_by_lexical_noise():
    dense = [(1, 0.91), (2, 0.85), (3, 0.84)]
    lexical = [(3, 4.1), (2, 3.9)]  # a paraphrase: BM25 agrees on the wrong chunks
    assert _fuse([dense, lexical, []])[0][0] != 1  # plain fusion would bury it
    hybrid = _hybrid_ranking(dense, lexical, [])
    assert hybrid[0][0] == 1
    assert [score for _, score in hybrid] == sorted((score for _, score in hybrid), reverse=True)
    assert _hybrid_ranking([], lexical, []) == _fuse([lexical])
    # a question naming an annex: the best match inside the annex is the one that counts twice
    scoped = [(4, 0.83), (2, 0.85)]
    order = [index for index, _ in _hybrid_ranking(dense, lexical, scoped)]
    assert order.index(4) < order.index(1)


def test_english_questions_are_told_from_french_ones():
    assert looks_english("What does Annex 11 require when data are migrated?")
    assert not looks_english("Quelles exigences pour la migration des données selon l'annexe 11 ?")
    assert not looks_english("audit trail")  # no evidence either way: keep BM25


CHAPTERS = {"I": {"1": "Système Qualité"}, "II": {"2": "Management de la Qualité"},
            "III": {"ICH Q9": "Gestion du Risque Qualité", "ICH Q10": "Système Qualité Pharmaceutique"},
            "Annexes": {"11": "Systèmes informatisés", "LD.13": "Médicaments expérimentaux"}}


def test_parts_annexes_and_ich_texts_named_in_a_question_become_search_scopes():
    assert named_scopes("Que dit la Partie II sur la revue qualité, comparée à la partie I ?", CHAPTERS) == [
        ("II", None), ("I", None)]
    assert named_scopes("Under Annex 11, how are data migrated?", CHAPTERS) == [("Annexes", "11")]
    assert named_scopes("Étiquetage selon la LD 13", CHAPTERS) == [("Annexes", "LD.13")]
    assert named_scopes("Annexe 13 : étiquetage", CHAPTERS) == [("Annexes", "LD.13")]
    # the named text makes its own part redundant
    assert named_scopes("D'après ICH Q10 (Partie III), quels objectifs ?", CHAPTERS) == [("III", "ICH Q10")]


def test_scopes_the_guide_does_not_have_are_ignored():
    assert named_scopes("Que dit l'annexe 99 ? Et la partie IV ?", CHAPTERS) == []
    assert named_scopes("Quelle formation pour les opérateurs ?", CHAPTERS) == []


def test_scopes_become_one_chroma_filter():
    assert _where([("II", None)]) == {"part": "II"}
    assert _where([("Annexes", "11"), ("I", None)]) == {
        "$or": [{"$and": [{"part": "Annexes"}, {"chapter": "11"}]}, {"part": "I"}]}


def test_english_questions_get_the_glossary_french_for_bm25():
    terms = french_terms("Who releases the batch when data are migrated to a new system? The data owner.")
    assert "lot" in terms.split()  # glossary: batch → lot
    assert terms.split().count("données") == 2  # everyday word, weighed as often as it is asked
    assert french_terms("What is the weather like?") == ""


def _hit(relevance, lexical=None):
    metadata = {"relevance": relevance, "lexical": lexical}
    return Hit(text="t", score=0.1, metadata=metadata, document=Document(page_content="t", metadata=metadata))


def test_refusal_needs_both_a_close_passage_and_the_questions_own_terms():
    close, far = RELEVANCE_THRESHOLD + 0.01, RELEVANCE_THRESHOLD - 0.01
    found, absent = LEXICAL_THRESHOLD + 0.5, LEXICAL_THRESHOLD - 0.5
    assert is_covered([_hit(None), _hit(close, found)])
    assert is_covered([_hit(close, absent), _hit(None, found)])  # the best of each signal counts
    assert not is_covered([_hit(far, found), _hit(None)])
    assert not is_covered([_hit(close, absent)])  # e5 finds "something close" to anything
    assert is_covered([_hit(CLOSE_ON_ITS_OWN, absent)])  # a short question in the guide's commonest words
    assert not is_covered([])


def test_an_english_question_is_held_to_a_lower_cosine():
    """English is compared with a French text: « best 0.819, gold passage second » was refused at 0.83."""
    english = relevance_threshold("What does the GMP guide require for supplier qualification?")
    french = relevance_threshold("Que prévoit le guide BPF pour la qualification des fournisseurs ?")
    assert (english, french) == (ENGLISH_RELEVANCE_THRESHOLD, RELEVANCE_THRESHOLD)
    assert english < french
    between, found = (english + french) / 2, LEXICAL_THRESHOLD + 0.5
    assert is_covered([_hit(between, found)], english)
    assert not is_covered([_hit(between, found)], french)


def test_context_header_names_part_chapter_section_and_paragraph():
    header = context_header({"part": "Annexes", "chapter": "11", "chapter_title": "Systèmes informatisés",
                             "section": "Validation", "paragraph": "4.8"})
    assert header == "Annexes | Annexe 11 Systèmes informatisés | Validation | §4.8"
    assert chapter_label("Annexes", "LD.1") == "LD.1" and chapter_label("I", "2") == "Chapitre 2"
    assert chapter_label("III", "ICH Q9") == "ICH Q9"


def _chunk(index, paragraphs, section="OPERATIONS", chapter="5", source="guide.txt", size=300):
    metadata = {"chunk_id": f"c{index}", "source": source, "part": "I", "chapter": chapter, "section": section,
                "paragraph": paragraphs.replace(";", "-"), "paragraphs": paragraphs}
    return Document(page_content=f"texte {paragraphs} ".ljust(size, "."), metadata=metadata)


def _loaded(chunks):
    return _Loaded(chunks, {chunk.metadata["chunk_id"]: i for i, chunk in enumerate(chunks)}, None, None, {})


def _as_hit(chunk, relevance=0.8, score=0.1):
    metadata = {**chunk.metadata, "relevance": relevance, "lexical": None}
    return Hit(text=chunk.page_content, score=score, metadata=metadata,
               document=Document(page_content=chunk.page_content, metadata=metadata))


GUIDE = [_chunk(0, "5.1", section="AUTRE"), _chunk(1, "5.20"), _chunk(2, "5.40"), _chunk(3, "5.45"),
         _chunk(4, "5.50;5.52"), _chunk(5, "5.53;5.57"), _chunk(6, "5.58"), _chunk(7, "5.61"),
         _chunk(8, "6.1", chapter="6")]


def test_next_door_chunks_of_a_section_come_back_as_one_passage_in_reading_order():
    hits = [_as_hit(GUIDE[5], score=0.9), _as_hit(GUIDE[2]), _as_hit(GUIDE[4]), _as_hit(GUIDE[6], relevance=0.95),
            _as_hit(GUIDE[7])]
    joined = passages(hits, k=2, loaded=_loaded(GUIDE))
    assert [hit.metadata["chunk_ids"] for hit in joined] == ["c4;c5;c6", "c2;c3"]  # c7 would make four
    # c2;c3 is short but does not read on into c4: the first passage already returns it
    returned = [chunk_id for hit in joined for chunk_id in hit.metadata["chunk_ids"].split(";")]
    assert len(returned) == len(set(returned))
    first = joined[0].metadata
    assert joined[0].text == "\n".join(chunk.page_content for chunk in GUIDE[4:7])
    assert first["paragraphs"] == "5.50;5.52;5.53;5.57;5.58" and first["paragraph"] == "5.50-5.58"
    assert first["relevance"] == 0.95 and joined[0].score == 0.9
    assert joined[0].document.page_content == joined[0].text


def test_a_short_passage_reads_on_within_its_chapter_only():
    chunks = [_chunk(0, "1", section="Objectifs", size=120), _chunk(1, "1.5.1", section="Produit", size=200),
              _chunk(2, "1.5.2", section="Maîtrise", size=250), _chunk(3, "1.5.3", section="Amélioration"),
              _chunk(4, "2.1", chapter="6", size=50)]
    (passage,) = passages([_as_hit(chunks[0])], k=5, loaded=_loaded(chunks))
    assert passage.metadata["chunk_ids"] == "c0;c1;c2;c3" and passage.metadata["paragraph"] == "1-1.5.3"
    renumbered = [_chunk(0, "1.4.1", size=200), _chunk(1, "1", section="Annexe", size=200)]
    (passage,) = passages([_as_hit(renumbered[0])], k=5, loaded=_loaded(renumbered))
    assert passage.metadata["paragraph"] == "1.4.1, 1"  # not a "1.4.1-1" range that runs backwards
    (last,) = passages([_as_hit(chunks[4])], k=5, loaded=_loaded(chunks))
    assert last.metadata["chunk_id"] == "c4" and "chunk_ids" not in last.metadata  # end of the document


def test_chunks_of_another_section_another_source_or_far_away_stay_apart():
    other = _chunk(3, "5.45", source="autre.txt", size=900)
    chunks = [*(_chunk(i, f"5.{i}", size=900) for i in range(3)), other]
    chunks[2] = _chunk(2, "5.2", section="AUTRE", size=900)
    groups = join_neighbours([_as_hit(chunk) for chunk in (chunks[0], chunks[2], other)], 5,
                             _loaded(chunks).position)
    assert [[hit.metadata["chunk_id"] for hit in group] for group in groups] == [["c0"], ["c2"], ["c3"]]
    plain = [_chunk(i, "", section="", size=100) for i in range(3)]  # clauses, documents without structure
    assert [hit.metadata["chunk_id"] for hit in passages([_as_hit(c) for c in plain], 5, _loaded(plain))] == [
        "c0", "c1", "c2"]

from __future__ import annotations

import pytest

from retrievers.bpf_references import chapter_key, check_references, expand_paragraphs, find_references, part_key


@pytest.mark.parametrize(
    ("paragraph", "expanded"),
    [
        ("2.10", ["2.10"]),
        ("5.50.", ["5.50"]),
        ("2.10-2.12", ["2.10", "2.11", "2.12"]),
        ("2.10-12", ["2.10", "2.11", "2.12"]),
        ("118-120", ["118", "119", "120"]),
        ("1.5.1-1.5.2", ["1.5.1", "1.5.2"]),
        ("2.10-3.2", ["2.10", "3.2"]),  # across chapters: only the ends can be checked
        ("II.1 (Intégration)", ["II.1 (Intégration)"]),
    ],
)
def test_expand_paragraphs(paragraph, expanded):
    assert expand_paragraphs(paragraph) == expanded


@pytest.mark.parametrize(("written", "key"), [("Partie I", "I"), ("II", "II"), ("4", "IV"), ("Annexe", "Annexes"),
                                              ("Annexes", "Annexes"), ("part iii", "III")])
def test_part_key(written, key):
    assert part_key(written) == key


@pytest.mark.parametrize(("written", "key"), [("Annexe 11", "11"), ("LD.1", "1"), ("LD 13", "13"), ("11", "11"),
                                              ("Chapitre 02", "2"), ("ICH Q9", "ICH Q9"), ("ich q10", "ICH Q10"),
                                              ("Certificat de lot", "certificat de lot")])
def test_chapter_key(written, key):
    assert chapter_key(written) == key


def test_index_names_in_any_spelling_are_understood():
    # The index may name parts "Partie I" and annexes "LD.1"/"Annexe 11": references still match.
    known = {("Partie I", "2.10"), ("Annexes", "4.8")}
    chapters = {"Partie I": {"Chapitre 2"}, "Annexes": {"LD.1", "Annexe 11"}}
    refs = check_references(find_references("Partie I, chapitre 2, §2.10 ; Annexe 11 §4.8 ; Annexe 1"),
                            known, chapters)
    assert [r.reason for r in refs] == [None, None, None]


def test_paragraph_without_a_part_is_checked_against_every_part():
    known = {("II", "7.40")}
    chapters = {"I": {"2"}, "II": {"7"}}
    assert check_references(find_references("voir §7.40"), known, chapters)[0].reason is None
    assert check_references(find_references("voir §7.41"), known, chapters)[0].reason is not None


def test_group_span_covers_the_whole_reference():
    answer = "Exigence (Partie I, chapitre 2, §2.10) claire."
    (ref,) = find_references(answer)
    assert answer[ref.start : ref.end] == "Partie I, chapitre 2, §2.10"


def test_ich_guideline_after_part_three_is_one_reference():
    refs = find_references("Partie III, ICH Q10, §1.5.1 et Partie III, ICH Q9")
    assert [(r.part, r.chapter, r.paragraph) for r in refs] == [("III", "ICH Q10", "1.5.1"), ("III", "ICH Q9", None)]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("chapitre 10 de la Partie I", [("I", "10", None)]),
        ("§2.10 du chapitre 2 de la Partie I", [("I", "2", "2.10")]),
        ("Annex 11, section 4.8", [("Annexes", "11", "4.8")]),
        ("Partie I, chapitre 2, §2.10 et chapitre 3, §3.5", [("I", "2", "2.10"), ("I", "3", "3.5")]),
        ("Partie I, §2.10 et 2.11", [("I", None, "2.10"), ("I", None, "2.11")]),
    ],
)
def test_order_and_wording_variants(written, expected):
    assert [(r.part, r.chapter, r.paragraph) for r in find_references(written)] == expected


def test_chapter_named_before_its_part_is_checked_in_that_part():
    chapters = {"I": {str(n) for n in range(1, 10)}, "II": {str(n) for n in range(1, 21)}}
    (ref,) = check_references(find_references("le chapitre 10 de la Partie I"), set(), chapters)
    assert ref.reason == "la Partie I n'a pas de chapitre 10"


def test_paragraph_labels_with_a_title_are_known_by_their_number():
    known = {("III", "2.7 (Gestion des activités sous-traitées et des composants achetés)")}
    (ref,) = check_references(find_references("Partie III, §2.7"), known, {"III": {"ICH Q10"}})
    assert ref.reason is None


def test_a_range_across_a_gap_in_the_numbering_stands_when_both_ends_exist():
    known = {("II", "19.70"), ("II", "19.80"), ("II", "19.81"), ("II", "19.82")}
    chapters = {"II": {str(n) for n in range(1, 21)}}
    (ref,) = check_references(find_references("Partie II, chapitre 19, §§19.70-19.82"), known, chapters)
    assert ref.reason is None  # §19.71 to §19.79 do not exist: the guide goes from 19.70 to 19.80
    (ref,) = check_references(find_references("Partie II, chapitre 19, §§19.70-19.85"), known, chapters)
    assert ref.reason == "§19.85 n'existe pas dans la Partie II, chapitre 19"


def test_point_or_section_without_the_guide_named_is_not_a_reference():
    assert find_references("voir le point 3 ci-dessus et la section 2.1 de ce document") == []
    assert [r.paragraph for r in find_references("voir le §3")] == ["3"]


def test_a_reference_list_one_per_line_gives_one_reference_per_line():
    listed = find_references("- Partie I, chapitre 2, §2.6\n- Partie III, Excipients, §3.1\n- Annexe 7")
    assert [(ref.paragraph, part_key(ref.part or "")) for ref in listed if ref.paragraph] == [("2.6", "I"), ("3.1", "")]
    assert ("Annexes", "7", None) in [(part_key(ref.part or ""), ref.chapter, ref.paragraph) for ref in listed]

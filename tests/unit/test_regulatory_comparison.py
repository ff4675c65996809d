"""Comparison questions, references the extracts do not carry, one source per passage (no index needed)."""

from __future__ import annotations

import re

import pytest
from langchain_core.documents import Document

from agents.regulatory_analysis.comparison import (
    Scope,
    compared_scopes,
    grouped_extracts,
    index_scope,
    named_scopes,
    without_scopes,
)
from agents.regulatory_analysis.references import (
    ABSENT_REMOVED,
    UNCITED,
    passage_sources,
    remove_unsupported_references,
    warn_if_uncited,
)
from retrievers.citations import verify_answer
from server.chat import source_event


@pytest.mark.parametrize(
    ("question", "labels"),
    [
        ("Quelle différence entre la partie I et la partie II sur la formation du personnel ?",
         ["Partie I", "Partie II"]),
        ("quelle différence entre les parties I et II sur l'eau purifiée ?", ["Partie I", "Partie II"]),
        ("Compare l'annexe 1 et l'annexe 15 sur la qualification", ["Annexe 1", "Annexe 15"]),
        ("compare annexe 1 et LD.15", ["Annexe 1", "Annexe 15"]),
        ("Compare Part I and Annex 11 on computerised systems", ["Partie I", "Annexe 11"]),
        ("Parts I and IV: what differs on batch release?", ["Partie I", "Partie IV"]),
        ("BPF partie I vs BPF partie IV : les locaux", ["Partie I", "Partie IV"]),
        ("Que disent les annexes 1, 11 et 15 sur la validation ?", ["Annexe 1", "Annexe 11", "Annexe 15"]),
        ("la partie ii et la partie iii sur la gestion du risque", ["Partie II", "Partie III"]),
        ("BPF I-2.10 et BPF II-7.40 : même exigence ?", ["Partie I", "Partie II"]),
        ("Entre la partie 1 et la partie 2, qui libère les lots ?", ["Partie I", "Partie II"]),
        ("Les principes du chapitre 1 de la Partie I sont-ils ceux d'ICH Q9 (Partie III) ?",
         ["Partie I", "ICH Q9 (Partie III)"]),  # the ICH text, narrower, stands for its part
    ],
)
def test_a_question_comparing_parts_names_each_of_them(question, labels):
    assert [scope.label for scope in compared_scopes(question)] == labels


@pytest.mark.parametrize(
    "question",
    [
        "que dit le §4.11 de la partie I ?",  # one part: a plain search scoped by the search itself
        "Compare les exigences de l'annexe 1 sur le remplissage aseptique",
        "Quelle différence entre stérilisation et filtration stérilisante ?",  # no part named
        "la partie intégrante du dossier de lot",
        "which part I should read for cleaning validation?",  # the pronoun, not Part I
        "partie I, 4.11 : que faut-il archiver ?",  # 4.11 is a paragraph, not Part IV
        "Annexe 11, §4.8 : les contrôles de saisie",  # 4.8 is a paragraph, not Annex 4
    ],
)
def test_a_question_naming_fewer_than_two_parts_is_no_comparison(question):
    assert compared_scopes(question) == []


def test_named_scopes_keep_one_part_and_the_question_order():
    assert named_scopes("l'annexe 11, puis la partie I, puis encore l'annexe 11") == [
        Scope("Annexes", "11"), Scope("I")]


def test_an_annex_is_found_under_the_number_the_index_files_it():
    chapters = {"I": {"1": "Système qualité"}, "III": {"ICH Q9": "Gestion du risque"},
                "Annexes": {"LD.1": "Stériles", "11": "Systèmes informatisés"}}
    assert index_scope(Scope("III", "ICH Q9"), chapters) == ("III", "ICH Q9")
    assert index_scope(Scope("III", "ICH Q10"), chapters) is None
    assert index_scope(Scope("Annexes", "1"), chapters) == ("Annexes", "LD.1")
    assert index_scope(Scope("Annexes", "11"), chapters) == ("Annexes", "11")
    assert index_scope(Scope("I"), chapters) == ("I", None)
    assert index_scope(Scope("Annexes", "42"), chapters) is None
    assert index_scope(Scope("IV"), chapters) is None


def _chunk(part: str, chapter: str, paragraphs: str, text: str) -> Document:
    metadata = {"part": part, "chapter": chapter, "paragraph": paragraphs.replace(";", "-"), "paragraphs": paragraphs,
                "source": "guide-bpf-2019.txt", "chunk_id": f"{part}-{paragraphs}"}
    return Document(page_content=text, metadata=metadata)


CHUNKS = [
    _chunk("I", "5", "5.27;5.28", "5.27. La sélection, la qualification, l'approbation des fournisseurs..."),
    _chunk("II", "7", "7.40", "7.40. Les matières doivent être réévaluées..."),
    _chunk("Annexes", "LD.1", "8.1", "8.1 Les zones d'atmosphère contrôlée..."),
]
KNOWN = {("I", "5.27"), ("I", "5.28"), ("I", "9.9"), ("II", "7.40"), ("Annexes", "8.1")}
CHAPTERS = {"I": {"5", "9"}, "II": {"7"}, "Annexes": {"LD.1", "11"}}


def _compared(label: str, part: str, chapter: str | None = None) -> dict:
    return {"label": label, "part": part, "chapter": chapter}


def test_extracts_are_grouped_by_compared_part_and_numbered_throughout():
    compared = [_compared("Partie II", "II"), _compared("Partie I", "I"), _compared("Partie IV", "IV")]
    text = grouped_extracts(CHUNKS, compared)
    groups = re.findall(r'<extraits-partie nom="([^"]+)">(.*?)</extraits-partie>', text, re.DOTALL)
    assert [name for name, _ in groups] == ["Partie II", "Partie I", "Partie IV", "Autres passages"]
    contents = dict(groups)
    assert "7.40" in contents["Partie II"] and "5.27" in contents["Partie I"]
    assert "<extrait " not in contents["Partie IV"] and "aucun passage" in contents["Partie IV"]
    assert "8.1 Les zones" in contents["Autres passages"]  # an annex nobody compared: still given, apart
    assert re.findall(r'<extrait n="(\d+)"', text) == ["1", "2", "3"]


def test_an_annex_filed_as_ld_groups_under_its_annex_number():
    text = grouped_extracts(CHUNKS, [_compared("Annexe 1", "Annexes", "LD.1"), _compared("Partie I", "I")])
    assert re.search(r'<extraits-partie nom="Annexe 1">\s*<extrait [^>]*référence="LD.1, §8.1"', text)


def test_a_reference_no_extract_carries_is_removed_and_a_valid_one_kept():
    answer = ("Les fournisseurs sont approuvés avant usage [Partie I, chapitre 5, §5.27].\n"
              "Les auto-inspections sont enregistrées [Partie I, §9.9].\n\nFiabilité : ✅ appuyé sur les extraits.")
    checked = remove_unsupported_references(answer, CHUNKS, KNOWN, CHAPTERS)
    assert "[Partie I, chapitre 5, §5.27]" in checked.answer
    assert "§9.9]" not in checked.answer.split("\n\n>")[0]
    assert f"enregistrées {ABSENT_REMOVED}." in checked.answer
    assert [ref.paragraph for ref in checked.unsupported] == ["9.9"]
    assert "✅" not in checked.answer and "Partie I, §9.9" in checked.answer.split("\n\n>")[-1]


def test_an_unsupported_reference_inside_a_sentence_is_flagged_not_cut():
    checked = remove_unsupported_references("Comme le prévoit le §9.9 de la Partie I, tout est consigné.",
                                            CHUNKS, KNOWN, CHAPTERS)
    assert "§9.9 de la Partie I [§9.9 : absent des extraits], tout est consigné." in checked.answer


def test_references_left_alone_quoted_mentioned_or_nonexistent():
    answer = ("La Partie II s'applique aussi. « voir le paragraphe 9.9 de la Partie I » "
              "[Partie II, §7.40] [Partie I, §4.99] [Annexe 1, §8.1]")
    checked = remove_unsupported_references(answer, CHUNKS, KNOWN, CHAPTERS)
    assert checked.answer == answer and checked.unsupported == []  # §4.99 is verify_answer's to flag


def test_a_bracket_citing_one_present_and_one_absent_paragraph_flags_the_absent_one():
    checked = remove_unsupported_references("Exigé [Partie I, §5.27 et §9.9].", CHUNKS, KNOWN, CHAPTERS)
    assert checked.answer.startswith("Exigé [Partie I, §5.27 et §9.9] [§9.9 : absent des extraits].")


def test_one_source_per_passage_each_with_its_own_open_webui_identity():
    same_title = [_chunk("III", "ICH Q10", "", "Premier passage du chapitre."),
                  _chunk("III", "ICH Q10", "", "Second passage du chapitre.")]
    passages = [*CHUNKS, *same_title, CHUNKS[0]]  # the first passage given twice (named and found)
    sources = passage_sources(passages)
    assert len(sources) == len(passages) - 1
    assert sources[0]["title"] == "BPF Partie I — Chapitre 5 — §§5.27-5.28"
    events = [source_event(source)["data"] for source in sources]
    # Open WebUI's Citations.svelte keys a chip on metadata.source, else source.id
    identities = {event["metadata"][0].get("source") or event["source"]["id"] for event in events}
    assert len(identities) == len(sources)
    assert [event["source"]["name"] for event in events] == [source["title"] for source in sources]


def test_each_part_is_searched_for_the_topic_without_the_parts_names():
    assert without_scopes("Quelle différence entre la partie I et la partie II sur la formation ?") == (
        "Quelle différence entre la sur la formation ?")
    assert without_scopes("Compare Annex 1 and ICH Q9 on risk") == "Compare and on risk"
    assert without_scopes("partie I vs partie II ?") == "partie I vs partie II ?"  # nothing left: as asked


def test_an_answer_pointing_to_no_extract_loses_its_tick_and_says_so():
    uncited = "La Partie I recommande d'enregistrer les réclamations.\n\nFiabilité : ✅ appuyé sur les extraits."
    answer = warn_if_uncited(verify_answer(uncited, CHUNKS, KNOWN, CHAPTERS))
    assert answer.startswith(uncited.replace("✅", "⚠️")) and UNCITED in answer
    cited = uncited.replace("réclamations.", "réclamations [Partie I, chapitre 5, §5.27].")
    assert warn_if_uncited(verify_answer(cited, CHUNKS, KNOWN, CHAPTERS)) == cited

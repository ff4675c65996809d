from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document

from retrievers.citations import (
    QUOTE_REMOVED,
    REFERENCE_FLAG,
    find_quotes,
    normalise,
    source_title,
    sources_for,
    sources_markdown,
    structured_sections_present,
    verify_answer,
)

KNOWN = {("I", f"2.{n}") for n in range(1, 19)} | {("I", "5.50"), ("I", "5.51"), ("II", "7.40")}
KNOWN |= {("Annexes", "4.8"), ("Annexes", "118"), ("III", "1.5.1")}
CHAPTERS = {
    "I": {str(n) for n in range(1, 10)},
    "II": {str(n) for n in range(1, 21)},
    "III": {"ICH Q9", "ICH Q10"},
    "IV": {str(n) for n in range(1, 18)},
    "Annexes": {"LD.1", "Annexe 11", "Annexe 15"},
}


@pytest.fixture(scope="module")
def guide_lines(bpf_dir: Path) -> list[str]:
    # Lines split on '\n' only: the text keeps its stray carriage returns, as the chunker receives it.
    return (bpf_dir / "guide-bpf-2019.txt").read_bytes().decode("cp1252").split("\n")


def _paragraph(lines: list[str], prefix: str, after: str | None = None) -> str:
    """The first line starting with `prefix` (after the first line starting with `after`)."""
    start = next(i for i, line in enumerate(lines) if line.startswith(after)) if after else 0
    return next(line for line in lines[start:] if line.startswith(prefix))


@pytest.fixture(scope="module")
def chunks(guide_lines: list[str]) -> list[Document]:
    def chunk(text: str, part: str, chapter: str, paragraph: str, chunk_id: str) -> Document:
        metadata = {"part": part, "chapter": chapter, "paragraph": paragraph, "chunk_id": chunk_id,
                    "source": "guide-bpf-2019.txt", "chapter_title": "Personnel" if chapter == "2" else None}
        return Document(page_content=text, metadata=metadata)

    return [
        chunk(_paragraph(guide_lines, "2.10 Le fabricant"), "I", "2", "2.10", "I-2.10"),
        chunk(_paragraph(guide_lines, "2.11 A côté"), "I", "2", "2.11", "I-2.11"),
        chunk(_paragraph(guide_lines, "5.50. Avant le début"), "I", "5", "5.50", "I-5.50"),
        chunk(_paragraph(guide_lines, "7.40 Les matières"), "II", "7", "7.40", "II-7.40"),
        chunk(_paragraph(guide_lines, "4.8. Si des données", after="ANNEXE 11 : "), "Annexes", "Annexe 11", "4.8",
              "A11-4.8"),
    ]


def _verify(answer: str, chunks: list[Document]):
    return verify_answer(answer, chunks, KNOWN, CHAPTERS)


# --- quotations ---------------------------------------------------------------------------------

def test_true_quote_kept_and_planted_false_quote_removed(chunks):
    true = "Le fabricant doit assurer la formation de tout le personnel appelé à pénétrer dans les zones de production"
    false = "Les enregistrements de formation doivent être signés par le pharmacien responsable"
    answer = f"Selon la Partie I, §2.10 : « {true} ». Par ailleurs : « {false} » (Partie I, §2.11)."

    report = _verify(answer, chunks)

    assert [q.text.strip() for q in report.verified_quotes] == [true]
    assert report.verified_quotes[0].chunk_id == "I-2.10"
    assert [q.text.strip() for q in report.removed_quotes] == [false]
    assert true in report.answer
    assert false not in report.answer
    assert QUOTE_REMOVED in report.answer
    assert not report.clean


def test_reliable_indicator_is_downgraded_when_something_was_removed(chunks):
    kept = _verify("Fiabilité : ✅ « Les matières doivent être manipulées et stockées » (Partie II, §7.40)", chunks)
    removed = _verify("Fiabilité : ✅ « Les matières doivent être congelées sans délai » (Partie II, §7.40)", chunks)
    assert kept.answer.startswith("Fiabilité : ✅") and kept.clean
    assert removed.answer.startswith("Fiabilité : ⚠️")
    assert "✅" not in removed.answer


def test_a_changed_word_is_enough_to_remove_a_quote(chunks):
    # 2.11 says "Les enregistrements de formation doivent être conservés", not "archivés".
    report = _verify("« Les enregistrements de formation doivent être archivés »", chunks)
    assert report.removed_quotes and not report.verified_quotes


def test_apostrophes_spaces_and_quote_styles_are_normalised(chunks):
    # The guide writes d'entretien with a straight apostrophe; the model writes a curly one and a non-breaking space.
    answer = (
        "“personnel technique, d’entretien et de\u00a0nettoyage inclus” et "
        '"Cette vérification de «\u00a0vide de ligne\u00a0» doit être effectuée suivant une procédure appropriée"'
    )
    report = _verify(answer, chunks)
    assert len(report.verified_quotes) == 2
    assert report.clean


def test_case_is_kept(chunks):
    report = _verify("« LE FABRICANT DOIT ASSURER LA FORMATION de tout le personnel »", chunks)
    assert len(report.removed_quotes) == 1


def test_quote_with_an_ellipsis_needs_every_fragment_in_order(chunks):
    kept = _verify("« Le fabricant doit assurer la formation […] des produits »", chunks)
    removed = _verify("« des produits […] Le fabricant doit assurer la formation »", chunks)
    assert len(kept.verified_quotes) == 1
    assert len(removed.removed_quotes) == 1


def test_blockquote_is_checked_without_its_attribution(chunks):
    answer = (
        "Exigence :\n\n"
        "> Les matières doivent être manipulées et stockées de manière à éviter leur dégradation\n"
        "> — Partie II, §7.40\n\n"
        "> Les matières doivent être stockées à moins de 25 °C — Partie II, §7.40\n"
    )
    report = _verify(answer, chunks)
    assert len(report.verified_quotes) == 1
    assert len(report.removed_quotes) == 1
    assert f"> {QUOTE_REMOVED}" in report.answer
    assert "25 °C" not in report.answer


def test_bold_words_and_list_markers_in_a_quotation_do_not_break_it(chunks):
    answer = (
        "> - Le fabricant **doit** assurer la formation de tout le personnel\n"
        "> - appelé à pénétrer dans les zones de production et de stockage\n\n"
        "« Cette vérification de “vide de ligne” doit être effectuée suivant une procédure appropriée »"
    )
    report = _verify(answer, chunks)
    assert len(report.verified_quotes) == 2 and report.clean


def test_callout_blockquotes_and_short_terms_are_not_citations(chunks):
    answer = "> ⚠️ Fiabilité partielle : à confirmer.\n\nLe \"vide de ligne\" est vérifié."
    assert find_quotes(answer) == []
    assert _verify(answer, chunks).answer == answer


def test_quote_split_across_two_extracts_is_kept(guide_lines):
    paragraph = _paragraph(guide_lines, "2.11 A côté")
    cut = paragraph.index("Leur formation continue")
    halves = [Document(page_content=paragraph[:cut], metadata={"chunk_id": "a"}),
              Document(page_content=paragraph[cut:], metadata={"chunk_id": "b"})]
    quote = "une formation appropriée aux tâches qui leurs sont attribuées. Leur formation continue doit être assurée"

    report = verify_answer(f"« {quote} »", halves, KNOWN, CHAPTERS)

    assert report.verified_quotes and report.verified_quotes[0].chunk_id is None


def test_nested_quotes_are_one_quotation(chunks):
    quotes = find_quotes('« Cette vérification de "vide de ligne effectuée ici" doit être effectuée »')
    assert [q.text.strip()[:6] for q in quotes] == ["Cette "]


def test_normalise_removes_spaces_before_punctuation_and_collapses_carriage_returns():
    assert normalise("qualité :\r\n  le\u202flot ’x’") == "qualité: le lot 'x'"


# --- references ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("written", "part", "chapter", "paragraph"),
    [
        ("Partie I, chapitre 2, §2.10", "I", "2", "2.10"),
        ("Partie II 7.40", "II", None, "7.40"),
        ("Annexe 11 §4.8", "Annexes", "11", "4.8"),
        ("BPF I-2.10", "I", None, "2.10"),
        ("(Partie I, 5.50)", "I", None, "5.50"),
        ("§2.10 de la Partie I", "I", None, "2.10"),
        ("ICH Q10 §1.5.1", "III", "ICH Q10", "1.5.1"),
        ("Partie I, §§2.10-2.12", "I", None, "2.10-2.12"),
        ("Part I, chapter 2", "I", "2", None),
        ("LD.1 §118", "Annexes", "1", "118"),
        ("l'Annexe 15 (qualification)", "Annexes", "15", None),
    ],
)
def test_reference_formats_are_parsed_and_valid(chunks, written, part, chapter, paragraph):
    report = _verify(f"Voir {written} pour le détail.", chunks)
    assert report.invalid_references == []
    assert [(r.part, r.chapter, r.paragraph) for r in report.valid_references] == [(part, chapter, paragraph)]
    assert REFERENCE_FLAG not in report.answer


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("Partie I, Chapitre 10", "chapitre 10"),  # the study's assistant cited it: Part I has nine chapters
        ("Partie V", "Partie V"),
        ("Annexe 12", "Annexe 12"),
        ("Annexe 11, point 9.9", "9.9"),
        ("Partie II, §7.99", "7.99"),
        ("Partie I, chapitre 3, §2.10", "chapitre 3"),  # 2.10 is in chapter 2
        ("Partie I, §§2.17-2.20", "2.20"),  # a range is checked by its ends (the guide's numbering has gaps)
    ],
)
def test_non_existent_references_are_flagged(chunks, written, reason):
    report = _verify(f"Comme l'exige {written}, le personnel est formé.", chunks)
    assert len(report.invalid_references) == 1
    assert reason in (report.invalid_references[0].reason or "")
    assert f"{written} {REFERENCE_FLAG}" in report.answer
    assert "Vérification automatique" in report.answer


def test_numbers_that_are_not_references_are_ignored(chunks):
    answer = "La version 2.1 du logiciel, publiée en 2019, compte 3 modules."
    report = _verify(answer, chunks)
    assert report.valid_references == [] and report.invalid_references == []
    assert report.answer == answer


def test_two_parts_in_one_group_are_two_references(chunks):
    report = _verify("Comparer la Partie I et la Partie II, §7.40.", chunks)
    assert [(r.part, r.paragraph) for r in report.valid_references] == [("I", None), ("II", "7.40")]


def test_reference_inside_a_quotation_is_the_guides_text(chunks):
    report = _verify("« soit par le responsable du contrôle qualité, chapitre 12 »", chunks)
    assert report.invalid_references == []


# --- supporting chunks, sources, structured format ----------------------------------------------

def test_supporting_chunks_are_the_quoted_and_referenced_ones(chunks):
    answer = "« la contamination croisée » selon la Partie II, §7.40 ; voir aussi Partie I, §5.50."
    report = _verify(answer, chunks)
    assert [c.metadata["chunk_id"] for c in report.supporting_chunks] == ["I-5.50", "II-7.40"]


def test_supporting_chunks_follow_the_exact_paragraph_list():
    grouped = Document(page_content="2.10 ... 2.12 ...", metadata={"part": "I", "paragraph": "2.10-2.12",
                                                                  "paragraphs": "2.10;2.12", "chunk_id": "g"})
    assert _verify("Partie I, §2.12", [grouped]).supporting_chunks == [grouped]
    assert _verify("Partie I, §2.11", [grouped]).supporting_chunks == []


def test_source_titles():
    assert source_title({"part": "I", "chapter": "2", "paragraph": "2.10"}) == "BPF Partie I — Chapitre 2 — §2.10"
    assert source_title({"part": "Annexes", "chapter": "Annexe 11", "paragraph": "4.8"}) == "BPF Annexe 11 — §4.8"
    assert source_title({"part": "Annexes", "chapter": "11"}) == "BPF Annexe 11"
    assert source_title({"part": "III", "chapter": "ICH Q9"}) == "BPF Partie III — ICH Q9"
    ranged = {"part": "I", "chapter": "2", "paragraph": "2.10-2.12"}
    assert source_title(ranged) == "BPF Partie I — Chapitre 2 — §§2.10-2.12"


def test_sources_for_chunks_and_markdown_list(chunks):
    split_paragraph = Document(page_content="suite du paragraphe", metadata={"part": "I", "chapter": "2",
                                                                            "paragraph": "2.10"})
    sources = sources_for([*chunks[:2], split_paragraph, chunks[0]])

    assert [s["title"] for s in sources] == ["BPF Partie I — Chapitre 2 — §2.10", "BPF Partie I — Chapitre 2 — §2.11"]
    assert sources[0]["text"].endswith("\nsuite du paragraphe")
    assert sources[0]["metadata"]["part"] == "I" and sources[0]["metadata"]["paragraph"] == "2.10"
    assert "chapter_title" in sources[0]["metadata"]
    markdown = sources_markdown(sources)
    assert "**Sources**" in markdown
    assert "1. BPF Partie I — Chapitre 2 — §2.10 (Personnel)" in markdown
    assert sources_markdown([]) == ""


def test_structured_sections_detected_as_headings_or_bold_labels():
    answer = (
        "## 1. Parties concernées\nPartie I\n\n### Références (partie, chapitre, section)\n- Partie I, §2.10\n\n"
        "**Synthèse :** le personnel est formé.\n\n## Comparaison entre parties\n...\n\n## 📌 Détails\n...\n\n"
        "Citations exactes\n> ...\n\n## Fiabilite\n✅"
    )
    assert all(structured_sections_present(answer).values())


def test_structured_sections_missing_and_mentions_in_prose_do_not_count():
    answer = "## Synthèse\nLa synthèse des détails et des références suit.\n- Détails : aucun."
    present = structured_sections_present(answer)
    assert present["Synthèse"] is True
    assert present["Détails"] is False
    assert present["Références"] is False
    assert present["Fiabilité"] is False


# --- the dev set's gold quotes, against the whole guide ---------------------------------------------

@pytest.fixture(scope="module")
def gold(shared_dir: Path) -> list[dict]:
    import json

    lines = (shared_dir / "datasets" / "bpf_dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [item for line in lines if line.strip() for item in json.loads(line)["gold"]]


def test_every_gold_quote_verifies_and_every_altered_one_is_removed(guide_lines, gold):
    whole_guide = [Document(page_content="\n".join(guide_lines), metadata={"chunk_id": "guide"})]
    true_quotes = [item["quote"] for item in gold]
    # Alter one word in the middle of each quote: the kind of drift a model makes when it paraphrases.
    altered = []
    for quote in true_quotes:
        words = quote.split()
        middle = len(words) // 2
        altered.append(" ".join([*words[:middle], "notamment", *words[middle:]]))

    answer = "\n".join(f"- « {quote} »" for quote in [*true_quotes, *altered])
    report = verify_answer(answer, whole_guide, set(), {})

    assert len(true_quotes) >= 70
    assert sorted(q.text.strip() for q in report.verified_quotes) == sorted(true_quotes)
    assert sorted(q.text.strip() for q in report.removed_quotes) == sorted(altered)

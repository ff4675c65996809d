import pytest

from evaluation.checks import (
    annex_id,
    check_citations,
    format_compliance,
    gold_coverage,
    is_refusal,
    refusal_check,
    routing_check,
    run_checks,
)
from evaluation.dataset import EvalItem, GoldReference
from evaluation.guide import GuideReference, load_guide_reference


@pytest.fixture(scope="module")
def guide(request) -> GuideReference:
    bpf_dir = request.getfixturevalue("bpf_dir")
    return load_guide_reference(bpf_dir)


GOOD_ANSWER = """Selon la Partie I, chapitre 5, §5.51 : « Le nom et le numéro de lot de chaque produit à
conditionner doivent être indiqués sur chaque ligne ou poste de conditionnement. »
Pour les données migrées, l’Annexe 11, §4.8 exige que « la validation doit notamment garantir que la valeur
et/ou la signification des données ne sont pas altérées » ; voir aussi Partie II, §7.40."""

BAD_ANSWER = """D'après la Partie I, Chapitre 10, la formation dure « au moins quarante heures par an pour chaque
opérateur de production », et la Partie I, chapitre 3, §2.10 le confirme (Annexe 42)."""


def test_guide_index_knows_real_paragraphs_and_not_invented_ones(guide):
    assert ("I", "2.10") in guide.known and ("II", "7.40") in guide.known
    assert ("Annexes", "4.8") in guide.known
    assert "9" in guide.chapters["I"] and "10" not in guide.chapters["I"]
    assert "11" in guide.chapters["Annexes"]


def test_good_answer_passes_citation_checks(guide):
    result = check_citations(GOOD_ANSWER, guide)
    assert result["valid"], result
    assert result["quotes"] == 2 and result["references"] == 3


def test_invented_chapter_false_quote_and_mismatched_paragraph_are_caught(guide):
    result = check_citations(BAD_ANSWER, guide)
    assert not result["valid"]
    assert set(result["invalid_references"]) == {"Partie I, chapitre 10", "Partie I, chapitre 3, §2.10", "Annexe 42"}
    assert [" ".join(quote.split()) for quote in result["invalid_quotes"]] == [
        "au moins quarante heures par an pour chaque opérateur de production"]


def test_quote_matching_folds_white_space_and_apostrophes_only(guide):
    # The guide writes "d'un personnel" with a straight apostrophe and "qu’une" with a curly one.
    assert guide.contains("le fabricant doit disposer d’un personnel\n  qualifié et en nombre suffisant")
    assert not guide.contains("le fabricant doit disposer d'un personnel qualifié et en nombre insuffisant")


GOLD = (GoldReference("I", "5", "5.51", "Le nom et le numéro de lot de chaque produit à conditionner"),
        GoldReference("I", "5", "5.50", "il convient de vérifier que la zone de travail"),
        GoldReference("Annexes", "11", "4.8", "la valeur et/ou la signification des données"))


def test_gold_coverage_says_which_gold_paragraphs_the_answer_cites_quotes_or_retrieved():
    sources = [{"title": "BPF Partie I §5.50", "text": "Avant le début de toute opération, il convient de\nvérifier "
                "que la zone de travail, les lignes..."}]
    answer = ("Voir Partie I, §5.51. L'Annexe 11 demande de garantir que « la valeur et/ou la signification des "
              "données ne sont pas altérées ».")
    result = gold_coverage(answer, sources, GOLD)
    assert result["cited"] == ["Partie I, §5.51"]
    assert result["quoted"] == ["Annexe 11, §4.8"]  # quoted without its paragraph number
    assert result["missing"] == ["Partie I, §5.50"]  # only retrieved: the answer does not use it
    assert (result["covered"], result["share"]) == (2, 2 / 3)
    assert (result["retrieved"], result["retrieved_share"]) == (1, 1 / 3)
    assert [entry["retrieved"] for entry in result["paragraphs"]] == [False, True, False]


def test_gold_coverage_needs_the_right_part_annex_and_paragraph():
    wrong = gold_coverage("Voir Partie II, §5.51, Annexe 15 §4.8 et Partie I, §5.5.", [], GOLD)
    assert wrong["covered"] == 0 and len(wrong["missing"]) == 3 and wrong["share"] == 0
    ranges = gold_coverage("Partie I, §§5.49-5.52 ; LD.11 §4.8", [], GOLD)
    assert ranges["covered"] == 3


def test_a_reference_inside_a_quotation_is_the_guide_speaking_not_a_citation():
    answer = "Le guide dit « comme indiqué au paragraphe 5.51 de la Partie I, le contrôle est requis »."
    assert gold_coverage(answer, [], GOLD[:1])["cited"] == []


def test_unnumbered_gold_paragraph_is_cited_by_its_chapter():
    principle = (GoldReference("Annexes", "11", "Principe", "La présente annexe s'applique à toutes les formes"),)
    assert gold_coverage("Selon l'Annexe 11, le principe…", [], principle)["covered"] == 1
    assert gold_coverage("Selon l'Annexe 15, le principe…", [], principle)["covered"] == 0


def test_a_short_common_phrase_is_not_a_quotation_of_the_gold():
    assert gold_coverage("Il faut « le nom et le numéro » partout.", [], GOLD[:1])["quoted"] == []


STRUCTURED = """## 📚 Parties concernées
Partie I
## Références
- Partie I, chapitre 2, §2.10
## Résumé
...
## Comparaison entre parties
...
## Détails
...
## Citations exactes
« ... »
**Fiabilité** : ✅"""


def test_format_compliance_on_structured_and_plain_answers():
    assert format_compliance(STRUCTURED)["share"] == 1.0
    plain = format_compliance("Le guide demande une formation continue du personnel.")
    assert plain["share"] == 0.0 and "fiabilite" in plain["missing"]
    partial = format_compliance("### Résumé\ntexte\n### Détails\ntexte")
    assert partial["sections"]["resume"] and partial["sections"]["details"] and not partial["sections"]["citations"]


def test_refusal_is_right_only_where_the_guide_is_silent():
    unanswerable = EvalItem("u", "Combien d'heures de formation ?", gold=(), type="unanswerable")
    answerable = EvalItem("a", "Vide de ligne ?", gold=GOLD)
    refusal = "Le guide BPF ne couvre pas cette question : il ne fixe aucune durée de formation. ❌"
    invented = "Il faut 40 heures de formation par an (Partie I, chapitre 2)."
    assert is_refusal(refusal) and not is_refusal(invented)
    assert refusal_check(refusal, unanswerable)["correct"] is True
    assert refusal_check(invented, unanswerable)["correct"] is False
    assert refusal_check(refusal, answerable)["correct"] is False
    assert refusal_check(invented, EvalItem("n", "q"))["correct"] is None


def test_routing_check_grades_only_what_the_router_chose():
    item = EvalItem("r", "Traduis ceci", expected_agent="translation")
    assert routing_check(item, {"label": "translation", "method": "local"})["correct"] is True
    assert routing_check(item, {"label": "general", "method": "model"})["correct"] is False
    assert routing_check(item, {"label": "general", "method": "local+access"})["correct"] is False
    assert routing_check(EvalItem("x", "q"), {"label": "general", "method": "local"})["correct"] is None


@pytest.mark.parametrize("method", ["explicit", "slash", None])
def test_routing_check_does_not_grade_an_agent_the_request_named(method):
    # Asked for by name, the route equals the dataset's agent by construction: not a routing measure.
    item = EvalItem("r", "Traduis ceci", agent="translation", expected_agent="translation")
    check = routing_check(item, {"label": "translation", "method": method})
    assert check["correct"] is None and check["routed"] is False


def test_run_checks_applies_guide_checks_only_to_guide_questions(guide):
    gmp = EvalItem("g", "Vide de ligne ?", agent="regulatory_analysis", expected_agent="regulatory_analysis",
                   gold=GOLD, structured=True)
    checks = run_checks(gmp, GOOD_ANSWER, [], {"label": "regulatory_analysis", "method": "local"}, guide)
    assert checks["citations"]["valid"] and checks["format"]["share"] < 1
    assert checks["coverage"]["cited"] == ["Partie I, §5.51", "Annexe 11, §4.8"] and checks["routing"]["correct"]
    other = EvalItem("c", "Écris une fonction", agent="code", expected_agent="code")
    checks = run_checks(other, "def f(): pass", [], {"label": "code"}, guide)
    assert checks["citations"] is None and checks["coverage"] is None and checks["format"] is None


def test_every_study_gold_paragraph_is_recognised_when_an_answer_cites_it():
    from pathlib import Path

    from evaluation.dataset import load_dataset

    study = load_dataset(Path(__file__).resolve().parents[2] / "evaluation" / "datasets" / "etude_bpf_20.jsonl")
    for item in study:
        for gold in item.gold:
            where = f"Annexe {annex_id(gold.chapter)}" if gold.part == "Annexes" else f"Partie {gold.part}"
            if gold.part == "III":
                where += f", {gold.chapter}"
            number = gold.paragraph.split()[0]
            answer = f"Comme l'exige le guide ({where}, §{number})." if number[0].isdigit() else f"Voir {where}."
            assert gold_coverage(answer, [], [gold])["cited"], (item.id, answer)


def test_partie_iii_texts_the_parser_cannot_name_are_matched_on_the_part_and_paragraph():
    excipients = (GoldReference("III", "Excipients", "2.3", "x"),)
    assert gold_coverage("Partie III, §2.3", [], excipients)["covered"] == 1
    assert gold_coverage("ICH Q9 §2.3", [], excipients)["covered"] == 0
    ich = (GoldReference("III", "ICH Q10", "4.2 (Surveillance des facteurs internes et externes)", "x"),)
    assert gold_coverage("ICH Q10 §4.2", [], ich)["covered"] == 1
    assert gold_coverage("ICH Q9 §4.2", [], ich)["covered"] == 0

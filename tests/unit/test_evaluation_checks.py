import pytest

from evaluation.checks import (
    check_citations,
    extract_references,
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


def test_references_are_parsed_from_french_and_english_wording():
    refs = [str(ref) for ref in extract_references(
        "Voir Partie I, chapitre 2, § 2.10, puis Part II, section 7, paragraph 7.40, LD.1 et Annexe 15, point 6.2.")]
    assert refs == ["Partie I, chapitre 2, §2.10", "Partie II, chapitre 7, §7.40", "Annexe 1", "Annexe 15, §6.2"]


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


def test_gold_coverage_counts_cited_paragraphs_and_retrieved_quotes():
    sources = [{"title": "BPF Partie I §5.50", "text": "Avant le début de toute opération, il convient de\nvérifier "
                "que la zone de travail, les lignes..."}]
    result = gold_coverage("Voir Partie I, §5.51 et Annexe 11, §4.8.", sources, GOLD)
    assert result == {"gold": 3, "covered": 3, "share": 1.0, "missing": []}
    missing = gold_coverage("Voir Partie II, §5.51.", [], GOLD)
    assert missing["covered"] == 0 and len(missing["missing"]) == 3


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


def test_routing_check_compares_expected_agent_with_the_route():
    item = EvalItem("r", "Traduis ceci", expected_agent="translation")
    assert routing_check(item, {"label": "translation", "method": "local"})["correct"] is True
    assert routing_check(item, {"label": "general"})["correct"] is False
    assert routing_check(EvalItem("x", "q"), {"label": "general"})["correct"] is None


def test_run_checks_applies_guide_checks_only_to_guide_questions(guide):
    gmp = EvalItem("g", "Vide de ligne ?", agent="regulatory_analysis", expected_agent="regulatory_analysis",
                   gold=GOLD, structured=True)
    checks = run_checks(gmp, GOOD_ANSWER, [], {"label": "regulatory_analysis"}, guide)
    assert checks["citations"]["valid"] and checks["coverage"]["covered"] == 2 and checks["format"]["share"] < 1
    other = EvalItem("c", "Écris une fonction", agent="code", expected_agent="code")
    checks = run_checks(other, "def f(): pass", [], {"label": "code"}, guide)
    assert checks["citations"] is None and checks["coverage"] is None and checks["format"] is None

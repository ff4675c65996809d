"""The GMP glossary: a real list, terms found as written, applied and missed terms, safe fixes only."""

from __future__ import annotations

from tools.glossary import (
    GlossaryReport,
    check_segment,
    find_terms,
    load_glossary,
    lookup_gmp_term,
    relevant_entries,
    render_report,
)


def test_the_glossary_has_at_least_150_distinct_terms_in_both_languages():
    entries = load_glossary()
    assert len(entries) >= 150
    assert len({entry.fr.lower() for entry in entries}) == len(entries)
    assert all(entry.fr and entry.en for entry in entries)
    pairs = {(entry.fr, entry.en) for entry in entries}
    assert {("lot", "batch"), ("libération", "release"), ("écart", "deviation"),
            ("maîtrise des changements", "change control"), ("pharmacien responsable", "Qualified Person")} <= pairs


def test_longest_terms_win_and_plurals_and_accents_are_folded():
    found = [written for written, _ in find_terms("La LIBERATION DES LOTS et les écarts du lot", "fr-en")]
    assert found == ["libération des lots", "écart", "lot"]


def test_an_acronym_matches_only_in_capitals():
    assert [w for w, _ in find_terms("Signed by the QP.", "en-fr")] == ["QP"]
    assert find_terms("the qp signed", "en-fr") == []


def test_the_model_is_given_only_the_entries_its_text_needs():
    entries = relevant_entries(["Le dossier de lot est revu.", "Ouvrir une demande de changement."], "fr-en")
    assert entries == [("demande de changement", "change request"), ("dossier de lot", "batch record")]


def test_applied_and_missed_terms_are_reported():
    report = GlossaryReport("fr-en")
    check_segment("Les écarts du lot sont clos.", "The deviations of the batch are closed.", "fr-en", report)
    check_segment("La maîtrise des changements.", "The management of modifications.", "fr-en", report)
    assert {use.source for use in report.applied} == {"lot", "écart"}
    assert [use.source for use in report.missed] == ["maîtrise des changements"]
    table = render_report(report)
    assert "2 terme(s) appliqué(s)" in table and "1 manqué(s)" in table
    assert "| maîtrise des changements | change control | 1 | manqué |" in table


def test_a_french_term_left_in_an_english_translation_is_replaced():
    report = GlossaryReport("fr-en")
    fixed = check_segment("Les dossiers de lot sont signés par le pharmacien responsable.",
                          "The dossiers de lot are signed by the pharmacien responsable.", "fr-en", report)
    assert fixed == "The batch records are signed by the Qualified Person."
    assert {use.status for use in report.uses.values()} == {"corrigé"}


def test_an_ambiguous_miss_is_never_rewritten():
    report = GlossaryReport("fr-en")
    text = "The batch is released after the gap is closed."
    assert check_segment("Le lot est libéré après clôture de l'écart.", text, "fr-en", report) == text
    assert [use.source for use in report.missed] == ["écart"]


def test_nothing_is_rewritten_into_french():
    report = GlossaryReport("en-fr")
    text = "Le change control est ouvert."
    assert check_segment("The change control is open.", text, "en-fr", report) == text
    assert [use.source for use in report.missed] == ["change control"]


def test_no_term_gives_a_short_report():
    assert "aucun terme" in render_report(GlossaryReport("en-fr"))


def test_lookup_tool():
    assert lookup_gmp_term.invoke({"term": "change control"}) == "change control → maîtrise des changements"
    assert "n'est pas dans le glossaire" in lookup_gmp_term.invoke({"term": "zèbre"})

"""Web research's cheap checks: do the pages hold the question's key terms; do the citations point to pages read."""

from __future__ import annotations

from agents.web_research.citations import check_citations, pages_note
from agents.web_research.coverage import judge_coverage, key_terms
from agents.web_research.graph import fallback_query, new_queries, search_query

PAGES = [
    {"title": "Annexe 1", "url": "https://health.ec.europa.eu/annexe-1", "text": "La révision de l'Annexe 1 ...",
     "metadata": {"read": True}},
    {"title": "EMA", "url": "https://www.ema.europa.eu/en/news", "text": "extrait", "metadata": {"read": False}},
]


def test_key_terms_leave_out_stop_and_question_words_and_keep_numbers():
    assert list(key_terms("Quelles sont les dernières exigences de l'Annexe 1 sur la CCS ?").values()) == [
        "exigences", "Annexe", "1", "CCS"]


def test_a_stem_or_an_accent_does_not_hide_a_term_but_another_number_does():
    question = "Quand l'Annexe 1 révisée s'applique-t-elle ?"
    assert judge_coverage(question, [{"title": "", "text": "La RÉVISION de l'annexe 1 est appliquée."}]).answers
    miss = judge_coverage(question, [{"title": "", "text": "L'annexe 11 révisée s'applique en 2026."}])
    assert miss.missing == ("1",) and miss.summary() == "3/4 termes de la question trouvés"
    assert miss.answers  # 3 of 4 is enough
    assert not judge_coverage(question, [{"title": "", "text": "Rien à voir : la météo de demain."}]).answers


def test_citations_by_number_and_by_address_are_matched_with_the_pages_read():
    answer = ("Selon [1, 2] et http://www.ema.europa.eu/en/news/#haut, mais aussi [3] et "
              "https://example.org/inventee.")
    check = check_citations(answer, PAGES)
    assert check.cited == (1, 2) and check.unknown_numbers == (3,)
    assert check.unread_urls == ("https://example.org/inventee",) and not check.sound


def test_the_pages_note_lists_every_page_read_and_what_points_nowhere():
    note = pages_note(check_citations("Voir [1] et [5].", PAGES), PAGES)
    assert "1. [Annexe 1](https://health.ec.europa.eu/annexe-1) — citée" in note
    assert "2. [EMA](https://www.ema.europa.eu/en/news) — non citée ; page illisible" in note
    assert "⚠️ Citation sans page correspondante : [5]" in note


def test_queries_are_short_new_and_free_of_personal_data():
    assert search_query("mot " * 100).endswith("mot") and len(search_query("mot " * 100)) <= 200
    tried = ["annexe 1 CCS"]
    proposed = ["« Annexe 1 CCS »", "CCS stérile", "dossier de Jean Dupont, NIR 1 85 05 78 006 084 91", ""]
    assert new_queries(proposed, tried) == ["CCS stérile"]
    assert fallback_query("Quelle limite l'EMA fixe-t-elle pour les nitrosamines ?", ["nitrosamines"]) == \
        "nitrosamines limite EMA fixe"

"""Round 18 of the guard: a card's « crypto », autoimmune and thyroid conditions, an infection test's result, a health
clause that stops at a new subject; a job offer's pay and an « employee ID » are left alone.

The forms come from blind21's misses and flagged clean rows (tuning data since its one measurement, after round 17),
but every value and sentence here was written anew, in another wording, so that a rule fitted to one row would fail.
"""

from __future__ import annotations

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a job offer's pay belongs to a position
    "Reformule l'offre d'emploi : pharmacien assurance qualité H/F, CDI à Tours, salaire 45 k€ bruts selon profil.",
    # an identifier's acronym after a role word is no one's name
    "Dear [First Name], your employee ID [XXXXX] is ready: fix the merge field in the onboarding mail.",
    # « crypto » before a year is about cryptocurrencies
    "Résume la note de veille crypto 2024 sur les paiements en ligne pour le comité achats.",
]

FOUND = [
    ("SECRET", "Réserve l'hôtel pour M. Gaël Moreau avec la carte 4970 1012 3456 7899, exp 11/27, crypto 736.",
     "crypto 736"),
    ("SANTE", "Point RH : M. Hugo Lenoir, lupus, télétravail deux jours par semaine.", "lupus"),
    ("SANTE", "Réunion avec Mme Alice Roy, hyperthyroïdie, pas d'astreinte de nuit.", "hyperthyroïdie"),
    ("SANTE", "Préviens l'équipe que Mme Laure Petit a un test PCR positif et reste chez elle cette semaine.",
     "test PCR positif"),
    ("SANTE", "Note RH : Mr Owen Marsh reported drowsiness after the new dose and asked to avoid driving duties.",
     "drowsiness"),
    # a condition's clause ends where « et » brings a new subject: the pay after it is pay, not health
    ("SALAIRE", "Aide-moi pour ma demande : j'ai une sclérose en plaques et je gagne 2 310 € net par mois.",
     "2 310 € net"),
    # a job offer's words exempt a position's pay, not the pay of the person the request names
    ("SALAIRE", "Candidature de Mme Inès Robin à l'offre d'emploi : elle touche aujourd'hui 41 k€ bruts.", "41 k€"),
]


# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)

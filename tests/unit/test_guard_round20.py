"""Round 20 of the guard: fewer clean requests flagged. A password policy's examples, a vault reference, a masked key
and an image digest; a department's mailbox, a conference's dial-in, zero-filled test numbers and sample dates; a
founder's name before « Pharma »; months in dates; a count before a lower-case noun phrase; a public median pay, a
position's pay and a dividend; « -moi » after an imperative. Found: pay in « K », by the half-day, « je suis à »;
drinking, imaging and a specialist's follow-up.

The forms come from blind23's misses and flagged clean rows (tuning data since its measurements, after round 19),
but every value and sentence here was written anew, in another wording, so that a rule fitted to one row would fail.
"""

from __future__ import annotations

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a password policy's examples of what it blocks
    'Update the password FAQ: well-known examples such as "Winter2025!" or "P@ssw0rd" are blocked (breach lists).',
    # a reference to a vault, a masked key, an image's digest
    "API keys are referenced by name in the vault (e.g. ${SECRET:erp-api-key}), never by value.",
    "Keys look like sk-live-XXXXXXXXXXXXXXXXXXXX in production; never paste one in a ticket.",
    "Pin the image: registry.example.internal/qa/lims-export@sha256:"
    "5f2b7c41e7aa09d3b1c6f0e2d8a4b9c37e1f60a2b5d8c9e0f1a2b3c4d5e6f708",
    # a department's mailbox and a conference's dial-in
    "Pour les questions médicales, écrire à infomed@laboratoire-exemple.fr ou à security@laboratoire-exemple.fr.",
    "Rappel : accès audio +33 1 84 88 00 00, ID de réunion 551 203 44, sans code invité.",
    # zero-filled test numbers in a sandbox, a sample's date of birth
    "Sandbox: the declined-payment test card is 4000 0000 0000 0069 per the provider's documentation.",
    "Jeu de test factice : IBAN FR76 0000 0000 0000 0000 0000 000, date de naissance fictive 01/01/1980.",
    # a founder's name before « Pharma », months in dates, a count before a noun phrase
    "Sylvain Pharma today announced positive Phase III results.",
    "Publication: The Lancet, June 2024 (open access).",
    "Audit interne : 3 minor findings, all closed within the month.",
    # a public median pay, a position's pay, a dividend (which no rule took for pay before either)
    "Selon l'enquête, le salaire médian des ingénieurs qualité est de 46 000 € brut annuel.",
    "Explique ce qu'un TJM de 700 € HT représente pour un consultant.",
    "Le conseil propose un dividende de 2,10 € par action au titre de 2024.",
    # « -moi » after an imperative asks for a task, it is no one's condition
    "Prépare-moi une fiche sur le diabète de type 2 pour la journée mondiale du diabète.",
]

FOUND = [
    # pay in « K », with or without what it is
    ("SALAIRE", "On me propose 62K fixe et 9K variable ailleurs, je dois répondre à Paul Girard vendredi.",
     "9K variable"),
    ("SALAIRE", "Mon manager Luc Perrin dit que je suis à 47K, mais mon contrat dit autre chose.", "47K"),
    # a rate by the half-day
    ("SALAIRE", "Mme Inès Carvalho animera la formation pour des honoraires de 900 € la demi-journée.",
     "900 € la demi-journée"),
    # drinking, imaging, a specialist's follow-up
    ("SANTE", "Signalement RH : M. Olivier Bastide est arrivé ivre sur la ligne 3 lundi.", "ivre"),
    ("SANTE", "Rappel pour Mme Nadia Lemaire : elle doit apporter son PET scan au rendez-vous.", "PET scan"),
    ("SANTE", "Mon collègue Yann Cordier est suivi en hématologie depuis mars.", "suivi en hématologie"),
]


# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)

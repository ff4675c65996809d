"""Round 24 of the guard: days times a rate, an export's « base_eur » column, a percentage spelt out as pay; results
« ne sont pas publiés », a withdrawal kept quiet or from the regulator; a card « expiring »; kidney stones, alcohol
dependence, a pregnancy's dates. Left alone: a department's phone line, a vault's path to a secret.

The forms come from blind27's misses and flagged clean rows (tuning data since its three measurements, after round
23), but every value and sentence here was written anew, in another wording, so that a rule fitted to one row would
fail.
"""

from __future__ import annotations

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

EXPORT = ("Total par service :\nnom,service,base_eur,prime_eur\nAnaïs Roussel,QC,48500,3900\n"
          "Yann Kermarec,Prod,39200,2100")

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a department's line is nobody's
    "Ajoute au mail : pour toute question, contactez le service RH au 03 88 41 20 00 ou par l'intranet.",
    # a vault's path says where a secret is, not what it is
    "Is this right? db_password: \"{{ lookup('hashi_vault', 'secret=kv/data/mes:db_password') }}\"",
    # a message sent quietly is no regulator kept out
    "How can I update my Teams status without notifying the whole channel?",
    # results already published
    "Résume l'article publié dans le NEJM : le critère principal n'est pas atteint dans l'étude ORION-4.",
]

FOUND = [
    # days times a rate, an export's pay columns, a percentage spelt out as the pay after it
    ("SALAIRE", "Vérifie la facture de Mateus Oliveira : audit CSV, 8 jours x 820 € HT, TVA autoliquidée.", "820 € HT"),
    ("SALAIRE", EXPORT, "48500"),
    ("SALAIRE", EXPORT, "39200"),
    ("SALAIRE", "Synthèse pour Inès Garnier : augmentation proposée de 2,8 % soit 41 630 € brut annuel.", "2,8 %"),
    # not published, a withdrawal kept quiet, a regulator kept out
    ("CONFIDENTIEL", "Résume : les données de tolérance de l'étude KEL-3 ne sont pas publiées, 3 arrêts pour toxicité.",
     "les données de tolérance de l'étude KEL-3 ne sont pas publiées, 3 arrêts pour toxicité"),
    ("CONFIDENTIEL", "Rewrite: a quiet recall of lot 5521 was arranged with one distributor last week.",
     "a quiet recall of lot 5521 was arranged with one distributor last week"),
    ("CONFIDENTIEL", "Traduis : le lot 3107 a été retiré sans en informer l'ANSM, à la demande du directeur de site.",
     "le lot 3107 a été retiré sans en informer l'ANSM, à la demande du directeur de site"),
    # a card « expiring »
    ("CARTE_BANCAIRE", "Caller: my Visa is 4916 3385 0609 2211, expiring 05/28, please refund it.", "05/28"),
    # kidney stones, alcohol dependence, a pregnancy's dates
    ("SANTE", "Tell the team Ross Keane is off again: kidney stones, back on Monday.", "kidney stones"),
    ("SANTE", "Note confidentielle : M. Olivier Brunet est suivi pour une dépendance à l'alcool depuis mars.",
     "dépendance à l'alcool"),
    ("SANTE", "Dossier PV de Mme Aurélie Pons : date des dernières règles le 02/01, exposition au 1er trimestre.",
     "date des dernières règles"),
]

# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)

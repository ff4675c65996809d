"""Round 19 of the guard: pay said gross or net with no currency, as a share of a base or a target, on a form's pay
line, in performance shares; a form's sick-leave reason and known allergies; a few conditions and leaves; tablets
swallowed; a key in a URL's query and wherever it comes back; a « Sensitive » heading; a name signed in lower case.
Left alone: a question about classification labels, a NIR announced as a sample.

The forms come from blind22's misses and flagged clean rows (tuning data since its measurements, after round 18),
but every value and sentence here was written anew, in another wording, so that a rule fitted to one row would fail.
"""

from __future__ import annotations

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a question about the labels names markings without marking anything
    "STRICTLY CONFIDENTIAL and INTERNAL ONLY: what is the difference between these classification levels?",
    # a NIR announced as a made-up sample for tests (« nos tests » owns nothing)
    "Voici un NIR d'exemple fictif pour nos jeux de tests : 2 94 11 13 055 231 (sans clé).",
    # an ordinal is no euro amount, even beside a bonus
    "Pour le 150e anniversaire du site, la direction offre une journée portes ouvertes aux familles.",
    # a yield as a share of its theoretical value is no pay
    "Le rendement du lot 24-118 atteint 97 % du rendement théorique attendu.",
    # a closing word followed by an ordinary word is no signature
    "merci. bonne soirée",
]

FOUND = [
    # pay said gross or net with no currency
    ("SALAIRE", "Mail pour la RH : je touche 1 980 net alors que ma collègue Léa Marchand est à 2 240 net.",
     "1 980 net"),
    ("SALAIRE", "Reformule : mon bonus de 4150e n'apparaît pas sur ma fiche de paie de mars. Yanis Benali",
     "4150e"),
    ("SALAIRE", "Offer letter for Mr Tomasz Wrona: your salary is €91,000 per annum, reviewed each April.",
     "€91,000 per annum"),
    # a share of a base, a target or a salary belongs to the pay it is a share of
    ("SALAIRE", "Dear Chloé Garnier, your incentive is capped at 140% of target for the 2025 cycle.",
     "140% of target"),
    ("SALAIRE", "Avenant de M. Bastien Roux : une part variable pouvant atteindre 20 % de la rémunération fixe.",
     "20 % de la rémunération fixe"),
    # a sentence about an individual rise: its percentage is someone's pay
    ("SALAIRE", "Pour info, la hausse individuelle validée pour Nadia Ferreira est de 3,8 % en juillet.", "3,8 %"),
    # a form's pay line: every figure after its label
    ("SALAIRE", "Salarié : M. Olivier Carré\nSalaires bruts des trois derniers mois : 3 410,20 / 3 410,20 / 3 655,90\n",
     "3 655,90"),
    # performance shares granted to an executive
    ("SALAIRE", "Extract for the board: the CFO's long-term grant this year is 12,500 PSUs.", "12,500 PSUs"),
    # a form's sick-leave reason, known allergies
    ("SANTE", "Mme Agathe Lemoine\nMotif de l'arrêt : rechute après son opération\nDurée : 10 jours\n",
     "rechute après son opération"),
    ("SANTE", "Fiche d'aptitude de M. Kevin Hamon\nAllergies connues : arachide, iode\n", "arachide, iode"),
    # conditions and leave around a birth
    ("SANTE", "Mon collègue Jérôme Vidal fait des saignements de nez depuis qu'il prend ce traitement.",
     "saignements de nez"),
    ("SANTE", "Point équipe : Mme Rose Lambert a une pneumopathie et ne viendra pas cette semaine.",
     "pneumopathie"),
    ("SANTE", "Planning : M. Arnaud Besson sera en congé de paternité du 3 au 28 mars.", "congé de paternité"),
    ("SANTE", "Case note: Mr Felix Gardner, CKD stage 4, asked about dose adjustment.", "CKD stage 4"),
    # tablets swallowed
    ("SANTE", "Appel de Mme Sophie Caron : son fils a avalé trois comprimés de notre sirop par erreur.",
     "avalé trois comprimés"),
    # a key in a URL's query, and its other copy earlier in the text
    ("SECRET", "Why does 9c2e44b07f1a3d58e6b2c90a17f4d3e1 fail? The call is "
               "https://api.meteo.example/v1?city=Lyon&appid=9c2e44b07f1a3d58e6b2c90a17f4d3e1",
     "9c2e44b07f1a3d58e6b2c90a17f4d3e1"),
    # a « Sensitive » heading is a marking
    ("CONFIDENTIEL", "SENSITIVE - HR ONLY\nPlease summarise the attached grievance in five lines.",
     "SENSITIVE - HR ONLY"),
    # a name signed in lower case after a closing word
    ("PERSONNE", "salut, tu peux m'aider a reformuler ma demande de conge ? merci. camille d.", "camille d."),
]


# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)

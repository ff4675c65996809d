"""Round 26 of the guard: a sick leave's length beside its condition, a CSV's reason column beside « DATE_DEBUT_ARRET »,
a return-to-work medical visit, leaving « pour raisons de santé », NYHA classes, liver failure, a
sciatica, a torn cruciate ligament; a pay's name after its amount (« €4,000 signing bonus »), euros said « balles »;
a headcount reduction, « pulling the plug on » a line, news kept « under wraps » or « motus jusqu'à l'annonce », a net
price after rebate, publication still to come; a sentence that goes on after « approx. »; a name's title kept with
the name when a health clause reaches back over it. Left alone: a provider's
test card whose last group is not zeros, « raisons de santé publique », a line stopped for days, a published
headcount reduction.

The forms come from blind29's misses and flagged clean rows (tuning data since its two measurements, after round
25), but every value and sentence here was written anew, in another wording, so that a rule fitted to one row would
fail.
"""

from __future__ import annotations

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

EXPORT = ("Contrôle ce fichier pour la mutuelle :\nNOM_PRENOM;MOTIF;DATE_DEBUT_ARRET\n"
          "MARCHAND Élise;chute dans l'escalier;04/02/2025\nROCHE Julien;suites opératoires;11/03/2025")

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a provider's documented test number, its last group not zeros
    "Write test cases for the sandbox checkout with the documented test card 4000 0000 0000 3220 (3-D Secure).",
    # public health is nobody's
    "Résume la note : le préfet a fermé la baignade pour des raisons de santé publique après les analyses.",
    # a line stopped for days is no one's leave
    "Rédige le compte rendu : la ligne 3 a subi un arrêt de 12 jours pour changement de format en avril.",
    # a reduction already announced
    "Summarise the press release: the group announced a headcount reduction of 200 roles at its Basel site.",
]

FOUND = [
    # a sick leave's length beside its condition, a reason column beside the leave's start
    ("SANTE", "CR CSSCT : Mme Fanny Leroux, entorse de la cheville au quai de chargement, arrêt de 21 jours.",
     "arrêt de 21 jours"),
    ("SANTE", EXPORT, "suites opératoires"),
    # a return-to-work visit, leaving for health reasons, NYHA, liver failure, sciatica, a torn ligament
    ("SANTE", "Envoie un rappel à M. Hervé Castel pour sa visite médicale de reprise jeudi à 14 h.",
     "visite médicale de reprise"),
    ("SANTE", "Annonce interne : Mme Sandrine Vidal quitte ses fonctions pour raisons de santé au 30 juin.",
     "raisons de santé"),
    ("SANTE", "Demande d'ATU : M. Roger Lemaire, 71 ans, dyspnée au moindre effort, NYHA III, sous furosémide.",
     "NYHA III"),
    ("SANTE", "Narratif : Mme Lucie Ferrand, 58 ans, insuffisance hépatique sévère au 2e cycle.",
     "insuffisance hépatique"),
    ("SANTE", "Mail RH : Quentin Barbier est absent, lombosciatique, il revient le 12.", "lombosciatique"),
    ("SANTE", "Préviens le club : Noémie Garnier s'est fait une rupture du ligament croisé au ski.",
     "rupture du ligament croisé"),
    # a pay's name after its amount, euros said « balles »
    ("SALAIRE", "Offer for Hannah Schultz: €88k base plus a €4,000 signing bonus in month one.",
     "€4,000 signing bonus"),
    ("SALAIRE", "Reformule : « Bastien Colin touche 3 900 balles net, pas moi. »", "3 900 balles net"),
    # a headcount reduction, « pulling the plug », kept under wraps or « motus », a net price after rebate
    ("CONFIDENTIEL", "Notes: the headcount reduction in Cork (approx. 40 roles) stays under wraps until Monday.",
     "the headcount reduction in Cork (approx. 40 roles) stays under wraps until Monday"),
    ("CONFIDENTIEL", "Tidy this up: we are pulling the plug on the vial line in Ghent, about 65 jobs.",
     "we are pulling the plug on the vial line in Ghent, about 65 jobs"),
    ("CONFIDENTIEL", "Résume le vocal : le rachat de Nortis Pharma se fait à 48 millions, motus jusqu'à l'annonce.",
     "le rachat de Nortis Pharma se fait à 48 millions, motus jusqu'à l'annonce"),
    ("CONFIDENTIEL", "For the board: net price after rebate lands at $2,950 per pack with the insurer.",
     "net price after rebate lands at $2,950 per pack with the insurer"),
    # a name keeps its title when a health clause reaches back over it
    ("PERSONNE", "Traduis ce compte rendu : Mme Inès Carpentier a une sclérose en plaques depuis 2019.",
     "Mme Inès Carpentier"),
    # publication still to come is no publication
    ("CONFIDENTIEL", "Note : prix facial de 860 € la boîte. Rien dans les supports avant la publication au Journal "
                     "officiel.",
     "prix facial de 860 € la boîte"),
]

# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)

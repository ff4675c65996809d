"""Round 21 of the guard: business secrets said with no marking (unpublished results, a deal and its money, a
restructuring and its jobs, a negotiated price) keep a request local; a published text's news is left alone. Also:
drug reactions of a pharmacovigilance case; a head office's label, a template's sample street, a policy's examples
« à ne pas utiliser », a hypothesis about « un salarié » left alone.

The forms come from blind24's misses and flagged clean rows (tuning data since its measurements, after round 20),
but every value and sentence here was written anew, in another wording, so that a rule fitted to one row would fail.
"""

from __future__ import annotations

from relais.guard import inspect

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # news the company has published
    "Summarise this press release: Norlane Pharma announced the acquisition of Bexor Bio for €220M in cash.",
    "Résume le communiqué publié ce matin : fermeture de l'usine de Dieppe, 85 postes supprimés d'ici 2026.",
    # a list price in the official journal, results on a public registry
    "Le prix publié au Journal officiel est de 18,40 € par boîte de 30 comprimés.",
    # a trial's results in the guide's sense: a method, not news
    "Des méthodes alternatives permettant d'obtenir des résultats préliminaires peuvent être envisagées.",
    # a word about deals with no money, jobs with no number
    "Quelles sont les étapes d'une acquisition d'entreprise en droit français ?",
    # a machine's purchase and a lab system's data acquisition are no deal
    "Le coût d'acquisition du chromatographe est de 85 000 € HT, maintenance comprise.",
    "Rédige l'URS du système d'acquisition de données GxP, budget 12 000 €.",
    # a head office's label, a template's sample street
    "Mets à jour la signature :\nService Achats – Norlane Pharma\nStandard : +33 (0)4 78 10 20 00\n"
    "Siège : 9 avenue Tony Garnier, 69007 Lyon",
    "Modèle de courrier : adresse du destinataire « 5 avenue de l'Exemple, 69000 Lyon ».",
    # a policy's examples « à ne pas utiliser », a hypothesis about anyone's pay
    "Rédige une note sur les mots de passe : 12 caractères minimum. Exemples à NE PAS utiliser : « Automne2025! », "
    "« Soleil@1 ».",
    "Si un salarié touche 2 800 € brut par mois, combien reçoit-il en net, à peu près ?",
]

FOUND = [
    # not public yet
    ("CONFIDENTIEL", "Reformule : les résultats non publiés de l'étude KORA-2 montrent une baisse de 22 % des crises.",
     "les résultats non publiés de l'étude KORA-2 montrent une baisse de 22 % des crises"),
    ("CONFIDENTIEL", "Translate: the IDMC recommends stopping the 10 mg arm for futility after the second look.",
     "the IDMC recommends stopping the 10 mg arm for futility after the second look"),
    # a deal and its money, a restructuring and its jobs, a negotiated price
    ("CONFIDENTIEL", "Prépare une slide : rachat de Solvane Bio, valorisation 180 M€, signature visée en mars.",
     "rachat de Solvane Bio, valorisation 180 M€, signature visée en mars"),
    ("CONFIDENTIEL", "Draft the talking points: site closure in Leeds, 60 jobs affected, works council on 4 June.",
     "site closure in Leeds, 60 jobs affected, works council on 4 June"),
    ("CONFIDENTIEL", "Check my maths: the floor price for the tender is €41 per vial for 50,000 vials.",
     "the floor price for the tender is €41 per vial for 50,000 vials"),
    # drug reactions of a case
    ("SANTE", "Case: Mr Colin Pryor developed jaundice two weeks after starting the new tablet.", "jaundice"),
    ("SANTE", "Case report: Mr Amos Kettle, Stevens-Johnson after the first dose, admitted to the burns unit.",
     "Stevens-Johnson"),
]


# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)


def test_a_business_secret_keeps_the_request_local():
    """A sentence that tells a business secret counts as a marking: the request is marked confidential."""
    assert inspect(["Résume : analyse intermédiaire positive sur le critère principal, pas encore annoncée."]
                   ).is_marked_confidential

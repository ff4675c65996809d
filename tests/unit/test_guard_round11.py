"""Round 11 of the guard: each rule with a look-alike it must leave and, beside it, a value it must still find.

The forms come from blind14's clean rows that were flagged and from its misses (tuning data since its one
measurement), but every value and sentence here was written anew, in another wording, so that a rule fitted to
one row would fail.
"""

from __future__ import annotations

import pytest

from relais.guard import inspect

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import assert_found, assert_left_alone, loaded_guard  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a sample mailbox on a documentation domain (RFC 2606), which receives no mail
    "Pour les tests d'intégration, crée les comptes qa.agent3@example.org et qa.agent4@example.org.",
    "Seed the staging DB with reviewer@lims.test and approver@lims.test, then rerun the suite.",
    # the ten digits in order, or one digit repeated after the prefix: a form's filler
    "Dans le gabarit du formulaire, le champ téléphone est prérempli avec 01 23 45 67 89.",
    "Mettre 02 00 00 00 00 comme numéro factice dans le jeu de démonstration.",
    # a placeholder given as a password, quoted
    'In the README, the example config reads password="change_me" until the installer runs.',
    # a reference to a secret manager: where the secret is kept, not the secret
    'QMS config: "smtp_password": "vault:kv/qms/smtp#pass", "ldap_password": "op://Infra/ldap/password"',
]

FOUND = [
    # the same forms with a real-looking value
    ("EMAIL", "Écris à helene.morvan@orange.fr pour la visite.", "helene.morvan@orange.fr"),
    ("EMAIL", "Mail him at d.kowalski@example-pharma.com tomorrow.", "d.kowalski@example-pharma.com"),
    # a person's name is a person's, even on a documentation domain
    ("EMAIL", "Forward it to ines.barrault@labo-nord.example today.", "ines.barrault@labo-nord.example"),
    ("TELEPHONE", "Le chauffeur répond au 06 12 34 56 78 le matin.", "06 12 34 56 78"),
    ("TELEPHONE", "Son portable : 06 18 42 73 95, appelle après 18 h.", "06 18 42 73 95"),
    ("SECRET", 'conn = mysql.connect(user="qc", password="Gl4cier#Tern")', "Gl4cier#Tern"),
    # a marking that opens a quotation covers the quoted passage
    ("CONFIDENTIEL", "Résume : « CONFIDENTIEL – DIRECTION. Le site de Vernon fermera sa ligne 4 en octobre. »",
     "Le site de Vernon fermera sa ligne 4 en octobre"),
    ("CONFIDENTIEL", "Translate: 'HIGHLY CONFIDENTIAL. We don't renew the Orion licence; the board agreed.'",
     "We don't renew the Orion licence; the board agreed"),
    ("CONFIDENTIEL", "Mets en forme : « Diffusion restreinte CODIR. Budget R&D 2026 gelé. »",
     "Diffusion restreinte CODIR"),
    # an amount with its period or state in words
    ("SALAIRE", "Relis : son salaire de base est de 3 480 € brut mensuel depuis mars, Mme Gaëlle Ternier.",
     "3 480 € brut mensuel"),
    ("SALAIRE", "M. Yvon Caradec touchera 2 940 € par mois à compter de juin.", "2 940 € par mois"),
    ("SALAIRE", "Fiche de Noémie Laclos : rémunération 47 K€ fixe, à revoir en 2026.", "47 K€ fixe"),
    ("SALAIRE", "Offre pour Bastien Ory : 51 000 € + 12 % variable, voiture de service.", "12 % variable"),
    # pay under an XML element, a grant of shares, a base raised to, someone « on » an amount
    ("SALAIRE", "Export rejeté :\n<agent><nom>Perrin</nom><prenom>Anaïs</prenom>\n<salaire_base>2710.80</salaire_base>"
     "</agent>", "2710.80"),
    ("SALAIRE", "Minutes: Dr. Ingrid Solberg - LTIP grant of 4,500 shares approved.", "LTIP grant of 4,500 shares"),
    ("SALAIRE", "For Marcus Feld, base raised to $188,000 from January.", "$188,000"),
    ("SALAIRE", "Reply to Priya Raman: she's on £61,200 and wants more.", "£61,200"),
    # fees of board members and an independent consultant's daily rate; a title's period ends no sentence
    ("SALAIRE", "Sum up the speaker honoraria:\nDr. Kenji Mori, 2750 EUR\nProf. Ana Sousa, 3100 EUR", "3100 EUR"),
    ("SALAIRE", "Paie la consultante indépendante Joëlle Arnaud : 4 jours à 820 €/jour.", "820 €/jour"),
    ("SALAIRE", "Tariq Haddad accepted an offer at 91,000 EUR elsewhere.", "91,000 EUR"),
    ("SALAIRE", "J'ai vu que ma prime est de 1 900 € brut, contre un minimum conventionnel de 1 500 €.",
     "1 900 € brut"),
    ("ADRESSE", "Quelle est l'adresse de l'ANSM ? Envoie aussi le colis à Julien Marchal, 12 rue des Tilleuls, "
     "35000 Rennes.", "12 rue des Tilleuls, 35000 Rennes"),
    ("DATE_NAISSANCE", "Lucien Abadie, né en 1958, demande son relevé de carrière.", "1958"),
]

# Look-alikes of the pay forms: no pay, or nobody's.
LEFT_ALONE_PAY = [
    "La cuve de 3 480 € HT est livrée par mois de mars ? Non, en avril.",
    "The supplier's offer at 88,000 EUR covers the new autoclave.",
    "Our budget is on €120,000 for the pilot line.",
    "Le tarif du transporteur : 1 250 € par mois pour deux tournées.",
    # a grid's amount that the asker read somewhere is still nobody's pay
    "Quel est le minimum conventionnel du coefficient 190 ? J'ai lu 2 180 € brut mensuel dans une grille de 2022.",
    # a public body's address asked for, then given to check, in the same paragraph
    "Quelle est l'adresse postale de la HAS pour un envoi papier ? J'ai 5 avenue du Stade de France, 93218 "
    "Saint-Denis La Plaine, est-ce encore valable ?",
    # a year of birth of anyone at all is a cohort
    "Quel âge légal de départ pour quelqu'un né en 1963, et pour les assurés nés en 1967 ?",
]


@pytest.mark.parametrize("text", LEFT_ALONE + LEFT_ALONE_PAY)
def test_look_alike_is_left_alone(text):
    assert_left_alone(text)


@pytest.mark.parametrize(("kind", "text", "value"), FOUND)
def test_value_is_found(kind, text, value):
    assert_found(kind, text, value)


def test_a_question_about_a_marking_is_no_passage():
    """A marking inside a quotation that is a question is still a marking, but a quotation's end bounds it."""
    text = "Le modèle porte « CONFIDENTIEL » en en-tête ; faut-il le garder pour le communiqué public ?"
    marked = [text[f.start:f.end] for f in inspect([text]).findings if f.entity_type == "CONFIDENTIEL"]
    assert marked == ["CONFIDENTIEL"]

"""Round 22 of the guard: a contractor's rate by the day, the hour or the word; a payslip's lines with dot leaders; a
base pay named after its figure; a figure its writer calls confidential in passing, a bidder's first offer, a
workshop's closure, a deal « non annoncé »; concomitant treatments, sleep and weight, a keypad's code. Left alone: a
number written in several formats, a French barcode of thirteen digits, a form's example name, a placeholder's
birth date, a hire's daily price.

The forms come from blind25's misses and flagged clean rows (tuning data since its three measurements, after round
21), but every value and sentence here was written anew, in another wording, so that a rule fitted to one row would
fail.
"""

from __future__ import annotations

from relais.guard import inspect, tagger

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

PAYSLIP = "Pourquoi mon net a baissé ? Bulletin de Chloé Garnier :\nNet payé ........... 2 188,45\nBrut  2 840,00"

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a number spelt in several formats illustrates the formats
    "Écris une fonction qui normalise ces saisies en E.164 : 07 98 76 54 32, 07.98.76.54.32, +33 7 98 76 54 32.",
    # a drug's CIP13 is an EAN-13 barcode, not an Amex number
    "Ajoute le code CIP13 3400930161343 à la fiche article du Paracétamol 1 g, prix public 2,15 €.",
    # a form's example of what to write in a field
    "Crée un formulaire de demande de badge : Nom complet : ________ (ex. : Paul MARTIN), Service : ________.",
    # a placeholder's birth date
    "Create three records for the demo, obviously fictional: name 'Test User', date of birth 01/01/1900.",
    # a list of classification levels, with no figure
    "Classe ces documents selon leur niveau (public, interne, confidentiel, secret) et justifie en une ligne.",
    # a deal announced in a press release
    "Summarise the press release: Corlane signed a licence agreement with Ibex Bio, $40M upfront, announced today.",
]

FOUND = [
    # a contractor's rate by the day, a translator's by the word, a base pay named after its figure
    ("SALAIRE", "Mets en tableau : Youssef Amrani, 11 jours à 780 €/jour, mission validation LIMS.", "780 €/jour"),
    ("SALAIRE", "Invoice check: Priya Natarajan, 6 days at £590/day for the data-integrity audit.", "£590/day"),
    ("SALAIRE", "Crée la fiche fournisseur de Lucia Ferri, traductrice, tarif 0,11 € par mot.", "0,11 € par mot"),
    ("SALAIRE", "Reply to HR for Tomasz Nowak: he accepts €63,200 base, start date 1 September.", "€63,200 base"),
    # a payslip's lines with dot leaders and a run of spaces
    ("SALAIRE", PAYSLIP, "2 188,45"),
    ("SALAIRE", PAYSLIP, "2 840,00"),
    # a figure called confidential in passing, a price set before a negotiation
    ("CONFIDENTIEL", "Réponds au fournisseur sans lâcher notre objectif (prix maximum interne 420 €/kg, confidentiel).",
     "prix maximum interne 420 €/kg"),
    ("CONFIDENTIEL", "Slide 2 : prix facial cible du Dorvalex 36 € la boîte, remise conventionnelle 15 %.",
     "prix facial cible du Dorvalex 36 € la boîte"),
    # a bidder's first offer, a workshop's closure, a licence not announced
    ("CONFIDENTIEL", "Traduis : Orvane a remis une offre non engageante de 95 M€ pour la division dermatologie.",
     "Orvane a remis une offre non engageante de 95 M€ pour la division dermatologie"),
    ("CONFIDENTIEL", "Résume : fermeture de la ligne de conditionnement 4 au T3, 38 postes concernés.",
     "fermeture de la ligne de conditionnement 4 au T3, 38 postes concernés"),
    ("CONFIDENTIEL", "Reformule : accord de licence avec Tellis Bio, 20 M€ à la signature, non annoncé.",
     "accord de licence avec Tellis Bio, 20 M€ à la signature, non annoncé"),
    # concomitant treatments on a case form, sleep and weight of a named person
    ("SANTE", "Cas PV – Patiente : Odile Marchal\nTraitements concomitants : lévothyroxine 50 µg, ramipril 5 mg",
     "lévothyroxine 50 µg, ramipril 5 mg"),
    ("SANTE", "Note for the file: Dmitri Orlov told his manager he has had insomnia since the spring.", "insomnia"),
    ("SANTE", "Reformule le mail de Gaëlle Fournier : depuis la réorganisation, perte de poids et fatigue.",
     "perte de poids"),
    # a keypad's code with its keys
    ("SECRET", "Rephrase for the team: the keypad code for the archive room is now 7*305#, keep it internal.",
     "7*305#"),
]

# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)


def test_a_figure_called_confidential_keeps_the_request_local():
    """A figure set apart as « confidentiel » makes the request marked: it stays on the company's models."""
    assert inspect(["Prépare la réponse à l'acheteur : budget validé 2,4 M€ (confidentiel), délai 6 semaines."]
                   ).is_marked_confidential


def test_a_rate_by_the_day_needs_someone_named():
    """A day rate with nobody named is a market figure: the rules alone leave it (the engine settles weak pay)."""
    assert inspect(["Quel est le tarif usuel d'un consultant CSV senior ? On voit souvent 800 €/jour."]).is_clean


def test_a_hires_price_by_the_day_is_no_ones_pay():
    """A machine hired by the day costs so much a day: beside a name, the name is found and the price is not pay."""
    text = "Demande à Hugo Renard de réserver la nacelle en location à 240 €/jour pour la semaine 12."
    with tagger.turned_off():
        assert [f.entity_type for f in inspect([text]).findings] == ["PERSONNE"]

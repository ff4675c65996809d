"""Round 23 of the guard: a card's expiry date after its number; pay in millions, under a « gross_ » key, in an offer
accepted, free performance shares; a recall kept silent or a regulator « not notified yet », a plant's closure with
its roles, talks in exclusivity, a deal for a share of a company; a child's infection, a birth's complications, a
seizure. Left alone: a note that explains the classification labels, a test card's expiry.

The forms come from blind26's misses and flagged clean rows (tuning data since its two measurements, after round
22), but every value and sentence here was written anew, in another wording, so that a rule fitted to one row would
fail.
"""

from __future__ import annotations

from relais.guard import inspect

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

CARD = "Paie l'hôtel avec la carte de Noémie Vautrin : 4556 7375 8689 9855 / 10-28, merci."

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a note that explains the labels names them without marking anything
    "Write a short guide explaining our classification levels and how to apply the « STRICTLY CONFIDENTIAL » header.",
    # a test card's number is public, and so is its expiry
    "Pour la recette du paiement, utilise la carte de test 4111 1111 1111 1111, exp 12/30, CVC au choix.",
    # a contract's model clauses: an exclusivity with its penalty, a licence with its fee
    "Rédige une clause d'exclusivité de 3 ans avec une pénalité de 50 000 € en cas de manquement.",
    "Draft a licence agreement clause with a royalty of 5% and an upfront payment of €1M on signature.",
    # a closure announced in a press release
    "Summarise the press release: the closure of the Leeds packaging plant, 80 roles, was announced today.",
]

FOUND = [
    # a card's expiry date after its number, with or without its label
    ("CARTE_BANCAIRE", CARD, "10-28"),
    ("CARTE_BANCAIRE", "Card on file for Ms Ilse Brandt: 5425 2334 3010 9903, expiry 07/29.", "07/29"),
    # pay in millions, under a « gross_ » key, in an offer accepted, free performance shares
    ("SALAIRE", "Board note: Lorenzo Bianchi's salary rises to €1.3m as of the next fiscal year.", "€1.3m"),
    ("SALAIRE", 'Fix this JSON: {"name": "Aoife Byrne", "gross_annual": "61,250.00"}', "61,250.00"),
    ("SALAIRE", "Write a reply from Kofi Mensah: I accept the offer of £47,500 and can start on 2 June.", "£47,500"),
    ("SALAIRE", "Lettre pour Benoît Carrel : attribution de 2 200 actions gratuites de performance au titre de 2025.",
     "2 200 actions gratuites de performance"),
    # a recall kept silent, a regulator not told yet, a plant's closure with its roles, talks in exclusivity
    ("CONFIDENTIEL", "Translate: we plan a silent recall of lots 25B11 to 25B14 next week.",
     "we plan a silent recall of lots 25B11 to 25B14 next week"),
    ("CONFIDENTIEL", "Reformulate: the MHRA has not been notified yet about the sterility failure on lot 77.",
     "the MHRA has not been notified yet about the sterility failure on lot 77"),
    ("CONFIDENTIEL", "Tidy this up: closure of our Tralee tablet plant by June, 95 roles affected.",
     "closure of our Tralee tablet plant by June, 95 roles affected"),
    ("CONFIDENTIEL", "Polish: we are in exclusivity with Arvola Labs, upfront of $120M agreed in principle.",
     "we are in exclusivity with Arvola Labs, upfront of $120M agreed in principle"),
    ("CONFIDENTIEL", "Résume : offre ferme pour l'acquisition de 60 % de Brenvia SAS pour 42 M€.",
     "offre ferme pour l'acquisition de 60 % de Brenvia SAS pour 42 M€"),
    # a child's infection, a birth's complications, a seizure
    ("SANTE", "Préviens l'équipe que Sarah Mounier est absente : son fils a une bronchiolite.", "bronchiolite"),
    ("SANTE", "Note RH : le bébé de Mme Leïla Haddad est né avec une fente labiale, congé prolongé.", "fente labiale"),
    ("SANTE", "Incident report: operator Mateo Ruiz had a convulsion on the packaging line at 10:40.", "convulsion"),
]

# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)


def test_a_card_and_its_expiry_are_one_card():
    """The expiry date is reported as card data, beside the card's number, never as a date of birth."""
    kinds = [(f.entity_type, CARD[f.start:f.end]) for f in inspect([CARD]).findings]
    assert ("CARTE_BANCAIRE", "4556 7375 8689 9855") in kinds and ("CARTE_BANCAIRE", "10-28") in kinds

"""Round 13 of the guard: each rule with a value it must find and, beside it, a look-alike it must leave.

The forms come from blind16's misses and flagged clean rows (tuning data since its one measurement), but every
value and sentence here was written anew, in another wording, so that a rule fitted to one row would fail.
"""

from __future__ import annotations

import pytest

from relais.guard import engine, inspect, tagger

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import assert_found, assert_left_alone, covered, loaded_guard  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a test card's security code is published with it
    "Le paiement échoue en mode test avec la carte de test 5555 5555 5555 4444, cryptogramme 737 : une idée ?",
    # a range of thousands that is no one's pay, an amount in words that pays no one
    "The reactor volume goes from 12 to 15 litres after the upgrade; update the batch record template.",
    "Explique pourquoi trois mille euros d'amende est le plafond prévu par ce règlement intérieur type.",
    # a product and its dose in a question about the product, with nobody named
    "Quelle est la demi-vie du Cardiorex 10 mg et faut-il l'adapter chez l'insuffisant rénal ?",
    # a list of dates that are no birthdays, an INSERT without a birth column
    "Planning des audits :\nAudit fournisseur – 12/03\nAudit interne – 4 avril",
    "Fix this query: INSERT INTO batches (lot, expiry) VALUES ('L2291', '2027-03-31');",
    # a public office or a public statement names a public figure
    "Résume l'intervention de Claire Mandel, alors ministre de l'Industrie, sur les pénuries de médicaments.",
    "Summarise Daniel Okafor's public remarks, as Novartis CEO, on drug pricing in Europe.",
    # a locker room and a colour code are no door code
    "Les vestiaires du bâtiment B ferment à 20 h ; le code couleur des blouses reste bleu pour l'équipe A.",
]

FOUND = [
    # the figures of a pay statement (its noun stays in clear: see test_the_pay_noun_stays_in_clear)
    ("SALAIRE", "Pour le dossier de Léa Morin : salaire mensuel net 2 140 €, à reporter sur l'attestation.",
     "2 140 €"),
    ("SALAIRE", "Contrat de M. Hugo Bertin : une prime d'installation de 3 000 € sera versée en mai.",
     "3 000 €"),
    ("SALAIRE", "Heads-up: Dylan's pay is moving from £47k to £52k in April.", "£52k"),
    ("SALAIRE", "Offer for Priya Shah: $120,000 base plus 15% bonus, start in June.", "$120,000"),
    ("SALAIRE", "Note RH : le salaire proposé à Julie Caron sera de 52 000 € max, pas plus.", "52 000 €"),
    ("SALAIRE", "Memo: Owen Reid received a 4% merit increase (from $80,000 to $83,200).",
     "$83,200"),
    # someone's rise, a bonus target, pay in words, months of pay, pay in thousands without a currency
    ("SALAIRE", "Salut Inès, ton augmentation sera de 3,5 % dès juillet.", "3,5 %"),
    ("SALAIRE", "Tell Ben that Carla Diaz has her bonus target moved to 12% this year.", "12%"),
    ("SALAIRE", "Proofread: 'Ms. Alice Grant will be paid a salary of thirty-four thousand pounds.'",
     "thirty-four thousand pounds"),
    ("SALAIRE", "La transaction avec Paul Nadal prévoit 9 mois de salaire d'indemnité.",
     "9 mois de salaire d'indemnité"),
    ("SALAIRE", "Entretien de départ de Yanis Roux : il passe de 41 k à 46 k chez le concurrent.",
     "il passe de 41 k à 46 k"),
    # the other figures of a pay sentence, a payslip's keys, a Base column beside pay, a grant of shares
    ("SALAIRE", "Mon bulletin de paie affiche 2 310,40 € net alors que le mois dernier c'était 2 455, Sarah Petit.",
     "2 455"),
    ("SALAIRE", 'Payslip for Noah Clarke: {"gross": 3900.00, "net": 3050.25}', "3050.25"),
    ("SALAIRE", "| Nom | Base | Prime |\n|---|---|---|\n| C. Durand | 48 000 | 2 400 |", "48 000"),
    ("SALAIRE", "Plan d'attribution gratuite d'actions : Marc Olivier : 2 500 actions ; Ana Reis : 1 200 actions.",
     "1 200 actions"),
    ("SALAIRE", "Board note: CEO Laura Finch base to €280,000, LTI grant of 15,000 PSUs.", "15,000 PSUs"),
    # birth dates in words, in a list of birthdays, in an SQL insert's birth column
    ("DATE_NAISSANCE", "Attestation : M. Louis Caron, né le douze mars mil neuf cent soixante-dix-huit à Lille.",
     "douze mars mil neuf cent soixante-dix-huit"),
    ("DATE_NAISSANCE", "Fix the tense: 'Ms Joy Adams was born on the third of May nineteen ninety-one.'",
     "the third of May nineteen ninety-one"),
    ("DATE_NAISSANCE", "Liste des anniversaires du service :\nHélène – 23/06\nThomas Rey – 2 octobre", "2 octobre"),
    ("DATE_NAISSANCE", "INSERT INTO people (full_name, birth_date) VALUES ('Rita Moss', '1979-08-21');",
     "1979-08-21"),
    # a colleague beside a public office is still a colleague
    ("PERSONNE", "Claire Mandel, notre acheteuse, a rencontré le ministre hier.", "Claire Mandel"),
    # phones in their national grouping
    ("TELEPHONE", "| Name | Mobile |\n|---|---|\n| Ryan Cole | 07911 283 640 |", "07911 283 640"),
    ("TELEPHONE", "Call back the reporter Grace Hill at (312) 555-0187 tomorrow.", "(312) 555-0187"),
    # door codes after the door, one-time codes typed 3+3, a card's code with its label, « c'est toujours »
    ("SECRET", "Consignes : casiers bleus code 4827K, à changer chaque trimestre.", "4827K"),
    ("SECRET", "Pour Lina, code OTP de secours : 718 204, merci de le noter.", "718 204"),
    ("SECRET", "Réserve l'hôtel sur la carte 4970 1012 3456 7890, exp. 11/28, cryptogramme 452.", "cryptogramme 452"),
    ("SECRET", "[08:02] Hugo: pour la porte du labo le code c'est toujours 6093* ?", "6093*"),
    ("SECRET", "My backup codes are 7hq2-k9d1, 3mx8-p0v5 and I lost my phone.", "3mx8-p0v5"),
    # a health field's value (its label stays), a product taken at a dose, a contraindication, fitness for work
    ("SANTE", "Fiche de Mme Rose Vidal. Diagnostic : sclérose en plaques, forme rémittente.",
     "sclérose en plaques, forme rémittente"),
    ("SANTE", "Note pour Mme Claire Noël : prend du Lévothyrox 75 µg depuis 2019 pour une hypothyroïdie.",
     "prend du Lévothyrox 75 µg depuis 2019 pour une hypothyroïdie"),
    ("SANTE", "Certificat pour M. Jules Marty : contre-indication au port de charges lourdes pendant un mois.",
     "contre-indication au port de charges lourdes pendant un mois"),
    ("SANTE", "OH summary for Kate Lowe: fit for work with no driving for six weeks.",
     "fit for work with no driving for six weeks"),
]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_look_alike_is_left_alone(text):
    assert_left_alone(text)


@pytest.mark.parametrize(("kind", "text", "value"), FOUND)
def test_value_is_found(kind, text, value):
    assert_found(kind, text, value)


def test_the_pay_noun_stays_in_clear():
    """Only the amount is masked: « prime de fin d'année de <SALAIRE> » keeps what the model needs to answer, and
    an amount that is no pay (a supplier's quote) is not masked at all."""
    text = "Pour Zoé Lambert : prime de fin d'année de 1 500 €. Le devis du fournisseur est de 1 800 €."
    spans = [text[f.start:f.end] for f in inspect([text]).findings if f.entity_type == "SALAIRE"]
    assert covered(text, "1 500 €", "SALAIRE"), spans
    assert not any("prime" in span or "devis" in span for span in spans), spans
    # The rules leave the quote alone. The tagger (round 14) masks it too, in this request the rules already keep
    # from leaving as it is: more masked than needed, which benchmarks/guard_sets.py counts (its « extra » column).
    engine.clear_caches()
    with tagger.turned_off():
        rules = [text[f.start:f.end] for f in inspect([text]).findings if f.entity_type == "SALAIRE"]
    engine.clear_caches()
    assert not any("1 800" in span for span in rules), rules

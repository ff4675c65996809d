"""Round 16 of the guard: a prescription line and a laboratory value are health data of the person a request names.

The forms come from blind19's misses (tuning data since its one measurement, after round 15), but every value and
sentence here was written anew, in another wording, so that a rule fitted to one row would fail.
"""

from __future__ import annotations

from relais.guard import tagger

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a leaflet's posology and a product's strength name no one
    "Relis la notice : Cardiorex 5 mg, 1 comprimé le matin, à avaler avec un verre d'eau.",
    "Draft the SmPC section: Tensilor 10 mg once a day, or twice a day in severe cases.",
    # a batch's assay and a method's range are no patient's results
    "Le lot 24-311 : dosage 99,1 %, impureté B 0,08 %, glucose 5 % en solution injectable conforme.",
    "Validate the HPLC range for potassium 2 to 8 mmol/L in the buffer before the method transfer.",
]

FOUND = [
    ("SANTE", "Merci de recopier l'ordonnance de M. Hugo Lenoir : Kardegic 75 mg, 1 sachet par jour au déjeuner.",
     "Kardegic 75 mg, 1 sachet par jour au déjeuner"),
    ("SANTE", "Discharge letter for Ms Alice Brennan: apixaban 5 mg bd and bisoprolol 2.5 mg od.",
     "apixaban 5 mg bd"),
    ("SANTE", "Point sur M. Didier Caron aux urgences : troponine T 0,9 ng/mL à H3, lipase 980 U/L.",
     "troponine T 0,9 ng/mL"),
    ("SANTE", "Point sur M. Didier Caron aux urgences : troponine T 0,9 ng/mL à H3, lipase 980 U/L.", "lipase 980 U/L"),
    ("SANTE", "Pour le dossier de Mme Inès Haddad : HbA1c 8,2 % en octobre, DFG 48 mL/min.", "DFG 48 mL/min"),
]


# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)


def test_a_street_number_before_a_boulevard_is_no_dose():
    """« bd » is twice a day after a dose, a boulevard after a street number: a bare number is no dose."""
    from relais.guard import inspect

    text = "Envoie le courrier à mon domicile, 112 bd de la Liberté 59800 Lille, pour l'attestation de M. Paul Vidal."
    with tagger.turned_off():
        assert not [f for f in inspect([text]).findings if f.entity_type == "SANTE"]

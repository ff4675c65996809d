"""Round 17 of the guard: two key formats, and five clean forms that were flagged (a company's seat or front desk, a
salary grid's roman grades, job titles, a contract's « Confidential Information »).

The forms come from blind20's misses and flagged clean rows (tuning data since its one measurement, after round 16),
but every value and sentence here was written anew, in another wording, so that a rule fitted to one row would fail.
"""

from __future__ import annotations

from relais.guard import tagger

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a company's seat and a registered company's address are public
    "Notre siège est au 8 rue des Tanneurs, 67000 Strasbourg : ajoute-le au pied de page des courriers.",
    "Use this letterhead: Norvel Pharma Ltd, 14 Harbour Road, Cork T12 X8Y2, Ireland.",
    # ... and the person its street is named after is no one's name in the request
    "Relance le sous-traitant Analytix SARL, 3 place Victor Hugo, 38000 Grenoble, pour ses certificats d'étalonnage.",
    # a front desk's line in a directory is nobody's
    "Annuaire à afficher dans le hall :\nAccueil : 03 88 12 40 00\nSécurité : poste 2210",
    # a salary grid's grades (« Technician I ») are no pronoun, and its job titles are no names
    "Format the 2025 salary bands of the lab: Technician I €29,000–€34,000; Technician II €33,500–€39,000.",
    # a contract's defined term is no marking of this request
    "Rédige la clause : the Receiving Party shall keep Confidential Information in strict confidence for 7 years.",
]

FOUND = [
    ("SECRET", "Why does login fail? VAULT_TOKEN=hvs.Qm9vWx2LpT7rKd4NcZ8yHs1FbJ6aEuGi3 vault kv get app",
     "hvs.Qm9vWx2LpT7rKd4NcZ8yHs1FbJ6aEuGi3"),
    ("SECRET", "Clé BitLocker de mon portable : 203104-591657-004411-338492-127776-640739-082357-519948",
     "203104-591657-004411-338492-127776-640739-082357-519948"),
    # the rules' exemptions stop where a person's own data begins
    ("TELEPHONE", "Annuaire du hall :\nAccueil : 03 88 12 40 00\nMme Clara Weber : 06 71 22 48 93", "06 71 22 48 93"),
    ("SALAIRE", "I earn €41,500 and my band tops out at €44,000: is that fair?", "€41,500"),
    ("ADRESSE", "Mon domicile est au 8 rue des Tanneurs, 67000 Strasbourg, pour l'attestation de M. Yves Roth.",
     "8 rue des Tanneurs"),
]


# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)


def test_keeping_this_confidential_is_still_a_marking():
    """Only the defined term is exempt: « keep this confidential » still marks the request."""
    from relais.guard import inspect

    with tagger.turned_off():
        assert inspect(["Please keep this confidential until the board meets."]).is_marked_confidential

"""Round 12 of the guard: each rule with a look-alike it must leave and, beside it, a value it must still find.

The forms come from blind15's clean rows that were flagged and from its misses (tuning data since its one
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
    # a public figure's public acts: a publication, a press conference, who someone is asked
    "Le Pr Jacques Mercier a publié en 2019 sur la vitamine D ; fais la liste des critiques méthodologiques.",
    "Summarise the paper by Marie Lenoir and Paolo Greco published in Nature in 2017 on prion folding.",
    "Le président de Roche, Karl Baumann, a détaillé les ventes en conférence de presse ce matin.",
    "Who is Hiroshi Sato and what was the role of Takeda in the insulin analogue market?",
    # an IBAN given as an example in a standard or a test suite
    "Le guide du format cite comme exemple l'IBAN DE89 3704 0044 0532 0130 00 pour expliquer la clé.",
    "Run my validator on the sample values GB33 BUKB 2020 1555 5555 55 before the release.",
    # placeholders: in a code span, numbered example words, a template's bracketed field
    "The install guide shows `token=your-token-goes-here` and `pwd=sample42`; should we warn users?",
    "Write the letter: 'Dear [Candidate Name], we are pleased to confirm your start date of [Date].'",
    "Dans le publipostage, la ligne d'appel est « Bonjour {{Prénom Nom}}, » puis le corps du texte.",
    # pay the law sets, and an amount made up to explain a rule
    "What is the statutory maternity pay weekly rate of £184.03 based on, and how long is it paid?",
    "Montre le calcul de l'indemnité de rupture pour un salaire fictif de 2 700 € brut et 8 ans d'ancienneté.",
    # a rule for every operator is no one's restriction
    "La procédure dit que les opérateurs ne doivent pas porter plus de 25 kg sans aide mécanique.",
]

FOUND = [
    # the same forms for someone of the company
    ("PERSONNE", "Notre collègue Julien Martin a publié la nouvelle SOP hier, relis-la.", "Julien Martin"),
    ("IBAN", "Exemple : virement de la prime sur mon IBAN DE89 3704 0044 0532 0130 00.",
     "DE89 3704 0044 0532 0130 00"),
    ("SECRET", "Le fichier contient `password: Vr4!ssemblable` en clair, c'est grave ?", "Vr4!ssemblable"),
    ("SALAIRE", "Mme Odile Vasseur touche 3 000 € brut par mois depuis mars.", "3 000 € brut"),
    # a form's health field inside a paragraph
    ("SANTE", "Résume le cas : Mme Faure, 71 ans, hospitalisée hier. Antécédents : flutter atrial, goutte. Suivi "
     "par le Dr Lenoir.", "flutter atrial, goutte"),
    ("SANTE", "Return-to-work note for Ivan Petrov, welder. OH restrictions: no overhead work, no ladders until May.",
     "no overhead work, no ladders until May"),
    # an injury by its verb and the part of the body
    ("SANTE", "hey team, Tariq burned his left hand on the autoclave door this morning",
     "burned his left hand on the autoclave door"),
    ("SANTE", "Rapport de poste : Kévin s'est foulé la cheville en descendant du quai.", "s'est foulé la cheville"),
    # a restriction on what someone may carry or wear, with its limit
    ("SANTE", "Camille Roche ne doit pas porter plus de 8 kg jusqu'en juin.", "ne doit pas porter plus de 8 kg"),
    ("SANTE", "Plan for Dana Whitley: no lifting over 15 kg on the packing line.", "no lifting over 15 kg"),
    # how far a pregnancy is and when it is due
    ("SANTE", "Nina Laurent told me she's pregnant, due in March, please keep it quiet.", "pregnant, due in March"),
    ("SANTE", "Planning : Mme Lucie Arnaud en grossesse, 6e mois, pas de poste debout.", "grossesse, 6e mois"),
    # a table of absences: its reason column tells a condition, its name cells carry an initial
    ("SANTE", "| Nom | Equipe | Jours d'absence | Motif |\n| Perrin L. | QC | 4 | migraine |\n"
     "| Rossi M. | Prod | 10 | entorse du genou |", "entorse du genou"),
    ("PERSONNE", "| Nom | Equipe | Jours d'absence | Motif |\n| Perrin L. | QC | 4 | migraine |\n"
     "| Rossi M. | Prod | 10 | entorse du genou |", "Perrin L."),
]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_look_alike_is_left_alone(text):
    assert_left_alone(text)


@pytest.mark.parametrize(("kind", "text", "value"), FOUND)
def test_value_is_found(kind, text, value):
    assert_found(kind, text, value)


def test_a_public_figure_sentence_keeps_someone_else_health():
    """A public figure's sentence drops first names only: a colleague's health said with « il » is still health."""
    text = "Who is Albert Weiss and why is he hospitalised with pneumonia since Monday?"
    kinds = {f.entity_type for f in inspect([text]).findings}
    assert "SANTE" in kinds

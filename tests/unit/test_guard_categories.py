"""Each category the guard learnt in 2025: a value it must find, and a look-alike it must leave alone.

A value is found when findings cover every letter and digit of it (redaction then leaves nothing
of it); a look-alike passes when nothing at all is found in its text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relais.guard import LABELS, inspect, redact
from relais.guard.engine import get_analyzer

DATASETS = Path(__file__).resolve().parents[2] / "evaluation" / "datasets"
GITHUB = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"  # GitHub's format: only a detect-secrets detector knows it
JWT = ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJxYS1ib3QifQ."
       "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5")


@pytest.fixture(scope="module", autouse=True)
def loaded_guard():
    return get_analyzer()


def covered(text: str, value: str, kind: str | None = None) -> bool:
    """Whether findings (of `kind`, else any but a marking) cover every letter and digit of `value` in `text`."""
    start = text.index(value)
    findings = inspect([text]).findings
    wanted = [f for f in findings if f.entity_type == kind or (kind is None and f.entity_type != "CONFIDENTIEL")]
    spans = [(f.start, f.end) for f in wanted]
    return all(any(s <= i < e for s, e in spans) for i in range(start, start + len(value)) if text[i].isalnum())


def found(text: str) -> list[tuple[str, str]]:
    return [(f.entity_type, text[f.start:f.end]) for f in inspect([text]).findings]


PLANTED = [
    # secrets: detect-secrets' formats, and a keyword then a value in a sentence
    ("SECRET", "Le mot de passe du compte de service est Hiver-2026#lab, note-le dans le ticket.", "Hiver-2026#lab"),
    ("SECRET", "mdp : Kx7!parapluie pour le PC de la pesée", "Kx7!parapluie"),
    ("SECRET", "connexion = mysql://etl:S3cr3tEtl@10.0.0.5/erp ne marche plus", "S3cr3tEtl"),
    ("SECRET", f"export GITHUB_TOKEN={GITHUB} puis relance", GITHUB),
    ("SECRET", "Our AWS key AKIAZ3MPLE7EXAMPLE12 leaked in the notebook.", "AKIAZ3MPLE7EXAMPLE12"),
    ("SECRET", "Le code PIN du coffre des stupéfiants est 7305.", "7305"),
    ("SECRET", f"curl -H 'Authorization: Bearer {JWT}' https://lims/api", JWT),
    ("SECRET", "DSN postgresql://qc:Fr!te$42@db/lims", "Fr!te$42"),
    ("SECRET", "The admin password is Seagull&Rope41 for the historian server.", "Seagull&Rope41"),
    # health data about someone
    ("SANTE", "Mon collègue Arnaud est en arrêt de travail pour une lombalgie depuis lundi.",
     "arrêt de travail pour une lombalgie"),
    ("SANTE", "Je suis asthmatique, puis-je porter le masque FFP3 toute la journée ?", "asthmatique"),
    ("SANTE", "La technicienne a repris en temps partiel thérapeutique après sa dialyse.",
     "temps partiel thérapeutique"),
    ("SANTE", "My colleague is pregnant; can she keep handling cytotoxic waste?", "pregnant"),
    # postal addresses
    ("ADRESSE", "Mon adresse a changé : 7 place du Marché, 45000 Orléans.", "7 place du Marché"),
    ("ADRESSE", "Mon adresse a changé : 7 place du Marché, 45000 Orléans.", "45000 Orléans"),
    ("ADRESSE", "Livrer le matériel au 18 ter boulevard Gambetta, 06000 Nice", "18 ter boulevard Gambetta"),
    # salaries
    ("SALAIRE", "Son salaire passera à 2 780 € brut au 1er mars.", "2 780 €"),
    ("SALAIRE", "Bonus 2025 : la prime exceptionnelle sera de 1 200 euros.", "1 200 euros"),
    ("SALAIRE", "Her gross salary is EUR 54,000 a year.", "EUR 54,000"),
    # names written the hard way
    ("PERSONNE", "Convoque ROUSSEL Josiane à la formation sur l'habillage.", "ROUSSEL Josiane"),
    ("PERSONNE", "| Nom | Poste |\n|---|---|\n| Vallet | Magasinier |\nVérifie les habilitations.", "Vallet"),
    ("PERSONNE", "MARTY;Josiane;Cariste\nFais la liste des caristes.", "MARTY"),
    ("PERSONNE", "bonjour mme guillot, votre badge est prêt", "guillot"),
    ("PERSONNE", "Rédacteur : Gérard POULAIN", "Gérard POULAIN"),
    # identifiers typed the hard way
    ("IBAN", "iban fr76 3000 6000 0112 3456 7890 189 pour le remboursement", "fr76 3000 6000 0112 3456 7890 189"),
    ("IBAN", "RIB : FR76 3000 6000 0112\n3456 7890 189", "FR76 3000 6000 0112\n3456 7890 189"),
    ("NIR", "numéro de sécurité sociale 1 85 05 78\n006 084 91", "1 85 05 78\n006 084 91"),
    ("NIR", "NIR 1 85 05 78  006 084  91", "1 85 05 78  006 084  91"),
    ("CARTE_BANCAIRE", "carte 4970 1012\n3456 7893", "4970 1012\n3456 7893"),
    ("TELEPHONE", "tél 01 42 68\n53 00", "01 42 68\n53 00"),
]

LOOK_ALIKES = [
    # secrets that are not: variables, placeholders, policies, hashes
    "password = os.getenv('DB_PASSWORD')",
    "Le mot de passe doit comporter 12 caractères et être changé tous les 90 jours.",
    "Remplace <mot_de_passe> par la valeur du coffre-fort avant de lancer le script.",
    "token: ${{ secrets.DEPLOY_TOKEN }}",
    "La somme SHA-256 du fichier est e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.",
    # health terms in product and policy texts
    "Rédige la notice : ce médicament est indiqué chez l'adulte dans le traitement de l'asthme.",
    "Quelle est la procédure en cas d'arrêt de travail d'un salarié ?",
    "Les patients épileptiques étaient exclus de l'essai de phase II.",
    # addresses of public bodies, and numbers that look like postal codes
    "Écris à l'ANSM, 143-147 boulevard Anatole France, 93285 Saint-Denis Cedex.",
    "Le seuil est de 10000 UFC par plaque en zone D.",
    # amounts that are not pay
    "Le devis de requalification s'élève à 48 000 € HT.",
    "Le prix net du flacon est de 3,20 € par unité.",
    # capitalised words and tables without people
    "| Étape | Durée | Responsable |\n|---|---|---|\n| Pesée | 30 min | QA |\nVérifie le tableau.",
    "Le lot 24F0091 a été conditionné sur la ligne Uhlmann B1440 le 12/02/2025.",
    "Identifiant d'équipement : CHR-HPLC-07 ; version du logiciel 3.2.1.",
    # identifiers with a wrong check digit
    "Référence fr76 3000 6000 0112 3456 7890 188 à vérifier.",
]


@pytest.mark.parametrize(("kind", "text", "value"), PLANTED, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(PLANTED)])
def test_planted_value_is_found_with_its_type(kind, text, value):
    assert covered(text, value, kind), found(text)
    assert value not in redact(text, inspect([text]))


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alike_is_left_alone(text):
    assert found(text) == []


def test_new_types_have_french_labels_and_a_summary():
    for kind in ("SECRET", "SANTE", "ADRESSE", "SALAIRE"):
        assert kind in LABELS and LABELS[kind] != kind
    report = inspect(["Ma collègue est en arrêt maladie pour burn-out, mdp Lune!2024"])
    assert "donnée de santé" in report.summary() and "mot de passe" in report.summary()


def test_redaction_keeps_the_sentence_around_the_values():
    text = "Salaire brut annuel de 41 000 € pour LEBLANC Yvette, 12 rue Nationale, 59000 Lille."
    # the street and the town are one address: one mask
    assert redact(text, inspect([text])) == "Salaire brut annuel de <SALAIRE> pour <PERSONNE>, <ADRESSE>."


def test_a_lone_first_name_needs_evidence():
    assert covered("Peux-tu appeler Arnaud demain matin ?", "Arnaud", "PERSONNE")
    assert found("Le site de Saint-Denis La Plaine sera inspecté en mars.") == []


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATASETS / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("half", ["guard_planted_tuning.jsonl", "guard_planted_test.jsonl"])
def test_labelled_halves_meet_the_targets(half):
    # The targets of issue 11: at least 99 % of planted values caught, at most 2 % of clean requests flagged.
    rows = _rows(half)
    values = [(row["text"], item) for row in rows for item in row["planted"]]
    missed = [item["value"] for text, item in values
              if not covered(text, item["value"], "CONFIDENTIEL" if item["category"] == "CONFIDENTIEL" else None)]
    flagged = [row["id"] for row in rows if not row["planted"] and found(row["text"])]
    clean = sum(1 for row in rows if not row["planted"])
    assert len(missed) <= 0.01 * len(values), missed
    assert len(flagged) <= 0.02 * clean, flagged

"""The guard's rules that generalise beyond its word lists, each with values it must find and look-alikes it must leave.

Names: first names of every country (Faker's lists) before a word that looks like a surname, names
typed in lower case, signatures. Health: medical word families, medicines someone takes, episodes,
conditions and operations; in a sentence naming a product (a batch, a notice, a study), "je" alone
no longer makes a disease personal. Secrets: a PIN far from its keyword, an account's password after
a slash, "c'est", a Wi-Fi key, a colon glued to the keyword's last word.
None of these sentences comes from the labelled sets.
"""

from __future__ import annotations

import pytest

from relais.guard import inspect
from relais.guard.engine import get_analyzer
from relais.guard.first_names import FirstNameEvidence
from relais.guard.lexicon import common_words, french_lexicon, world_first_names


@pytest.fixture(scope="module", autouse=True)
def loaded_guard():
    return get_analyzer()


def found(text: str) -> list[tuple[str, str]]:
    return [(f.entity_type, text[f.start:f.end]) for f in inspect([text]).findings]


def covered(text: str, value: str, kind: str) -> bool:
    """Whether findings of `kind` cover every letter and digit of `value` (redaction leaves nothing of it)."""
    start = text.index(value)
    spans = [(f.start, f.end) for f in inspect([text]).findings if f.entity_type == kind]
    return all(any(s <= i < e for s, e in spans) for i in range(start, start + len(value)) if text[i].isalnum())


FOUND = [
    # first names of other countries, then a surname (particles included)
    ("PERSONNE", "Envoie le planning de la semaine à Dmitri Sokolov.", "Dmitri Sokolov"),
    ("PERSONNE", "Yasmine El Amrani valide la revue des dossiers de lot.", "Yasmine El Amrani"),
    ("PERSONNE", "Hiroshi Tanaka audite le site de conditionnement lundi.", "Hiroshi Tanaka"),
    ("PERSONNE", "Please tell Aleksandra Nowicki that her CAPA is overdue.", "Aleksandra Nowicki"),
    ("PERSONNE", "Réunion avec Tomasz Wiśniewski et Mehmet Öztürk demain.", "Tomasz Wiśniewski"),
    ("PERSONNE", "Réunion avec Tomasz Wiśniewski et Mehmet Öztürk demain.", "Mehmet Öztürk"),
    # surname first (East Asian order)
    ("PERSONNE", "le rapport de Zhang Wei est en retard", "Zhang Wei"),
    ("PERSONNE", "Nguyen Thi Lan est absente demain.", "Nguyen Thi Lan"),
    # names typed in lower case
    ("PERSONNE", "écris à marie-claire vasseur pour décaler la revue", "marie-claire vasseur"),
    ("PERSONNE", "j'ai croisé pierre lemoine au labo ce matin", "pierre lemoine"),
    ("PERSONNE", "le dossier de karim benali est incomplet", "karim benali"),
    ("PERSONNE", "envoie à ivana petrović le compte rendu", "ivana petrović"),
    ("PERSONNE", "réponds à nadia : le rendez-vous est maintenu", "nadia"),
    # a signature
    ("PERSONNE", "Merci pour le retour.\nCordialement,\nAurélien Gaillard\nResponsable QA", "Aurélien Gaillard"),
    # health: word families, episodes, conditions, operations, medicines taken
    ("SANTE", "Mon collègue souffre d'une spondylarthrite depuis deux ans.", "spondylarthrite"),
    ("SANTE", "Ma fille a un lymphome, je dois poser des congés.", "lymphome"),
    ("SANTE", "J'ai fait une crise d'asthme hier soir en zone de lavage.", "crise d'asthme"),
    ("SANTE", "Mon fils a des troubles du sommeil, puis-je éviter les nuits ?", "troubles du sommeil"),
    ("SANTE", "La technicienne a été opérée du ménisque, elle reprend lundi.", "opérée du ménisque"),
    ("SANTE", "Her colleague is back after hip surgery.", "hip surgery"),
    ("SANTE", "Je prends de la sertraline, est-ce compatible avec le travail posté ?", "sertraline"),
    ("SANTE", "Je suis sous adalimumab : dois-je le signaler à la médecine du travail ?", "adalimumab"),
    ("SANTE", "Ma collègue est enceinte de trois mois.", "enceinte de trois mois"),
    # a product named in the sentence, and still someone's health: owned, taken, had, or a role's
    ("SANTE", "Je prends un traitement par méthotrexate pour ma polyarthrite, puis-je manipuler le lot ?",
     "polyarthrite"),
    ("SANTE", "J'ai une hernie discale, puis-je porter les fûts du lot 24B ?", "hernie discale"),
    ("SANTE", "Le technicien est sous insuline, peut-il conditionner le lot ?", "insuline"),
    # secrets
    ("SECRET", "Le code PIN de l'armoire à pharmacie du poste de garde numéro deux a été changé : 8302.", "8302"),
    ("SECRET", "Connecte-toi à l'HPLC avec le compte empower_qc / Violette!77 puis lance la séquence.",
     "Violette!77"),
    ("SECRET", "identifiants : mlefort / Rhone!2027 pour le portail fournisseur", "Rhone!2027"),
    ("SECRET", "le mdp c'est Paquerette#51 pour le poste de pesée", "Paquerette#51"),
    ("SECRET", "La clé WPA du wifi visiteurs est Mistral-Gagnant-88.", "Mistral-Gagnant-88"),
    ("SECRET", "password for the backup vault: quartz-lemon-river-19", "quartz-lemon-river-19"),
]

LEFT_ALONE = [
    # words that are also first names somewhere, places, languages, quoted foreign text
    "Le flacon est rose pâle après reconstitution.",
    "On polit la surface à la pierre ponce.",
    "Conditionner en flacon en verre ambre de 100 ml.",
    "Translate into German: the batch is released.",
    "Le siège est à Paris La Défense, tour Europlaza.",
    "Le Manuel qualité est à jour.",
    "please mark the batch as rejected and chase the supplier for the CoA",
    "Il campionamento delle materie prime è conforme.",
    "les produits finis contiennent des excipients",
    "Rédige un courrier à l'EMA, Domenico Scarlattilaan 6, 1083 HS Amsterdam.",
    "Écris à l'ANSM, 143-147 boulevard Anatole France, 93285 Saint-Denis Cedex.",
    "réponds à la question 3 du quiz BPF",
    "Martin Dow et Delpharm sont-ils des façonniers qualifiés ?",
    # a closing formula followed by a department, not a person
    "Merci pour le retour.\nCordialement,\nDirection Qualité",
    "Bien à vous,\nAssurance Qualité Opérationnelle",
    # GMP texts with diseases, medicines and "patient" in a generic sense
    "Le patient type de l'étude est un adulte de 70 kg atteint de polyarthrite rhumatoïde.",
    "Je prépare le lot de méthotrexate 2,5 mg pour la libération.",
    "Rédige la notice : le médicament est indiqué dans le traitement de la spondylarthrite.",
    "La solution est trouble après filtration : relance l'essai.",
    "Je vérifie la dose et la qualité du lot 24F0091.",
    "Je lance la chromatographie sur la colonne C18.",
    "Je travaille sur le dossier de la spécialité à base de méthotrexate pour la polyarthrite rhumatoïde.",
    "Je lance la fabrication du lot d'insuline.",
    "Notre patient modèle sous insuline est décrit dans le protocole.",
    "Le code PIN doit comporter 4 chiffres et être renouvelé chaque année.",
    "Se connecter avec le compte QA / Production selon la SOP-IT-012.",
    "identifiants : nom / prénom à saisir dans le formulaire",
    "le mdp c'est celui du coffre-fort",
    "La clé WPA doit être changée tous les ans.",
    "password for the vault: see the KeePass entry",
]


@pytest.mark.parametrize(("kind", "text", "value"), FOUND, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(FOUND)])
def test_value_is_found(kind, text, value):
    assert covered(text, value, kind), found(text)


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_look_alike_is_left_alone(text):
    assert found(text) == []


def test_world_first_names_come_from_faker_without_common_words_or_countries():
    names = world_first_names()
    assert {"Dmitri", "Yasmine", "Hiroshi", "Grégoire", "Aleksandra"} <= names
    assert len(names) > 15000
    assert not {"Will", "Page", "Lot", "France", "French", "German"} & names


def test_common_words_and_french_parts_of_speech():
    assert {"will", "page", "delle", "und"} <= common_words()
    lexicon = french_lexicon()
    assert lexicon.parts_of_speech("pâles") == {"adj"}
    assert "verb" in lexicon.parts_of_speech("contiennent")
    assert lexicon.parts_of_speech("haddad") == frozenset()


def test_a_surname_is_no_adjective_verb_or_common_word():
    evidence = FirstNameEvidence()
    assert evidence.looks_like_a_surname("Sokolov") and evidence.looks_like_a_surname("bonnet")
    assert not evidence.looks_like_a_surname("pâle") and not evidence.looks_like_a_surname("contiennent")
    assert not evidence.looks_like_a_surname("the")


def test_a_colon_inside_a_url_introduces_no_secret():
    text = 'curl -H "Authorization: token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8" https://api.github.com/repos/acme/qc'
    # since round 25 an Authorization header's scheme goes with its credentials (« token ghp_… »)
    assert found(text) == [("SECRET", "token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8")]

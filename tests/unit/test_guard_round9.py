"""Round 9 of the guard: each rule with a value it must find, written for these tests, and a look-alike it must leave.

The forms come from blind12's misses (tuning data since its one measurement), but every value and sentence here
was written anew, in another wording, so that a rule fitted to one row would fail: SQL-client and quoted-CSV
tables, birth dates in XML, JSON keys, other languages and lists, amounts with their tax state or a symbol
before them, pay keys and pay percentages, foreign and function markings, Flemish, Nordic, Polish and
Iberian addresses, connection strings, webhooks, passwords shaped like one, codes without a verb, health
terms by family and a first name of any country.
"""

from __future__ import annotations

import pytest

from relais.guard import inspect, tagger
from relais.guard.engine import get_analyzer
from relais.guard.tables import tables


@pytest.fixture(scope="module", autouse=True)
def loaded_guard():
    return get_analyzer()


def covered(text: str, value: str, kind: str) -> bool:
    """Whether findings of `kind` cover every letter and digit of `value` (redaction leaves nothing of it)."""
    start = text.index(value)
    spans = [(f.start, f.end) for f in inspect([text]).findings if f.entity_type == kind]
    return all(any(s <= i < e for s, e in spans) for i in range(start, start + len(value)) if text[i].isalnum())


def found_spans(text: str) -> list[tuple[str, str]]:
    """What the guard finds in `text`, as (kind, covered text): the message of a failed assertion."""
    return [(f.entity_type, text[f.start:f.end]) for f in inspect([text]).findings]


def assert_found(kind: str, text: str, value: str) -> None:
    """The guard covers `value` with findings of `kind` (each round's FOUND table)."""
    assert covered(text, value, kind), found_spans(text)


def assert_left_alone(text: str) -> None:
    """The guard finds nothing at all in a look-alike (each round's LEFT_ALONE table)."""
    assert not inspect([text]).findings, found_spans(text)


def assert_rules_find(kind: str, text: str, value: str) -> None:
    """As `assert_found`, by the rules alone: a round's rule, not the tagger, must catch its value."""
    with tagger.turned_off():
        assert_found(kind, text, value)


def assert_rules_leave_alone(text: str) -> None:
    """As `assert_left_alone`, by the rules alone (the tagger only speaks where they found something)."""
    with tagger.turned_off():
        assert_left_alone(text)


def rule_tests(left_alone: list[str], found: list[tuple[str, str, str]]):
    """A round's two tests of its tables, by the rules alone: each look-alike left alone, each value found.

    A round's module binds them to its own names (`test_look_alike_is_left_alone, test_value_is_found =
    rule_tests(LEFT_ALONE, FOUND)`) for pytest to collect.
    """
    @pytest.mark.parametrize("text", left_alone)
    def test_look_alike_is_left_alone(text):
        assert_rules_leave_alone(text)

    @pytest.mark.parametrize(("kind", "text", "value"), found)
    def test_value_is_found(kind, text, value):
        assert_rules_find(kind, text, value)

    return test_look_alike_is_left_alone, test_value_is_found


FOUND = [
    # a SQL client's output: its rule row (« ----+---- ») does not cut the table from its header
    ("DATE_NAISSANCE",
     "Résultat de la requête :\n id | nom | birth_date\n----+--------+------------\n 7 | KOVAC | 1983-02-14\n",
     "1983-02-14"),
    ("DATE_NAISSANCE", "Export : id;nom;date_naiss\n12;Moreau;09.12.1977\n13;Ba;21/06/1990", "09.12.1977"),
    ("DATE_NAISSANCE", "<person><birthDate>1969-08-30</birthDate></person>", "1969-08-30"),
    ("DATE_NAISSANCE", 'payload = {"user": "ktan", "birth": "2001-01-23"}', "2001-01-23"),
    ("DATE_NAISSANCE", "Fecha de nacimiento: 30/04/1986, nacionalidad española.", "30/04/1986"),
    ("DATE_NAISSANCE", "Ihr Geburtsdatum ist 11.09.1979, bitte prüfen.", "11.09.1979"),
    ("DATE_NAISSANCE", "Liste des anniversaires de l'équipe : Léa 02/05/1991, Tom 17/11/1985.", "17/11/1985"),
    # amounts: a symbol before with a blank, a tax state after, a pay key, a pay percentage
    ("SALAIRE", "Son salaire de base passe à € 3.980,00 au 1er mars.", "€ 3.980,00"),
    ("SALAIRE", "Le consultant facture un TJM de 640 € HT, soit 7 680 € HT sur le mois.", "7 680 € HT"),
    ("SALAIRE", "Elle réclame une augmentation : 39 500 € brut/an au lieu de 37 000.", "39 500 € brut/an"),
    ("SALAIRE", 'Record: {"nom": "Leclerc", "prenom": "Manon", "salaire_mensuel": 2745.80}', "2745.80"),
    ("SALAIRE", "Confirme à Hugo Marchal une augmentation individuelle de 2,5 % en avril.", "2,5 %"),
    ("SALAIRE", "Offer for Priya Nair: base £61,000 and a 12% annual bonus.", "12%"),
    ("SALAIRE", "Note for Yannick Pelletier: no merit increase in 2025 (current base $97,250).", "$97,250"),
    # markings: a function's, a foreign one, and whom it restricts to after a dash
    ("CONFIDENTIEL", "LEGAL CONFIDENTIAL, please summarise the settlement terms below for the quarterly board pack.",
     "LEGAL CONFIDENTIAL"),
    ("CONFIDENTIEL", "STRENG VERTRAULICH – Vorstand. Bitte zusammenfassen: Standortschließung Q3.",
     "STRENG VERTRAULICH – Vorstand"),
    ("CONFIDENTIEL", "Note « Diffusion restreinte – Direction des ressources humaines » : résume-la.",
     "Diffusion restreinte – Direction des ressources"),
    # addresses of Belgium, Sweden, Denmark, Poland, Portugal, and a town in lower case
    ("ADRESSE", "Mijn nieuw adres: Antwerpsesteenweg 48 bus 2, 2800 Mechelen.",
     "Antwerpsesteenweg 48 bus 2, 2800 Mechelen"),
    ("ADRESSE", "Skicka paketet till Kungsgatan 7A, 411 19 Göteborg.", "Kungsgatan 7A, 411 19 Göteborg"),
    ("ADRESSE", "Send it to her flat: Nørregade 21, 1165 København.", "Nørregade 21, 1165 København"),
    ("ADRESSE", "Adres do wysyłki: ul. Piękna 8/12, 00-539 Warszawa.", "ul. Piękna 8/12, 00-539 Warszawa"),
    ("ADRESSE", "Morada: Avenida da Liberdade 190, 2.º Dto., 1250-147 Lisboa.",
     "Avenida da Liberdade 190, 2.º Dto., 1250-147 Lisboa"),
    ("ADRESSE", "livrer chez lui au 14 rue des acacias 37300 joué-lès-tours merci",
     "14 rue des acacias 37300 joué-lès-tours"),
    # secrets: a whole URL or connection string with its password, a webhook, a password's shape, no-verb codes
    ("SECRET", "DSN=mysql://etl_user:Gr4nite!Bay@db-qc.local:3306/stab ne marche plus",
     "mysql://etl_user:Gr4nite!Bay@db-qc.local:3306/stab"),
    ("SECRET", "Data Source=srv-lims;Initial Catalog=LIMS;User ID=lims_ro;Password=Tr3fle#Vert;Encrypt=False",
     "Data Source=srv-lims;Initial Catalog=LIMS;User ID=lims_ro;Password=Tr3fle#Vert;Encrypt=False"),
    ("SECRET", "Poste sur https://acme.webhook.office.com/webhookb2/abc123-de45@f6a7-89/IncomingWebhook/0fe1d2/77aa-bb",
     "https://acme.webhook.office.com/webhookb2/abc123-de45@f6a7-89/IncomingWebhook/0fe1d2/77aa-bb"),
    ("SECRET", "Le wifi du labo c'est bQ7&xTr4!nLw, tu peux l'ajouter au poste ?", "bQ7&xTr4!nLw"),
    ("SECRET", "J'ai tapé Mimosa1987## et ça ne passe pas sur le VPN.", "Mimosa1987##"),
    ("SECRET", "Accès au parking : code barrière 4729B, à changer en juin.", "4729B"),
    ("SECRET", "L'armoire forte s'ouvre avec la combinaison 12-47-03.", "12-47-03"),
    ("SECRET", "Codes de secours du compte :\n5512-0098\n7741-3306", "7741-3306"),
    ("SECRET", "Compte svc_backup : mot de passe temporaire positionné à Ete-2025-Lyon, à changer.", "Ete-2025-Lyon"),
    # health by family, by class of medicine, by an everyday phrase, and a first name of any country
    ("SANTE", "Je serai absente jeudi, j'ai une bronchoscopie de contrôle.", "bronchoscopie"),
    ("SANTE", "My brother had a colonoscopy yesterday.", "colonoscopy"),
    ("SANTE", "Mon collègue prend des bêta-bloquants depuis l'an dernier.", "bêta-bloquants"),
    ("SANTE", "Mihnea est rentré chez lui, grosse gastro.", "gastro"),
    ("SANTE", "Arrêt de travail de Mme Ferrand : trouble anxio-dépressif.", "trouble anxio-dépressif"),
    ("SANTE", "Our operator Tomasz has a visual impairment, please adapt the HMI.", "visual impairment"),
    ("SANTE", "Suite à l'éthylotest positif de M. Girard, prévoir un entretien.", "éthylotest positif"),
    # names: a form's name fields, a chat speaker with an initial, a mention, an initial after a role label
    ("PERSONNE", "Fiche salarié\nNom de jeune fille : VERNIER\nPrénom : Odile", "VERNIER"),
    ("PERSONNE", "Export WhatsApp :\n[18:47] Oyelaran T.: j'arrive dans 5 min\n[18:49] Kwabena: ok", "Oyelaran T."),
    ("PERSONNE", "@Radu tu peux valider le CR de la revue qualité ?", "Radu"),
    ("PERSONNE", "Ayant droit ajouté.\nSalarié(e) : Hanitra M.", "Hanitra M."),
]

LEFT_ALONE = [
    # a lone dashed line is no SQL rule: the rows around it stay two tables
    "Résumé du lot :\nrendement;pH;aspect\n---\nconforme",
    # dates of a plural word that is no birth, and a year after an arbitrary key
    "Les dates de péremption des lots : 12/03/2026, 15/04/2026.",
    '{"build": "2024-03-11", "version": "1.4.2"}',
    # a price with its tax state, a yield increase, a cap in a policy, a key that is no pay
    "Le réactif coûte 1 240 € HT le flacon.",
    "Le rendement a connu une augmentation de 4,5 % sur la ligne 2.",
    "Rédige la politique : la prime est plafonnée à 10 % du salaire de base.",
    '{"retries": 3, "timeout_ms": 2500}',
    # a heading with a dash that is no marking, a function's name without one
    "Legal review – Article 5 of the supply agreement: summarise it.",
    "Explique la clause de confidentialité – Article 12 du contrat.",
    # a cleanroom suit, a lab method, a bibliography, a product code after « code »
    "Le port de la combinaison stérile 2 pièces est obligatoire en classe A.",
    "La microscopie du lot 24C est conforme aux spécifications.",
    "Smith et al. Nature 2019 décrit la méthode.",
    "Voir Partie 12 du guide BPF.",
    # a slogan, a file name
    "Bienvenue sur Relais2025! Bonne journée à tous.",
    "Le fichier Annexe#3_Rev2.docx est dans le dossier partagé.",
    # a connection string without a password
    "Server=srv-lims;Database=LIMS;Trusted_Connection=True",
    # an eponym, a class of medicine in a product, a first name that names a disease
    "Explain Addison's disease to the new hires.",
    "Le lot de statines 24A0112 est libéré.",
    "Compare Johnson & Johnson, Eli Lilly and Sanofi in the insulin market.",
    # code annotations, a meeting's time and room, a mention of a team
    "@Override\npublic void run() { }",
    "Planning : 10:30 Réunion: salle B, 11:00 Revue: bureau 4.",
    "Merci de mettre @Qualité en copie du ticket.",
]


@pytest.mark.parametrize(("kind", "text", "value"), FOUND, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(FOUND)])
def test_value_is_found(kind, text, value):
    assert covered(text, value, kind), inspect([text]).findings


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_look_alike_is_left_alone(text):
    findings = inspect([text]).findings
    assert not findings, findings


def test_quoted_csv_field_is_one_cell():
    text = 'id,name,site\n1,"Diallo, Awa",Tours\n2,"Smith, Jo",Ghent'
    (table,) = tables(text)
    assert [text[start:end] for start, end in table.rows[1]] == ["1", "Diallo, Awa", "Tours"]

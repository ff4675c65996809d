"""The guard reads values in their context: the words around a health term, names no list knows,
overlapping findings, keys of structured data and the forms of secrets, pay and addresses abroad.

Texts written for these tests (round 3 of issue 11), none taken from a labelled set.
"""

from __future__ import annotations

import pytest

from relais.guard import inspect
from relais.guard.engine import get_analyzer
from tests.unit.test_guard_generalisation import covered


@pytest.fixture(scope="module", autouse=True)
def loaded_guard():
    return get_analyzer()


FOUND = [
    # the words that say the condition and who has it are masked with the term
    ("SANTE", "Pour info, Hugues Marchetti nous a dit qu'il a un lymphome, merci d'adapter ses rondes.",
     "il a un lymphome"),
    ("SANTE", "Rédige la note : Mme Ferreira est hospitalisée pour une pancréatite aiguë depuis mardi.",
     "hospitalisée pour une pancréatite aiguë"),
    ("SANTE", "Nom;Motif\nLéna Brunet;hospitalisation (fracture du poignet)", "hospitalisation (fracture du poignet)"),
    ("SANTE", "Ignace Mbeki sera absent : arrêt pour lumbago depuis lundi.", "arrêt pour lumbago"),
    # a health term in a sentence that names nobody, in a request that names someone
    ("SANTE", "Update for the team: Xolani Qwabe returns Monday. Back from sick leave after knee surgery.",
     "sick leave after knee surgery"),
    # names no list knows, beside other personal data
    ("PERSONNE", "Xolani Qwabe returns Monday. Back from sick leave after knee surgery.", "Xolani Qwabe"),
    ("PERSONNE", "Virement de la prime de 1 200 € brut à Thandiwe Ndlovu ce mois-ci.", "Thandiwe Ndlovu"),
    ("PERSONNE", "Reformule : « Bonjour, Rodrigo de la Peña Soto et moi validerons le protocole. »",
     "Rodrigo de la Peña Soto"),
    ("PERSONNE", "Ajoute au tableau : DE LA ROCHE Amélie, AQ, poste 4412.", "DE LA ROCHE Amélie"),
    ("PERSONNE", "Please cc Siobhan O'Sullivan on the deviation report.", "Siobhan O'Sullivan"),
    ("PERSONNE", 'Charge ce JSON : {"nom": "Ouattara", "prenom": "Awa", "service": "CQ"}', "Ouattara"),
    ("DATE_NAISSANCE", '{"last_name": "Ouattara", "birth_date": "1988-07-21"}', "1988-07-21"),
    # secrets: a password the e-mail recogniser half claims (« …4dor@redis-01.local ») is masked whole,
    # Oracle's user/password@, a door code, past tenses
    ("ANY", "La connexion échoue : redis://cache:Tr0ub!4dor@redis-01.local:6379/0", "Tr0ub!4dor"),
    ("SECRET", "Le script lance sqlplus qc_app/Glacier77x@//db-lims:1521/LIMS puis plante.", "Glacier77x"),
    ("SECRET", "Le digicode du local archives est 4B82X# depuis lundi.", "4B82X#"),
    ("SECRET", "Son mot de passe du poste de pesée de la zone B était Mandarine!31, il faut le changer.",
     "Mandarine!31"),
    ("SECRET", "Le compte a été débloqué, mot de passe réinitialisé en Cerise#2027 par le support.", "Cerise#2027"),
    # pay: Swiss thousands, fees and allowances
    ("SALAIRE", "Son offre : CHF 11'200 brut mensuel.", "CHF 11'200"),
    ("SALAIRE", "The auditor, Ms Tanaka, charges a daily fee of EUR 1,150 for the visit.", "EUR 1,150"),
    ("SALAIRE", "Please pay the relocation allowance of €3,800 to Mr Haddad.", "€3,800"),
    # an address abroad: number, street, comma, postcode and town
    ("ADRESSE", "Le consultant, domicilié 7 Via Garibaldi, 10122 Torino, facturera en euros.",
     "7 Via Garibaldi, 10122 Torino"),
    ("ADRESSE", "Mr Dupuis, residing at Rue des Tanneurs 12, 1000 Bruxelles, will sign.", "Rue des Tanneurs 12"),
    # an address in parts and lines is one address, with its country
    ("ADRESSE", "Envoie le contrat à Mme Keller, Bahnhofstrasse 7, 8001 Zürich, Switzerland, avant lundi.",
     "Bahnhofstrasse 7, 8001 Zürich, Switzerland"),
    ("ADRESSE", "Étiquette :\nM. Roy\n1200 boulevard René-Lévesque, app. 9, Québec (QC) G1R 2B5",
     "1200 boulevard René-Lévesque, app. 9, Québec (QC) G1R 2B5"),
    # dates in a birth-date column, secrets named by variable, after a keyword, or shaped like one
    ("DATE_NAISSANCE", "id;nom;ddn\n11;ROLLAND Marc;17-02-1979", "17-02-1979"),
    ("SECRET", "export FTP_PASS='Qx9!vLm#3Tz'", "Qx9!vLm#3Tz"),
    ("SECRET", "Mot de passe Wi-Fi « Salle-Verte-2231!k » : fais-en une affiche.", "Salle-Verte-2231!k"),
    ("SECRET", "the login is qa_robot / Mn7#rT!29xQe, can you script it?", "Mn7#rT!29xQe"),
    ("SALAIRE", "Base salary 3,900 EUR/month for Mr Lindgren.", "3,900 EUR/month"),
    ("SANTE", "Note RH : Julien Caron, restriction de poste (suivi cardiologique).", "suivi cardiologique"),
    # a marking and whom it is restricted to
    ("CONFIDENTIEL", "Confidentiel RH — plan de départs volontaires 2027. Résume.", "Confidentiel RH"),
    ("CONFIDENTIEL", "BUSINESS CONFIDENTIAL - pricing of the tender. Summarise.", "BUSINESS CONFIDENTIAL"),
    # round 4: a health term's whole clause, up to the punctuation that ends it
    ("SANTE", "Peux-tu prévenir l'équipe : Loïc Marchal s'est foulé la cheville droite en descendant du quai.",
     "s'est foulé la cheville droite en descendant du quai"),
    ("SANTE", "Message : Albane Perrot, qui est asthmatique, ne doit pas entrer en zone de pesée.",
     "qui est asthmatique"),
    ("SANTE", "Rapport : la technicienne Inès Morel a eu une perte de connaissance et a été conduite aux urgences.",
     "a eu une perte de connaissance et a été conduite aux urgences"),
    ("SANTE", "Note: Mr Aldridge developed severe neutropenia after cycle 2 and was admitted to hospital.",
     "developed severe neutropenia after cycle 2 and was admitted to hospital"),
    ("SANTE", "Dis à l'équipe que Kamel sera absent, il accompagne son fils chez le neurologue.",
     "il accompagne son fils chez le neurologue"),
    # initials for a name, names in lower case in a name column, a rota's roles
    ("PERSONNE", "Reformule : J.-L. B. (équipe matin) a signalé l'écart au chef de quart.", "J.-L. B."),
    ("PERSONNE", "Courrier pour Mme S. K., 41 ans, au sujet de son dossier.", "S. K."),
    ("PERSONNE", "Trie ce fichier :\nnom;prenom;poste\nle goff;maëlle;pesée", "le goff"),
    ("PERSONNE", "rota:\n  primary: Ngozi Eze\n  backup: Tariq Farouk", "Tariq Farouk"),
    # pay in a table's pay column, a table pasted without its outer pipes
    ("SALAIRE", "Compute the raise:\nName | Level | Gross pay (EUR)\nIlse Brandt | L4 | 61,300", "61,300"),
    # a marking on a line of its own is the whole line
    ("CONFIDENTIEL", "INTERNE – NE PAS DIFFUSER\nRésume le compte rendu du comité.", "INTERNE – NE PAS DIFFUSER"),
    # secrets: SNMP's community string, PowerShell's SecureString
    ("SECRET", "The SNMP community string is Qv8pLw2Rz for the probes.", "Qv8pLw2Rz"),
    ("SECRET", "$pw = ConvertTo-SecureString 'Hêtre#Bleu91' -AsPlainText -Force", "Hêtre#Bleu91"),
    # an address abroad up to its country, over lines and parts
    ("ADRESSE", "Send the parcel to Mr Obi, 4 Marina Road, Victoria Island\nLagos 101241\nNigeria, by Friday.",
     "4 Marina Road, Victoria Island\nLagos 101241\nNigeria"),
    ("ADRESSE", "Mme Sousa habite Rua do Carmo 45, 3º Dto., 1200-093 Lisboa, Portugal.",
     "Rua do Carmo 45, 3º Dto., 1200-093 Lisboa, Portugal"),
    ("ADRESSE", "Herr Baumann wohnt Schillerstraße 8, 60313 Frankfurt am Main, Germany.",
     "Schillerstraße 8, 60313 Frankfurt am Main, Germany"),
    # round 5: names announced by a birth date, « Surname, Firstname », married names, Mac/Mc, two-word capitals
    ("PERSONNE", "Add to the list: Chukwuemeka Obi (DOB 1991-06-02), lab analyst.", "Chukwuemeka Obi"),
    ("PERSONNE", "Ticket INC-4410 | Reporter: de Jong, Pieter | printer jam", "de Jong, Pieter"),
    ("PERSONNE", "Nom : MARTIN épouse KOUASSI Aurélie\nService : AQ", "MARTIN épouse KOUASSI Aurélie"),
    ("PERSONNE", "Please thank Eilidh MacKenzie for the audit support.", "Eilidh MacKenzie"),
    ("PERSONNE", "Opérateurs : TRAN VAN Minh (poste 3) et LEROY Paul (poste 4).", "TRAN VAN Minh"),
    # secrets right after their keyword, a key with brackets in its body, an alarm code, a door's bare code
    ("SECRET", "Pour Hugo : VPN ext-77, mot de passe Pomme-de-pin_42, et le badge c'est le 3.", "Pomme-de-pin_42"),
    ("SECRET", "I changed my SAP password to Oslo#Winter26 yesterday, still locked.", "Oslo#Winter26"),
    ("SECRET", "DJANGO_SECRET_KEY=q9(x!z=4k*w)2p^v7m@r8t&j0=h#e5", "q9(x!z=4k*w)2p^v7m@r8t&j0=h#e5"),
    ("SECRET", "The alarm disarm code for the warehouse is 5820.", "5820"),
    ("SECRET", "L'accès au vestiaire se fait par la porte C3, le code est 4471B.", "4471B"),
    # pay a candidate asks for; health in everyday words
    ("SALAIRE", "Candidat retenu : Karim Haddou, prétentions 41 k€.", "41 k€"),
    ("SANTE", "Mot pour l'équipe : Élodie a accouché samedi d'un petit garçon.", "a accouché samedi d'un petit garçon"),
    ("SANTE", "Note: Mr Farrell was diagnosed with PTSD after the accident.", "diagnosed with PTSD after the accident"),
    # addresses: Dutch and Portuguese postcodes, a flat before the street, « , Le Clos … »
    ("ADRESSE", "Stuur het naar mevrouw Visser, Prinsengracht 263-1, 1016 GV Amsterdam.",
     "Prinsengracht 263-1, 1016 GV Amsterdam"),
    ("ADRESSE", "Ship to Mr Hale, Flat 2, 9 Mill Lane\nOxford OX1 2AB\nUnited Kingdom.",
     "Flat 2, 9 Mill Lane\nOxford OX1 2AB\nUnited Kingdom"),
    # round 6: everyday conditions, a clause reaching ten words back, pay in yen and reais, a base of,
    # a labelled phone in any grouping, a pgpass line, a temporary password, a new alarm code, « internal only »
    ("SANTE", "Dis à l'équipe que Gaëlle est en arrêt pour une gastro jusqu'à jeudi.", "en arrêt pour une gastro"),
    ("SANTE", "Mr Osei needs a quieter desk: he gets short of breath on the stairs.", "gets short of breath"),
    ("SANTE", "Note : M. Peyrat ne peut plus porter de charges lourdes depuis sa hernie discale.",
     "ne peut plus porter de charges lourdes depuis sa hernie discale"),
    ("SALAIRE", "| Name | Salary |\n|---|---|\n| Ren Aoki | ¥8,200,000 |", "¥8,200,000"),
    ("SALAIRE", "We can offer Ana Beatriz Lima a base of R$ 154.000 per year.", "R$ 154.000"),
    ("TELEPHONE", "Contact: Iona Reid, Mobile 07700 912 448, for the handover.", "07700 912 448"),
    ("SECRET", "Is this .pgpass right?\ndb-qc.internal:5432:lims:qc_reader:Tq5#vB9!mW2z", "Tq5#vB9!mW2z"),
    ("SECRET", "J'ai donné à Enzo le mot de passe provisoire Rentree#2027 pour sa session.", "Rentree#2027"),
    ("SECRET", "Le code de l'alarme du magasin change : nouveau code 731904 dès lundi.", "731904"),
    ("CONFIDENTIEL", "Board notes — INTERNAL ONLY\nSummarise the decisions.", "INTERNAL ONLY"),
    # round 7: health typed without accents, family and care words, a medicine taken in a packaging sentence
    ("SANTE", "mail a sandrine : son mi-temps therapeutique est prolonge, en lien avec sa sclerose en plaques",
     "sclerose en plaques"),
    ("SANTE", "Mr Haddad asked to leave early: his wife had a liver transplant last week.", "liver transplant"),
    ("SANTE", "Reword: 'Tomasz, so sorry to hear about your daughter's coeliac disease diagnosis.'", "coeliac disease"),
    ("SANTE", "Préviens l'équipe : Solène prend des anticoagulants, pas de poste au conditionnement coupant.",
     "anticoagulants"),
    ("SANTE", "dis a lucie que son rdv psy de mardi est deplace", "rdv psy"),
    # first names alone, made someone by the words around them
    ("PERSONNE", "Tell the team Oskar won't be at the review on Friday.", "Oskar"),
    ("PERSONNE", "Update the badge request with Thandiwe's new start date.", "Thandiwe"),
    ("PERSONNE", "'Ingrid, thanks for covering the night shift', can you make it warmer?", "Ingrid"),
    ("PERSONNE", "Peux-tu écrire à ma collègue : rappeler Anouk pour le planning ?", "Anouk"),
    ("PERSONNE", "Participants : Ewa Nowak, Sékou Traoré, Mathilde (secrétaire)\nOrdre du jour : audit.",
     "Sékou Traoré"),
    ("PERSONNE", "Ticket IT-5521\nAssigné à : Kofi Mensah\nStatut : ouvert", "Kofi Mensah"),
    ("PERSONNE", "Minutes: Dr Ilse Vermeulen opened the call. Action: Ilse to send the plan.", "Ilse"),
    # secrets said the way a chat says them, combinations with dashes
    ("SECRET", "mon mdp vpn c Marmotte!88 tu peux m'aider a le changer", "Marmotte!88"),
    ("SECRET", "le mot de passe de l'automate Siemens : c'est Pompe#Lyon4, je le mets dans le ticket ?",
     "Pompe#Lyon4"),
    ("SECRET", "« Hortensia2026? » c'est assez long comme mot de passe pour le portail ?", "Hortensia2026?"),
    ("SECRET", "La combinaison du cadenas de l'armoire réactifs est 4-27-11, affiche-la en salle.", "4-27-11"),
    ("SECRET", "le code porte de la salle serveurs c 8812B", "8812B"),
    # birth dates as forms write them
    ("DATE_NAISSANCE", "Nom : ROUX\nNé(e) le : 21/09/1979\nService : QC", "21/09/1979"),
    ("DATE_NAISSANCE", "Passenger: Ms Ana Ruiz, DOB (passport): 1986-02-11", "1986-02-11"),
    ("DATE_NAISSANCE", "Name: Pavel Dvořák | DOB: 17-Mar-1983 | seat 12C", "17-Mar-1983"),
    # round 8: English medical families, names typed without accents, compound initials, codes listed
    ("SANTE", "Tell the line lead that Mr Ferraz is off with tendinitis until Monday.", "tendinitis"),
    ("SANTE", "Reword: Dr Nwosu says my appendectomy went fine, back in two weeks.", "appendectomy"),
    ("PERSONNE", "Message à reformuler : « Helene sera absente lundi, prévenez le QC. »", "Helene"),
    ("PERSONNE", "Vérification faite par J-L. Garnier, approbation par M.-C. Roux le 12/05.", "J-L. Garnier"),
    ("PERSONNE", "Vérification faite par J-L. Garnier, approbation par M.-C. Roux le 12/05.", "M.-C. Roux"),
    ("PERSONNE", "Entretien annuel – Collaborateur : Pham Quoc Bao. Objectifs atteints.", "Pham Quoc Bao"),
    ("PERSONNE", "Aide-moi à répondre à Farida : elle demande si la nuit est confirmée.", "Farida"),
    ("SECRET", "Mes codes de récupération Google : 5521-0937, 8843-1172 ; je les range où ?", "8843-1172"),
    ("SECRET", "[ldap]\nbind_dn = cn=svc-qms,ou=services\nbind_pw = 7Gh!pz2Lq@w", "7Gh!pz2Lq@w"),
    ("SECRET", "le wifi atelier c'est ORV-PROD et la clé c'est Girafe#Bleue-2291, ne la diffuse pas",
     "Girafe#Bleue-2291"),
    ("SECRET", "ma passphrase gpg c'est « trois poules sur un mur 1987 », comment je l'exporte ?",
     "trois poules sur un mur 1987"),
    ("DATE_NAISSANCE", "Intake form: Name: Dana Whitfield, DOB: 11/23/1979, Plan: PPO", "11/23/1979"),
    ("DATE_NAISSANCE", "Note that Kenji Sato's birthday is 1990-04-02, order a cake.", "1990-04-02"),
]

LEFT_ALONE = [
    # spaCy tags these PER, but nothing personal is in the request
    "Le logiciel Veeva Vault remplace MasterControl : rédige la note de changement.",
    "La ligne Uhlmann Pixel tombe en panne tous les lundis : propose un plan d'action.",
    # operations that are no surgery, health words that are about nobody
    "Planifie l'opération de la cuve de préparation T-204 avec l'équipe maintenance.",
    "Résume la notice : le médicament est indiqué dans l'hypertension artérielle de l'adulte.",
    # what a secret keyword points to is no secret
    "Dans le compose, POSTGRES_PASSWORD_FILE=/run/secrets/pg_pw pointe vers le secret Docker.",
    "Write a commit message: pin cryptography==43.0.1 and bump requests.",
    "Example for the docs: Server=myServerAddress;Database=myDataBase;User Id=myUsername;Password=myPassword;",
    # a phone-shaped lot number, a documentation placeholder
    "Le numéro de lot 06 12 45 78 91 suit-il notre codification ?",
    # a public body's published address, its name in any case
    "Écris à la Haute Autorité de santé, 5 avenue du Stade de France, 93218 Saint-Denis La Plaine Cedex.",
    # a supplier named after people
    "Our supplier Thermo Fisher Scientific changed the part number of the LAL reagent.",
    # round 4: a rule for any patient, a case that may happen, a drug candidate, an investigator site
    "Traduis la notice : le patient doit être informé des effets indésirables : vertiges, nausées, palpitations.",
    "Rédige la consigne à suivre en cas d'accident du travail : prévenir le manager puis l'infirmerie.",
    "Résume : le candidat AB-301 est en phase II dans la maladie de Crohn.",
    "Translate the site list: Hôpital Saint-Louis (AP-HP), 1 avenue Claude Vellefaux, 75010 Paris.",
    # numbers in a table whose columns are no pay
    "Check the units:\nBatch | Net weight (kg) | Yield\nB2207 | 1,250 | 98.1",
    # round 5: an address format, a YAML key named like a person field, a policy for all employees, a plant
    "Notre format d'adresse est prenom.nom@verancel-pharma.com, les boîtes génériques ne sont pas nominatives.",
    "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db-credentials",
    "Policy: employees back from sick leave meet their manager and may be referred to occupational health.",
    "Livraison prévue à l'usine de Saint-Genis, 15 rue des Frères Lumière, 01630 Saint-Genis-Pouilly.",
    # round 6: a salary grid, institutions named after people, a function's mailbox, a vault path
    "Grille de la convention collective : coefficient 240, 2 180 € brut mensuel ; coefficient 300, 2 690 €.",
    "Trial sites: Institut Gustave Roussy, Centre Oscar Lambret and the Mayo Clinic.",
    "Pied de notice : pharmacovigilance@verchamp-pharma.com pour déclarer un effet indésirable.",
    "In CI we read the token from vault path secret/ci/github, never from the repository.",
    # round 7: eponyms with a possessive, a company's switchboard and function mailboxes, « a lot », a rule
    "Patients with Addison's disease or at St Vincent's University Hospital were excluded from the cohort.",
    "Le standard du site de Vernon est le 02 32 51 40 00 ; la paie répond sur rh-paie@orvane-pharma.fr.",
    "Our switchboard is +33 1 47 12 60 00; write to support-it@orvane-pharma.com for access.",
    "We improved yield a lot since the new granulator; summarise the batch results for the CAPA.",
    "Procédure RH : en cas d arret maladie, le salarie transmet son avis d arret sous 48 h.",
    "« SOP-IT-004 » fixe la politique de mot de passe : douze caractères au moins.",
    # round 8: placeholders, template people
    "In the config template set api_key: YOUR_API_KEY and password: changeme before the first start.",
    "Exemple de signature : Jean Exemple, Responsable Qualité ; for the US site use John Doe.",
    "Without prior written consent of the Supplier, the Contract Manufacturer shall not subcontract.",
    # a family word must be a whole word: « maison » does not end in the cue « son »
    "La maison Tiago & fils livre les palettes de cartons lundi.",
]


@pytest.mark.parametrize(("kind", "text", "value"), FOUND, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(FOUND)])
def test_value_is_found_with_its_type(kind, text, value):
    assert covered(text, value, kind), [(f.entity_type, text[f.start:f.end]) for f in inspect([text]).findings]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_look_alike_is_left_alone(text):
    assert inspect([text]).is_clean, [(f.entity_type, text[f.start:f.end]) for f in inspect([text]).findings]


def test_a_name_only_spacy_knows_is_no_finding_alone():
    """Alone, a name no list knows is not reported: spaCy also tags products as persons."""
    assert inspect(["Xolani Qwabe validera le protocole de nettoyage."]).is_clean


def test_overlapping_findings_keep_their_own_types():
    text = "Le salarié M. Lambert souffre d'une sciatique chronique."
    kinds = {(f.entity_type, text[f.start:f.end]) for f in inspect([text]).findings}
    assert any(kind == "PERSONNE" and "Lambert" in value for kind, value in kinds)
    assert any(kind == "SANTE" and "sciatique chronique" in value for kind, value in kinds)
    spans = sorted((f.start, f.end) for f in inspect([text]).findings)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))

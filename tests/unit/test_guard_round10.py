"""Round 10 of the guard: each rule with a look-alike it must leave and, beside it, a value it must still find.

The forms come from blind13's clean rows that were flagged and from its misses (tuning data since its one
measurement), but every value and sentence here was written anew, in another wording, so that a rule fitted to
one row would fail.
"""

from __future__ import annotations

import pytest

from relais.guard import inspect

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import assert_found, assert_left_alone, covered, loaded_guard  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # a network's or a provider's published test card: two digits repeated, in a sentence about testing
    "Le paiement de recette échoue avec la carte de test 4111 1111 1111 1111 : la clé sandbox est-elle la bonne ?",
    "QA note: the sandbox accepts 5555 5555 5555 4444 but rejects every expiry date in the past.",
    # an office's fax, a poison centre, the emergency services
    "Pied de page du service achats : Tél. standard 03 20 00 00 00 – Fax : 03 20 00 00 09.",
    "Affiche du vestiaire : centre antipoison de Marseille 04 91 75 25 25, pompiers 18, SAMU 15.",
    # a business's address by its form: CEDEX, CS box, industrial zone, technology park
    "Merci d'envoyer les échantillons à Biolabo SAS, Parc technologique de la Source, 45071 Orléans Cedex 2.",
    "Adresse de facturation : Chimex, ZI des Hauts Sarrazins, 8 rue des Entrepreneurs, 49000 Angers.",
    "Le courrier part à Pharmatest, CS 60012, 12 allée du Lac, 31670 Labège.",
    # a service's generic signature: the address after its switchboard line
    "Signature du service :\nAssurance Qualité – Standard : 05 61 00 00 00\n4 rue des Tanneurs, 31000 Toulouse",
    # a table of the company's sites, with their switchboard
    "usine;adresse;standard\nNord;17 rue de la Gare, 59000 Lille;03 20 11 22 33\nSud;9 quai des Docks, 13002 Marseille;"
    "04 91 22 33 44",
    # a purchase, not a pay (« payait », « payable »)
    "On payait la cuve 12 400 € il y a deux ans, le devis dit 13 150 € : quelle hausse en pourcentage ?",
    "Accounts payable asks why the 2 300 EUR invoice for filters arrived twice.",
    # a password policy's examples of what not to use
    "Policy draft: block common passwords such as Winter2025! or Qwerty123, and require 14 characters.",
    "Dans la charte, cite des mots de passe faibles comme Soleil2023 ou Marseille13 à ne jamais utiliser.",
    # a task's name in a playbook, not a person's
    "- name: Restart QMS worker service\n  ansible.builtin.systemd:\n    name: qms-worker\n    state: restarted",
    # a lower-case noun phrase after an article
    "Can you review the new dev box setup and the local test rig instructions?",
    # public figures of the history of science, a Nobel prize
    "Écris une frise sur l'histoire de la médecine : Louis Pasteur (rage), Marie Curie (radium), Robert Koch.",
    "Explain why Katalin Karikó and Drew Weissman received the Nobel Prize for mRNA vaccines.",
    # a condition named after a physician, in a training document that names no one
    "Fiche de formation : le syndrome de Pierre Robin et la maladie de Charles Bonnet, signes et prise en charge.",
]

FOUND = [
    # a card with more than two digits is still a card, in a test context too; a repeated one said to be charged too
    ("CARTE_BANCAIRE", "Le traiteur a prélevé deux fois la carte 4242424242424242, fais la réclamation.",
     "4242424242424242"),
    ("CARTE_BANCAIRE", "Test en recette avec ma vraie carte 4970 1012 3456 7893, c'est grave ?", "4970 1012 3456 7893"),
    # a private number is still a number next to a public one
    ("TELEPHONE", "Appelle le centre antipoison, puis rappelle-moi sur mon portable 06 71 82 93 04.", "06 71 82 93 04"),
    # a home address keeps being found, a supplier's too (a supplier may be a sole trader)
    ("ADRESSE", "Notre fournisseur de cartons a déménagé au 27 rue des Acacias, 37000 Tours.", "27 rue des Acacias"),
    # a salary keeps being found once pay words are whole words
    ("SALAIRE", "Il payait son assistante 1 950 € net par mois.", "1 950 € net"),
    ("SALAIRE", "salaire_mensuel: 3 480 € pour Mme Roux", "3 480 €"),
    # a password after the keyword, outside a list of weak examples
    ("SECRET", "Le mot de passe du compte de service est Grenat!2291, ne le diffuse pas.", "Grenat!2291"),
    # « name: » followed by the end of the line is still a person
    ("PERSONNE", "Fiche :\nname: Ibrahima Sarr\nservice: QC", "Ibrahima Sarr"),
    # « signe » is no condition: the person after it is someone
    ("PERSONNE", "Relis mon courrier, je signe Nadège Fontaine.", "Nadège Fontaine"),
]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_look_alike_is_left_alone(text):
    assert_left_alone(text)


@pytest.mark.parametrize(("kind", "text", "value"), FOUND)
def test_value_is_found(kind, text, value):
    assert_found(kind, text, value)


# Recall: forms blind13 missed, each with a value written for this test.
FOUND_FORMS = [
    # a SQL insert is a table: its column list is the header, each tuple a row
    ("SALAIRE", "INSERT INTO paie (id, nom, brut_mensuel) VALUES (7, 'Lemaire Odile', 2740.00),\n"
                "(8, 'Bakayoko Issa', 3105.50);", "3105.50"),
    ("PERSONNE", "INSERT INTO paie (id, nom, brut_mensuel) VALUES (7, 'de la Fuente Marta', 2740.00);",
     "de la Fuente Marta"),
    # a rise as a percentage under its key, in a sentence of raises, signed after an amount of pay
    ("SALAIRE", '{"collaborateur": "Maëlle Guérin", "revalorisation": "2,8 %"}', "2,8 %"),
    ("SALAIRE", "Merit increases this year: Julien Marchand 3,5 %, Sophie Lambert 2 %.", "2 %"),
    ("SALAIRE", "Le salaire de Mme Perrin passe à 3 300 € brut (+5,2 %) en janvier.", "+5,2 %"),
    # a base pay said by « base » alone, or by an offer's shorthand
    ("SALAIRE", "Offer for Tomás Ruiz: base €91,500 plus car.", "€91,500"),
    ("SALAIRE", '{"candidate": "Aiko Mori", "comp": {"sign-on": "GBP 8,000"}}', "GBP 8,000"),
    # a laboratory result, imaging, a check-up
    ("SANTE", "Ma collègue Rachida m'a dit que sa ferritine est à 9 ng/mL.", "ferritine est à 9 ng/mL"),
    ("SANTE", "Je passe une scintigraphie osseuse jeudi, je serai absent le matin.", "scintigraphie osseuse"),
    ("SANTE", "Mon mari doit refaire une prise de sang lundi.", "prise de sang"),
    # a pregnancy by what is expected and how far it is
    ("SANTE", "Notre collègue Inès attend un bébé pour mars.", "attend un bébé"),
    ("SANTE", "Reminder: Marta is pregnant, 28 weeks, no night shifts.", "pregnant, 28 weeks"),
    # a device, a sick note, sleep and drinking in everyday words
    ("SANTE", "Mon fils porte un implant cochléaire depuis ses 3 ans.", "implant cochléaire"),
    ("SANTE", "The doctor signed me off until Friday, sorry.", "signed me off"),
    ("SANTE", "Since March I have trouble sleeping and my GP is worried.", "trouble sleeping"),
    # diabetes by its type, an English eponymous disease, tetracyclines, « on » a medicine
    ("SANTE", "Rahul's T1DM means he needs short breaks.", "T1DM"),
    ("SANTE", "My wife has Addison's disease, she tires quickly.", "Addison's disease"),
    ("SANTE", "Je prends de la minocycline pour mon acné.", "minocycline"),
    ("SANTE", "He's on apixaban since June.", "apixaban"),
    # a term of several words in the plural
    ("SANTE", "J'ai eu trois arrêts de travail cette année.", "arrêts de travail"),
    # a speaker in lower case: a known first name, or one who speaks twice
    ("PERSONNE", "[08:01] lucie: le four est chaud ?\n[08:02] karim: oui", "lucie"),
    ("PERSONNE", "[15:10] titou : on relance ?\n[15:11] paulo : oui\n[15:12] titou : ok", "titou"),
    # logins: an initial and a surname, a glued login after its key, a home folder, a name joined by underscores
    ("PERSONNE", "Le job a échoué pour l'utilisateur r.okonkwo sur le serveur de fichiers.", "r.okonkwo"),
    ("PERSONNE", "mon identifiant c'est tbrunet, tu peux le débloquer ?", "tbrunet"),
    ("PERSONNE", "Le chemin /home/lgarnier/exports/ est plein.", "lgarnier"),
    ("PERSONNE", "Fichier BULLETIN_Agathe_Morvan_2024.pdf introuvable", "Agathe_Morvan"),
    # a first name before its rise, a message signed after « Cheers, »
    ("PERSONNE", "Primes validées : Maëlys 4 %, Dorian 2 %.", "Dorian"),
    ("PERSONNE", "Can you make it shorter? 'Line 2 is down again, call maintenance. Cheers, Fergus'", "Fergus"),
    # a surname with an elided prefix before a first name of any country
    ("PERSONNE", "Comptes à créer : D'ORNANO Giulia, PETIT Hugo.", "D'ORNANO Giulia"),
    # a birth date without separators after its word, after the degree sign of civil records
    ("DATE_NAISSANCE", "Import : LEROY Paul, DDN 19850412, CDI.", "19850412"),
    ("DATE_NAISSANCE", "Acte : Marthe Vidal (° 02/05/1949 à Nantes).", "02/05/1949"),
    # a country code in parentheses, a phone label followed by a few words
    ("TELEPHONE", "Contacts : Lars Berg (0047) 912 34 567.", "(0047) 912 34 567"),
    ("TELEPHONE", "Her mobile for the weekend: 07911 123 456.", "07911 123 456"),
    # codes typed spaced, a card's security code, a SendGrid key
    ("SECRET", "Le code du cadenas de mon casier c'est 4 0 8 2, note-le.", "4 0 8 2"),
    ("SECRET", "Mon code de secours c'est 5521 0934, garde-le.", "5521 0934"),
    ("SECRET", "Use the team card, CVV 9031, for the booking.", "9031"),
    ("SECRET", "SENDGRID_KEY=SG.Ab3dE5gH7jK9mN1pQ3sT.uV5wX7yZ9aB1cD3eF5gH7jK9mN1pQ3sT5uV7",
     "SG.Ab3dE5gH7jK9mN1pQ3sT.uV5wX7yZ9aB1cD3eF5gH7jK9mN1pQ3sT5uV7"),
    # shares granted as pay, a percentage after « + » next to a pay
    ("SALAIRE", "Pour M. Vallet : attribution de 2 500 actions gratuites en 2025.", "2 500 actions gratuites"),
    ("SALAIRE", "Offer to Priya Nair: €70k base + 8% bonus.", "+ 8%"),
    # a gum disease by its root
    ("SANTE", "Ma femme a une parodontite, elle est suivie au CHU.", "parodontite"),
    # a form's health field, a table's column of adjustments
    ("SANTE", "Fiche santé au travail\nSalarié : Yann Kervella\nAllergies : pénicilline, latex", "pénicilline, latex"),
    ("SANTE", "| Nom | Aménagement de poste |\n|---|---|\n| Claire Vasseur | siège ergonomique, pas d'escaliers |",
     "siège ergonomique, pas d'escaliers"),
]

LEFT_ALONE_FORMS = [
    "La ferritine du lot 24B est conforme : 12 ng/mL.",
    "L'augmentation de 3 % du rendement est confirmée.",
    "INSERT INTO stock (id, produit, prix) VALUES (1, 'Gants nitrile', 12.50);",
    "Radiographie des soudures de la cuve : conformes.",
    "Raises in API latency reached 12% on Monday.",
    "Fiche produit\nAllergies : contient du lactose",
    "| Équipement | Aménagement |\n|---|---|\n| Isolateur 3 | nouveau gant |",
    "Run x.shape on the frame, then call s.strip() and np.mean.",
    "[10:14:33] error: connection refused\n[10:14:34] error: retry",
    "Le compte technique est username: qabot, sans MFA.",
    "Copier vers /home/ubuntu/app/ puis relancer le service.",
    "Le thermomètre affiche 25 ° après l'ouverture.",
    "Le code de la SOP est 4 2 1 0 dans l'ancien système ? Non, SOP-QA-0421.",
    "Les 1 200 actions de formation du plan 2025 sont planifiées.",
    "Billets Paris–Milan 148 € et Lyon–Florence 12 % plus chers qu'en mars.",
    # an action item's owner was left out: « - Sydney to host the audit » is a city as often as a person
    "Next steps:\n- Sydney to host the 2026 audit\n- Geneva office to review",
    "Thanks, Team QA will reply.",
]


@pytest.mark.parametrize(("kind", "text", "value"), FOUND_FORMS)
def test_form_is_found(kind, text, value):
    assert covered(text, value, kind), [(f.entity_type, text[f.start:f.end]) for f in inspect([text]).findings]


@pytest.mark.parametrize("text", LEFT_ALONE_FORMS)
def test_form_look_alike_is_left_alone(text):
    findings = inspect([text]).findings
    assert not findings, [(f.entity_type, text[f.start:f.end]) for f in findings]

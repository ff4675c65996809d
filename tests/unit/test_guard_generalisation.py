"""The guard generalises: each rule on values and phrasings written for these tests, and hard look-alikes.

None of these texts comes from a labelled set: they were written from the formats themselves (official
French way types, date formats, provider key prefixes, the NIR's structure) and from the ways people
write about health, names and confidentiality, so that a rule tuned on a set's misses shows here.
"""

from __future__ import annotations

import pytest

from relais.guard import LABELS, inspect
from relais.guard.credentials import _FORMAT_DETECTORS
from relais.guard.engine import get_analyzer

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1y2z3ABCDEF\nabcdefGHIJ12345\n-----END RSA PRIVATE KEY-----"


@pytest.fixture(scope="module", autouse=True)
def loaded_guard():
    return get_analyzer()


def covered(text: str, value: str, kind: str) -> bool:
    """Whether findings of `kind` ("ANY": of any type) cover every letter and digit of `value` in `text`."""
    start = text.index(value)
    spans = [(f.start, f.end) for f in inspect([text]).findings if kind in (f.entity_type, "ANY")]
    return all(any(s <= i < e for s, e in spans) for i in range(start, start + len(value)) if text[i].isalnum())


FOUND = [
    ("DATE_NAISSANCE", "Salarié né le 12/03/1985 à Lyon.", "12/03/1985"),
    ("DATE_NAISSANCE", "Date de naissance : 1985-03-12", "1985-03-12"),
    ("DATE_NAISSANCE", "DDN 12.03.1985, dossier médical à jour.", "12.03.1985"),
    ("DATE_NAISSANCE", "Elle est née le 1er mars 1990.", "1er mars 1990"),
    ("DATE_NAISSANCE", "DOB: March 12, 1985", "March 12, 1985"),
    ("DATE_NAISSANCE", "He was born on 12 March 1985 in Leeds.", "12 March 1985"),
    ("DATE_NAISSANCE", "Née à Marseille le 04/07/79, embauchée en 2010.", "04/07/79"),
    ("DATE_NAISSANCE", "Il est né en 1972.", "1972"),
    ("DATE_NAISSANCE", "Birth date: 1985/03/12", "1985/03/12"),
    ("ADRESSE", "Envoyez le colis au 12 rue des Lilas à Lyon, merci.", "12 rue des Lilas à Lyon"),
    ("ADRESSE", "Il habite 3 bis avenue Jean Jaurès 69007 Lyon.", "3 bis avenue Jean Jaurès 69007 Lyon"),
    (
        "ADRESSE",
        "Nouvelle adresse : Résidence Les Pins, Bât. C, 14 allée des Tilleuls, 33600 Pessac",
        "Résidence Les Pins, Bât. C, 14 allée des Tilleuls, 33600 Pessac",
    ),
    ("ADRESSE", "Courrier à renvoyer : BP 245, 13605 Aix-en-Provence CEDEX 1", "BP 245, 13605 Aix-en-Provence CEDEX 1"),
    ("ADRESSE", "Je loge au 27, boulevard de la Liberté, Lille.", "27, boulevard de la Liberté, Lille"),
    ("ADRESSE", "Elle vit lieu-dit La Croix Blanche, 24200 Sarlat.", "lieu-dit La Croix Blanche, 24200 Sarlat"),
    ("ADRESSE", "Mon ancien appartement 5 impasse du Moulin était humide.", "5 impasse du Moulin"),
    ("ADRESSE", "He lives at 221B Baker Street, London NW1 6XE.", "221B Baker Street, London NW1 6XE"),
    (
        "ADRESSE",
        "Ship it to 1600 Pennsylvania Avenue NW, Washington, DC 20500.",
        "1600 Pennsylvania Avenue NW, Washington, DC 20500",
    ),
    ("ADRESSE", "Seine Wohnung: Hauptstraße 12, 10115 Berlin.", "Hauptstraße 12, 10115 Berlin"),
    ("ADRESSE", "Adresse du fournisseur belge : Rue de la Loi 16, 1000 Bruxelles.", "Rue de la Loi 16, 1000 Bruxelles"),
    ("ADRESSE", "Livraison chez Marc, Bahnhofstrasse 10, 8001 Zürich.", "Bahnhofstrasse 10, 8001 Zürich"),
    ("ADRESSE", "I moved to 42 Elm St., Springfield, IL 62704.", "42 Elm St., Springfield, IL 62704"),
    ("ADRESSE", "domicilié 8 chemin des Vignes 84000 Avignon", "8 chemin des Vignes 84000 Avignon"),
    ("ADRESSE", "Rendez-vous au 10 quai Claude Bernard pour la visite", "10 quai Claude Bernard"),
    ("ADRESSE", "Elle vit rue des Lilas depuis 2019.", "rue des Lilas"),
    ("ADRESSE", "12 rue des lilas 69003 lyon", "12 rue des lilas"),
    ("SANTE", "Mon collègue Paul est en arrêt maladie depuis lundi.", "en arrêt maladie"),
    (
        "SANTE",
        "Sophie est suivie pour une dépression sévère, elle ne viendra pas.",
        "suivie pour une dépression sévère",
    ),
    ("SANTE", "Il a été opéré du genou la semaine dernière.", "opéré du genou"),
    ("SANTE", "Ma manager est enceinte de cinq mois.", "enceinte de cinq mois"),
    ("SANTE", "Le technicien est sous antidépresseurs depuis mars.", "sous antidépresseurs"),
    ("SANTE", "Je suis en congé pathologique jusqu'au 15.", "congé pathologique"),
    ("SANTE", "Karim reprend en mi-temps thérapeutique.", "mi-temps thérapeutique"),
    ("SANTE", "Ma collègue a obtenu sa RQTH l'an dernier.", "RQTH"),
    ("SANTE", "He was diagnosed with type 2 diabetes last year.", "diagnosed with type 2 diabetes"),
    ("SANTE", "My colleague is on sick leave after surgery.", "sick leave"),
    ("SANTE", "She is allergic to penicillin, keep her off that line.", "allergic to penicillin"),
    ("SANTE", "Léa voit un psychologue chaque semaine depuis son burn-out.", "psychologue"),
    ("SANTE", "Mon frère est hospitalisé pour une pneumonie.", "hospitalisé pour une pneumonie"),
    ("SANTE", "Julien suit une rééducation du dos après sa hernie discale.", "rééducation du dos"),
    ("SANTE", "Il est traité contre l'hypertension.", "traité contre l'hypertension"),
    ("SANTE", "Ma collègue est en invalidité catégorie 2.", "invalidité catégorie 2"),
    ("SANTE", "Mme Roux souffre d'une addiction à l'alcool.", "addiction à l'alcool"),
    ("SANTE", "Thomas is in therapy for anxiety.", "therapy for anxiety"),
    ("SANTE", "Notre stagiaire est en arrêt de travail suite à une chute.", "arrêt de travail"),
    ("SANTE", "Je prends du Levothyrox tous les matins.", "Levothyrox"),
    (
        "SECRET",
        "token github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd pour la CI",
        "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd",
    ),
    (
        "SECRET",
        "OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f dans le .env",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f",
    ),
    (
        "SECRET",
        "La clé Stripe de test sk_test_51HxYzAbCdEfGhIjKlMnOpQr traîne dans le wiki.",
        "sk_test_51HxYzAbCdEfGhIjKlMnOpQr",
    ),
    ("SECRET", "rk_live_9aBcDeFgHiJkLmNoPqRsTuVw est la clé restreinte", "rk_live_9aBcDeFgHiJkLmNoPqRsTuVw"),
    (
        "SECRET",
        "Slack: xoxb-2048-4096-AbCdEfGhIjKlMnOpQrStUv posté par erreur",
        "xoxb-2048-4096-AbCdEfGhIjKlMnOpQrStUv",
    ),
    (
        "SECRET",
        "DefaultEndpointsProtocol=https;AccountName=lims;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==;EndpointSuffix=core.windows.net",
        "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==",
    ),
    ("SECRET", "glpat-xY7zAbCdEfGhIjKlMnOp est le jeton GitLab du runner", "glpat-xY7zAbCdEfGhIjKlMnOp"),
    ("SECRET", "Le mot de passe, c'est soleil42 en minuscules.", "soleil42"),
    ("SECRET", "mon mot de passe Windows est désormais Girafe#17", "Girafe#17"),
    ("SECRET", "Pour le LIMS j'utilise le mot de passe Tournesol2025", "Tournesol2025"),
    ("SECRET", "password: hunter2hunter", "hunter2hunter"),
    ("SECRET", "The passphrase is correct-horse-battery-staple9", "correct-horse-battery-staple9"),
    ("SECRET", "mdp du wifi invité = CafeNoir!88", "CafeNoir!88"),
    ("SECRET", "Login admin, pwd Zx81spectrum", "Zx81spectrum"),
    ("SECRET", "postgres://svc_mes:Pa55w0rdMes@db-prod:5432/mes", "Pa55w0rdMes"),
    ("SECRET", "secret: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
    ("SECRET", "Le token d'API du LIMS est 7c1e0f3a9b2d4e6f8a0b1c2d3e4f5a6b", "7c1e0f3a9b2d4e6f8a0b1c2d3e4f5a6b"),
    ("SECRET", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345 est mon token Hugging Face", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"),
    (
        "SECRET",
        "Clé Google Maps : AIzaSyD3x4mpl3K3yF0rT3st1ngPurp0s3s1234 à ne pas committer.",
        "AIzaSyD3x4mpl3K3yF0rT3st1ngPurp0s3s1234",
    ),
    ("SECRET", "J'ai mis Girafe#17 comme mot de passe sur le poste.", "Girafe#17"),
    ("SECRET", "I set Tulip$Garden9 as the password for the vault.", "Tulip$Garden9"),
    ("SECRET", "Il a choisi Lavande2025 pour le mot de passe.", "Lavande2025"),
    ("SECRET", "Le mot de passe a été changé en Ocean!2026 hier.", "Ocean!2026"),
    ("NIR", "Mon numéro de sécu : 1 85 03 75 123 456 41", "1 85 03 75 123 456 41"),
    ("NIR", "NIR 1.85.03.75.123.456.41 à reporter", "1.85.03.75.123.456.41"),
    ("NIR", "Sécurité sociale 1 85 03 75 123 456 clé 41", "1 85 03 75 123 456 clé 41"),
    ("NIR", "N° SS : 185037512345641", "185037512345641"),
    ("NIR", "son numéro 1 85 03 75 123 456 (la clé manque)", "1 85 03 75 123 456"),
    ("NIR", "numéro de sécurité sociale 1850375123456 sans la clé", "1850375123456"),
    ("NIR", "Corse : 2 91 02 2A 004 005 clé 73", "2 91 02 2A 004 005 clé 73"),
    ("PERSONNE", "Bonjour Gwendoline, peux-tu relire le CAPA ?", "Gwendoline"),
    ("PERSONNE", "Demande à Ferhat pour la clé du labo.", "Ferhat"),
    ("PERSONNE", "Dear Siobhan, please find the report attached.", "Siobhan"),
    ("PERSONNE", "Hi Bartholomew, the batch is released.", "Bartholomew"),
    ("PERSONNE", "Cordialement,\nYannick Le Goff", "Yannick Le Goff"),
    ("PERSONNE", "J'ai eu l'info de la part de Mme Kowalczyk ce matin.", "Kowalczyk"),
    ("PERSONNE", "Le stagiaire Anatole Vasseur commence lundi.", "Anatole Vasseur"),
    ("PERSONNE", "Envoie-le à jean-baptiste.moreau@exemple.fr et à Mme Zhang.", "Zhang"),
    ("PERSONNE", "Le rapport a été validé par J. Martin et P.-Y. Lefort.", "J. Martin"),
    ("PERSONNE", "Rencontre avec Jean DUPONT et Aïcha BENSALEM demain.", "Aïcha BENSALEM"),
    ("PERSONNE", "Ma collègue Ingrid Thorsen est absente.", "Ingrid Thorsen"),
    ("PERSONNE", "Pr Delacroix supervise l'étude.", "Delacroix"),
    ("PERSONNE", "Me Fontaine, notre avocate, a envoyé le contrat.", "Fontaine"),
    ("PERSONNE", "Appelle Mlle Nguyen au labo.", "Nguyen"),
    ("PERSONNE", "Chez Martinez, on a reçu les flacons.", "Martinez"),
    ("PERSONNE", "Merci,\nOlwen", "Olwen"),
    (
        "CONFIDENTIEL",
        "Ce document est strictement confidentiel : résultats du T3 avant publication.",
        "Ce document est strictement confidentiel",
    ),
    ("CONFIDENTIEL", "Ne pas diffuser – prévisions de ventes 2027.", "Ne pas diffuser"),
    ("CONFIDENTIEL", "Procédé de granulation (secret industriel) à reformuler.", "secret industriel"),
    ("CONFIDENTIEL", "For internal use only: Q3 margin 41 %.", "internal use only"),
    (
        "CONFIDENTIEL",
        "Ces chiffres sont confidentiels, ne les mets pas dans le rapport public.",
        "Ces chiffres sont confidentiels",
    ),
    ("CONFIDENTIEL", "Résultats sous embargo jusqu'au 12 mai.", "sous embargo"),
    ("CONFIDENTIEL", "Garde ça confidentiel : on rachète le site de Tours.", "confidentiel"),
    ("CONFIDENTIEL", "Keep this confidential until the board meets.", "confidential"),
    ("SECRET", f"clé de déploiement :\n{PEM}\nfin", "MIIEowIBAAKCAQEAx1y2z3ABCDEF\nabcdefGHIJ12345"),
]
FOUND += [
    ("PERSONNE", "Rose Marchal (rose.marchal@exemple.fr) a validé le lot.", "Rose Marchal"),
    ("PERSONNE", "Réponse de Moreau ce matin, cf. jean-baptiste.moreau@exemple.fr", "Moreau"),
    ("PERSONNE", "La stagiaire Maëlys Guérin arrive lundi.", "Maëlys Guérin"),
    ("PERSONNE", "Our contractor Oluwaseun Adebayo needs badge access.", "Oluwaseun Adebayo"),
    ("PERSONNE", "De : Ferhat Ouali\nObjet : relance CAPA", "Ferhat Ouali"),
    ("PERSONNE", "To: Siobhan Kelly", "Siobhan Kelly"),
]
FOUND += [
    ("SECRET", 'password: "sunflower"', "sunflower"),
    ("SECRET", "mdp : « tournesol » pour le wifi", "tournesol"),
    ("SECRET", "Lien SAS : https://lims.blob.core.windows.net/x?sv=2022&sig=AbCdEf0123456789GhIjKl%2B",
     "AbCdEf0123456789GhIjKl%2B"),
]
FOUND += [
    ("SANTE", 'Nadia a fait une fausse couche le mois dernier, elle revient lundi.', 'fausse couche'),
    ("SANTE", 'Mon chef a un cancer de la prostate.', 'cancer de la prostate'),
    ("SANTE", 'Pierre est diabétique insulino-dépendant.', 'diabétique insulino-dépendant'),
    ("SANTE", 'Je suis sous traitement pour mon cholestérol.', 'sous traitement pour mon cholestérol'),
    ("SANTE", 'Elle a été opérée de la thyroïde en mai.', 'opérée de la thyroïde'),
    ("SANTE", 'Le salarié M. Petit souffre de troubles musculo-squelettiques.', 'troubles musculo-squelettiques'),
    ("SANTE", 'My manager has been off with long COVID since March.', 'long COVID'),
    ("SANTE", 'Our analyst Priya is undergoing chemotherapy.', 'chemotherapy'),
    ("SANTE", 'Mon collègue est en cure de désintoxication.', 'cure de désintoxication'),
    ("SANTE", "Ma collègue est atteinte d'une sclérose en plaques.", "atteinte d'une sclérose en plaques"),
    ("SANTE", "Julie est sourde d'une oreille, prévois un casque adapté.", 'sourde'),
    ("SANTE", 'Le technicien a fait un malaise cardiaque sur la ligne 2.', 'malaise cardiaque'),
    ("SANTE", 'Mon fils est autiste, je dois partir à 16h.', 'autiste'),
]
LEFT_ALONE = [
    "Mon mot de passe est expiré.",
    "Le mot de passe est obligatoire.",
    "The password is required.",
    "Le mot de passe est personnel.",
    "Password: required.",
    "Azure me dit que la signature est invalide, je relance le script.",
    "conn = connect(user=user, password=password)",
    "Le mot de passe est: password.",
    "Le chapitre A. ORIENTATIONS GÉNÉRALES rappelle les principes.",
    "Le responsable Qualité valide le dossier.",
    "Le directeur Général signe le rapport annuel.",
    "La pharmacienne Responsable libère le lot.",
    "De : Direction Qualité\nObjet : audit",
    "Le manager Production a confirmé.",
    "Âgé de 42 ans, il travaille au conditionnement.",
    "Lot fabriqué le 12/03/2025, péremption 12/03/2027.",
    "La naissance du projet date de 2019.",
    "Date de fabrication : 2025-03-12.",
    "La route de 12 km a été fermée ; 3 avenants au contrat.",
    "Le lot 69003 Lyon a été libéré.",
    "Ajouter 2 voies de perfusion et 10 places de parking.",
    "La salle 3 du bâtiment B est en travaux.",
    "Le chapitre 4 cours de validation commence lundi.",
    "Il est passé par la Place de la République avec les échantillons.",
    "Le comité se réunit au bâtiment 4, salle Pasteur.",
    "Ajustez le BP 2 de la pompe.",
    "La température à 25 °C, Lyon.",
    "Le patient reçoit la dose selon la procédure de randomisation.",
    "Le traitement des déviations suit la procédure QA-012.",
    "Le traitement thermique des pièces est validé à 121 °C.",
    "Le lot de Doliprane 1000 mg est libéré par la personne qualifiée.",
    "La procédure d'arrêt de la ligne est décrite au chapitre 5.",
    "Les opérations de nettoyage sont suivies pour chaque lot.",
    "Ce médicament est indiqué dans le traitement de l'hypertension artérielle.",
    "La ligne est sous surveillance renforcée depuis l'audit.",
    "Le congé maternité est régi par le Code du travail, article L1225-17.",
    "Quelle est la durée du mi-temps thérapeutique selon la convention collective ?",
    "Le mot de passe doit contenir au moins 12 caractères.",
    "Changez votre mot de passe tous les 90 jours selon la politique SI.",
    "Le token est stocké dans le coffre HashiCorp Vault.",
    "La clé API se configure dans le fichier de paramètres.",
    "Le secret professionnel s'applique aux pharmaciens.",
    "The password policy requires MFA for all accounts.",
    "Référence du lot : AB12-CD34-EF56, numéro de série SN-2025-0042.",
    "Le code article 4012-7781 est obsolète.",
    "Utilisez l'annexe 15 comme mot de passe conceptuel.",
    "Le code EAN 4006381333931 du carton est illisible.",
    "Lot 1850375123456 libéré.",
    "La référence 1 85 03 75 123 456 99 est erronée.",
    "Bonjour à tous, la revue qualité est demain.",
    "Bonjour, pouvez-vous me rappeler la règle de l'Annexe 1 ?",
    "Dear Sir or Madam, please find the certificate attached.",
    "Hi team, the CAPA is closed.",
    "Cordialement,\nL'équipe Qualité",
    "Chez Sanofi, les lots sont libérés par la PQ.",
    "La méthode de Karl Fischer est validée.",
    "Le Dr. a signé. Pr. Annexe 15 s'applique.",
    "Le BPF chapitre 4 et la norme ISO 9001 s'appliquent.",
    "Qu'est-ce que le secret industriel selon le code de la propriété intellectuelle ?",
    "Quelles données sont confidentielles dans un dossier de lot ?",
    "Rédige une clause de confidentialité pour un contrat de sous-traitance.",
    "Il ne faut pas diffuser de documents non approuvés : que dit le chapitre 4 ?",
    "Ne pas diffuser les versions obsolètes : comment gérer la documentation ?",
    "Comment garder confidentielles les données des patients ?",
    "Je dois arrêter la ligne 3 avant la fin de la campagne.",
    "J'ai besoin de la procédure d'allergènes pour la zone de pesée.",
    "Mon équipe gère la thérapie génique en sous-traitance.",
    "Je cherche le protocole de l'étude sur l'anxiété chez l'adulte.",
    "Il est traité selon la procédure de gestion des déchets.",
    "Elle est suivie par le service qualité pour chaque lot.",
    "Notre site fabrique des traitements contre l'hypertension.",
    "Je rédige le RCP : contre-indiqué en cas d'allergie au principe actif.",
    "Can you summarise the surgery section of the annex?",
    "My task is to review the allergen cleaning validation.",
]


@pytest.mark.parametrize(("kind", "text", "value"), FOUND, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(FOUND)])
def test_value_is_found_with_its_type(kind, text, value):
    assert covered(text, value, kind), [(f.entity_type, text[f.start : f.end]) for f in inspect([text]).findings]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_look_alike_is_left_alone(text):
    assert inspect([text]).is_clean, [(f.entity_type, text[f.start : f.end]) for f in inspect([text]).findings]


def test_every_detect_secrets_detector_runs_but_ip_addresses_and_entropy():
    import pkgutil

    import detect_secrets.plugins as plugins

    modules = {m.name for m in pkgutil.iter_modules(plugins.__path__)} - {
        "base",
        "keyword",
        "ip_public",
        "high_entropy_strings",
    }
    running = {type(detector).__module__.rsplit(".", 1)[-1] for detector in _FORMAT_DETECTORS}
    assert running == modules


def test_a_date_of_birth_has_its_french_label():
    report = inspect(["Date de naissance : 12/03/1985"])
    assert report.counts() == {"DATE_NAISSANCE": 1}
    assert "date de naissance" in report.summary() and LABELS["DATE_NAISSANCE"] == "date de naissance"

"""Round 25 of the guard: a card's security code and an expiry said apart from its number; an Authorization header's
credentials, an Azure connection string's account key; two clauses of one condition joined, a sick note in English,
an ITT, sudden death, polyps, « until further notice » no leaflet; pay spread over 13 months or « for the day »; a
workshop's stop with its jobs, a face price, a capital increase by private placement, a figure « à ne pas
mentionner »; a marking's label in capitals. Left alone: public test card numbers in a config, a model clause's
example amount, a record « signed off for release », a trial's ITT population.

The forms come from blind28's misses and flagged clean rows (tuning data since its measurement, after round 24), but
every value and sentence here was written anew, in another wording, so that a rule fitted to one row would fail.
"""

from __future__ import annotations

# the guard loaded once per module, and what « caught » means: as in round 9's tests
from tests.unit.test_guard_round9 import loaded_guard, rule_tests  # noqa: F401

# Each look-alike must stay clean: nothing at all found in it.
LEFT_ALONE = [
    # the payment provider's public test numbers, in an identifier that says so
    "Why does the sandbox reject this?\nSANDBOX_CARD_OK=4000 0000 0000 0077\nTEST_CARD_3DS=4242 4242 4242 4242",
    # a model clause's example amount
    "Reformule la clause type : le Client paiera une redevance annuelle de [MONTANT] € (par exemple 25 000 €).",
    # a record approved, not a person off sick
    "Summarise: the deviation report was signed off for closure by QA after the CAPA review.",
    # a trial's intention-to-treat population, no incapacity
    "Explique la différence entre l'analyse ITT et l'analyse per protocole dans un essai de phase III.",
    # a header named, no credentials
    "Pourquoi l'API répond 401 alors que j'envoie bien l'en-tête Authorization: Bearer <votre_jeton> ?",
]

FOUND = [
    # a card's security code after its expiry, an expiry said on another line
    ("CARTE_BANCAIRE", "Chat : ma carte 4532 0151 1283 0366, exp 11/27, code 512, merci de débiter 90 €.", "512"),
    ("CARTE_BANCAIRE", "Paiement : 5425 2334 3010 9903\nPorteur : Maëlle Kerbrat, date d'expiration 03/28", "03/28"),
    ("CARTE_BANCAIRE", "Règle la note avec la carte 4716 1089 9971 6531 (CVV : 884) avant vendredi.", "884"),
    # an HTTP header's credentials, an Azure account key's whole connection string
    ("SECRET", "Trace : GET /api/v2/lots -> 403 | Authorization: Basic bWVzX3JlYWRlcjpUdWxpcGUhMjAyNQ== | gzip",
     "Basic bWVzX3JlYWRlcjpUdWxpcGUhMjAyNQ=="),
    ("SECRET", 'storage = "DefaultEndpointsProtocol=https;AccountName=qclims;AccountKey=Zx81kLmQ0pRt6vWy2Ab4Cd9Ef'
               'Gh3Ij7KlMn5Op==;EndpointSuffix=core.windows.net"',
     "DefaultEndpointsProtocol=https;AccountName=qclims;AccountKey=Zx81kLmQ0pRt6vWy2Ab4Cd9EfGh3Ij7KlMn5Op==;"
     "EndpointSuffix=core.windows.net"),
    # two clauses of one condition, a sick note in English, an ITT, sudden death, polyps
    ("SANTE", "Préviens l'équipe que Gaëtan Morel est absent, il a une sinusite et il est sous antibio jusqu'à lundi.",
     "il a une sinusite et il est sous antibio"),
    ("SANTE", "HR note: Priya Natarajan was signed off for three weeks after the incident.",
     "signed off for three weeks"),
    ("SANTE", "Rapport d'agression : M. Karim Benali, contusions au visage, ITT de 8 jours selon le certificat.",
     "ITT de 8 jours"),
    ("SANTE", "Narratif : Mme Odette Lanvin, 81 ans, retrouvée à domicile, mort subite suspectée par le SAMU.",
     "mort subite"),
    ("SANTE", "Mail à reformuler : Bastien Fleury rentre lundi, on lui a retiré deux polypes vendredi.", "polypes"),
    ("SANTE", "Ops update: Lorna Beattie is off until further notice, she had a stroke on Tuesday.",
     "she had a stroke on Tuesday"),
    # pay spread over 13 months, a fee for the day
    ("SALAIRE", "Offre pour Mme Chloé Besson : 3 100 € bruts mensuels sur 13 mois, prise de poste le 2 mars.",
     "3 100 € bruts mensuels sur 13 mois"),
    ("SALAIRE", "Candidat Tomás Ferreira : 52 k€ brut + 13e mois actuellement.", "52 k€ brut + 13e mois"),
    ("SALAIRE", "Dr Ingrid Solberg agreed to chair the panel, €2,400 for the day plus expenses.", "€2,400 for the day"),
    # a workshop's stop with its jobs, a face price, a private placement, a figure kept out of the mail
    ("CONFIDENTIEL", "Compte rendu : la direction prévoit l'arrêt de la ligne de remplissage B avec la suppression de "
                     "58 postes.",
     "la direction prévoit l'arrêt de la ligne de remplissage B avec la suppression de 58 postes"),
    ("CONFIDENTIEL", "Synthèse négociation : prix facial demandé pour Oxarel 50 mg : 412 € la boîte de 30.",
     "prix facial demandé pour Oxarel 50 mg : 412 € la boîte de 30"),
    ("CONFIDENTIEL", "Board minutes: approve a private placement of about €95m with two funds next month.",
     "approve a private placement of about €95m with two funds next month"),
    ("CONFIDENTIEL", "Pour toi seulement, à ne pas mentionner au client : notre marge sur ce lot est de 38 %.",
     "notre marge sur ce lot est de 38 %"),
    # a marking's whole label in capitals
    ("CONFIDENTIEL", "Liste RH – Projet Orme – NOTE CONFIDENTIELLE, NE PAS PHOTOCOPIER\nÀ trier par site.",
     "NOTE CONFIDENTIELLE, NE PAS PHOTOCOPIER"),
]

# each look-alike left alone, each value found, by the rules alone
test_look_alike_is_left_alone, test_value_is_found = rule_tests(LEFT_ALONE, FOUND)

"""English GMP terms to their French equivalents, so BM25 can search the French guide for an English question.

No translation model ships offline; a fixed bilingual GMP vocabulary (EU GMP guide terminology, not the
questions of any dataset) turns "out of calibration" into "étalonnage" for the lexical side only.
"""

from __future__ import annotations

import re

# Longer phrases first: they win over their single words.
GMP_TERMS_EN_FR: dict[str, str] = {
    "active substance": "substance active", "active pharmaceutical ingredient": "substance active",
    "advanced therapy": "thérapie innovante", "audit trail": "traçabilité des modifications",
    "batch record": "dossier de lot", "batch release": "libération des lots", "certification": "certification",
    "change control": "maîtrise des changements", "clean room": "zone d'atmosphère contrôlée",
    "cleaning validation": "validation du nettoyage", "computerised system": "système informatisé",
    "computerized system": "système informatisé", "contract manufacturer": "fabricant sous contrat",
    "cross contamination": "contamination croisée", "cross-contamination": "contamination croisée",
    "electronic signature": "signature électronique", "expiry date": "date de péremption",
    "finished product": "produit fini", "good manufacturing practice": "bonnes pratiques de fabrication",
    "in-process control": "contrôle en cours de procédé",
    "marketing authorisation": "autorisation de mise sur le marché", "medicinal product": "médicament",
    "out of specification": "hors spécifications", "outsourced activities": "activités externalisées",
    "packaging material": "article de conditionnement", "qualified person": "personne qualifiée",
    "quality control": "contrôle de la qualité", "quality risk management": "gestion du risque qualité",
    "quality unit": "unité qualité", "raw material": "matière première",
    "reference sample": "échantillon de référence", "retention sample": "échantillon modèle",
    "self inspection": "auto-inspection", "self-inspection": "auto-inspection",
    "starting material": "matière première de départ", "transport": "transport", "annex": "annexe",
    "archiving": "archivage", "backup": "sauvegarde", "batch": "lot", "blending": "mélange",
    "calibration": "étalonnage", "cell": "cellules", "cleaning": "nettoyage", "complaint": "réclamation",
    "complaints": "réclamations", "contamination": "contamination", "data": "données", "deviation": "déviation écart",
    "deviations": "déviations écarts", "equipment": "équipement", "instrument": "instrument", "label": "étiquette",
    "labelling": "étiquetage", "migration": "migration", "packaging": "conditionnement", "premises": "locaux",
    "recall": "rappel", "records": "enregistrements", "release": "libération", "reprocessing": "retraitement",
    "returned": "retour", "sampling": "échantillonnage", "security": "sécurité", "shipment": "expédition",
    "specification": "spécification", "stability": "stabilité", "sterile": "stérile",
    "sterilisation": "stérilisation", "storage": "stockage", "supplier": "fournisseur", "tissue": "tissus",
    "training": "formation", "validation": "validation", "water": "eau", "yield": "rendement",
}
_PATTERN = re.compile(r"\b(" + "|".join(re.escape(term) for term in sorted(GMP_TERMS_EN_FR, key=len, reverse=True))
                      + r")\b", re.IGNORECASE)


def french_terms(english_query: str) -> str:
    """The French equivalents of the GMP terms found in an English question ("" when none)."""
    return " ".join(GMP_TERMS_EN_FR[match.group(1).lower()] for match in _PATTERN.finditer(english_query))

"""French search terms for an English question, so BM25 can search the French guide lexically.

No translation model ships offline. The GMP glossary (knowledge/glossary/bpf-fr-en.csv, the one the
translation agent enforces) gives the French of every GMP term it holds, with its variants: "batch
release" becomes "libération des lots libération de lot". The few everyday words below are not
glossary material (nobody needs "water" enforced in a translation) but carry a question's subject
when BM25 looks for it in French; the last two are GMP phrases the guide words differently from the
glossary's preferred translation.
"""

from __future__ import annotations

import re

EVERYDAY_TERMS_EN_FR: dict[str, str] = {
    "advanced therapy": "thérapie innovante", "annex": "annexe", "blending": "mélange", "cell": "cellules",
    "certification": "certification", "contamination": "contamination", "data": "données",
    "in-process control": "contrôle en cours de procédé", "instrument": "instrument", "migration": "migration",
    "packaging": "conditionnement", "quality unit": "unité qualité", "reprocessing": "retraitement",
    "returned": "retour", "security": "sécurité", "shipment": "expédition", "sterile": "stérile",
    "sterilisation": "stérilisation", "storage": "stockage", "supplier": "fournisseur", "tissue": "tissus",
    "validation": "validation", "water": "eau",
    "audit trail": "traçabilité des modifications", "contract manufacturer": "fabricant sous contrat",
}
_PATTERN = re.compile(r"\b(" + "|".join(re.escape(term) for term in sorted(EVERYDAY_TERMS_EN_FR, key=len, reverse=True))
                      + r")\b", re.IGNORECASE)


def french_terms(english_query: str) -> str:
    """French words for the GMP and everyday terms of an English question ("" when none is known)."""
    from tools.glossary import find_terms

    glossary = [french for _written, entry in find_terms(english_query, "en-fr")
                for french in (entry.fr, *entry.fr_variants)]
    everyday = [EVERYDAY_TERMS_EN_FR[match.group(1).lower()] for match in _PATTERN.finditer(english_query)]
    return " ".join([*glossary, *everyday])  # a term asked about twice weighs twice, as in the question

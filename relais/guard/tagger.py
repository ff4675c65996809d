"""A learned sequence tagger beside the guard's rules: a CRF over words, trained on the planted sets.

Thirteen rounds of rules each lifted the set they were tuned on and barely moved the next blind set (78-87 % of
planted values caught): every writer brings new forms. The router had the same plateau and was fixed by learning
from the former hold-outs (graphs/router/classifier.py); the guard does the same here. A linear-chain CRF
(CRFsuite, `python-crfsuite`) reads each word's form (lower case, shape, prefixes and suffixes, digits and
punctuation), its neighbours (±2) and cheap flags from the guard's own lexicons (first names, health words, pay
words, secret and birth keywords, months, currencies), and tags words B-/I-<category> or O. Its spans are added to
the rules' findings (a union): a value either finds is masked.

Training data: the planted sets listed in `TRAINING_SETS`, read from evaluation/datasets (never copied). Every
occurrence of a planted value is labelled, but a business secret's content (markings only, see `learnable`); clean
rows are all O. Training takes tens of seconds, so the model is cached on disk (beside the embedding cache) under a
hash of the training files, the word lists and this file: a change to any of them trains anew, otherwise the process
loads the file. Built lazily and thread-safely on first use, as the engine is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DATASETS_DIR = ROOT / "evaluation" / "datasets"
# Training data: the former hold-outs and tuning sets of the guard, each written by a writer who never saw the
# guard's code, each measured before it was tuned on. A NEW HOLD-OUT IS NEVER ADDED HERE BEFORE ITS ONE
# MEASUREMENT: once it is training data it measures nothing. guard_labelled.jsonl lists the types of its sensitive
# rows, not their values: only its clean rows are read (all O).
TRAINING_SETS: tuple[str, ...] = (
    "guard_labelled.jsonl",
    "guard_planted_tuning.jsonl",
    "guard_planted_test.jsonl",
    "guard_planted_test2.jsonl",
    "guard_planted_blind3.jsonl",
    "guard_planted_blind4.jsonl",
    "guard_planted_blind5.jsonl",
    "guard_planted_blind6.jsonl",
    "guard_planted_blind7.jsonl",
    "guard_planted_blind8.jsonl",
    "guard_planted_blind9.jsonl",
    "guard_planted_blind10.jsonl",
    "guard_planted_blind11.jsonl",
    "guard_planted_blind12.jsonl",
    "guard_planted_blind13.jsonl",
    "guard_planted_blind14.jsonl",
    "guard_planted_blind15.jsonl",
    "guard_planted_blind16.jsonl",
    "guard_planted_blind17.jsonl",
    "guard_planted_blind18.jsonl",
    "guard_planted_blind19.jsonl",
    "guard_planted_blind20.jsonl",
    "guard_planted_blind21.jsonl",
    "guard_planted_blind22.jsonl",
    "guard_planted_blind23.jsonl",
    "guard_planted_blind24.jsonl",
    "guard_planted_blind25.jsonl",
    "guard_planted_blind26.jsonl",
    "guard_planted_blind27.jsonl",
    "guard_planted_blind28.jsonl",
    "guard_planted_blind29.jsonl",
)
OUTSIDE = "O"
# A document marking, not a value that can be masked. Defined here, where the engine, which imports this module,
# takes it from (policy.py reads it from the engine).
MARKING = "CONFIDENTIEL"
# A word is part of a value when the tagger's marginal probability that it is not O reaches this.
THRESHOLD = 0.1
LOWEST_THRESHOLD = 0.1  # the lowest threshold tried (benchmarks/guard_sets.py): below it no category is computed
# Below the rules' scores (0.8-0.95): where a rule and the tagger overlap, the rule's type wins (engine).
SCORE = 0.6
TRAINING_PARAMS = {"c1": 0.05, "c2": 0.01, "max_iterations": 150, "feature.possible_transitions": True}
WORD = re.compile(r"\w+|[^\w\s]")
WINDOW = 2  # neighbouring words read on each side


def tokens(text: str) -> list[tuple[int, int]]:
    """Where each word and each other non-blank character is, as (start, end)."""
    return [match.span() for match in WORD.finditer(text)]


def occurrences(text: str, value: str) -> list[tuple[int, int]]:
    """Every (start, end) where `value` appears verbatim in `text`."""
    spans, position = [], text.find(value)
    while position != -1:
        spans.append((position, position + len(value)))
        position = text.find(value, position + 1)
    return spans


def bio_labels(text: str, planted: Iterable[dict], spans: Sequence[tuple[int, int]] | None = None) -> list[str]:
    """B-/I-<category> for the words of every occurrence of every planted value, O elsewhere.

    A word that overlaps an occurrence is part of it (a value cut inside a word takes the whole word); a value
    that comes first keeps its words when two values overlap.
    """
    spans = tokens(text) if spans is None else spans
    labels = [OUTSIDE] * len(spans)
    for item in planted:
        for start, end in occurrences(text, item["value"]):
            inside = [i for i, (s, e) in enumerate(spans) if s < end and start < e and labels[i] == OUTSIDE]
            for rank, i in enumerate(inside):
                labels[i] = ("B-" if rank == 0 else "I-") + item["category"]
    return labels


# ---------------------------------------------------------------------------------------------
# Features.


def _shape(word: str) -> str:
    """Xx, dd, x.x: each character's class, runs of one class cut to two."""
    classes: list[str] = []
    for char in word:
        kind = "X" if char.isupper() else "x" if char.isalpha() else "d" if char.isdigit() else char
        if len(classes) < 2 or classes[-1] != kind or classes[-2] != kind:
            classes.append(kind)
    return "".join(classes[:8])


class Lexicons:
    """The guard's word resources, as one flag name per matching word (cheap: looked up once per word)."""

    def __init__(self) -> None:
        from relais.guard.lexicon import common_words, world_first_names
        from relais.guard.recognizers import read_word_list

        self.first_names = world_first_names() | read_word_list("prenoms.txt") | read_word_list("prenoms_ambigus.txt")
        self.common = common_words()
        health = {word.lower() for term in read_word_list("sante.txt") for word in WORD.findall(term)}
        self.health = frozenset(word for word in health if len(word) > 3 and word not in self.common)
        self.patterns = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in _lexicon_patterns())

    def flags(self, word: str) -> list[str]:
        """The lexicons `word` belongs to."""
        lower = word.lower()
        found = [name for name, pattern in self.patterns if pattern.fullmatch(lower)]
        if word in self.first_names or (word.isupper() and word.capitalize() in self.first_names):
            found.append("first")
        if lower in self.health:
            found.append("health")
        if lower in self.common:
            found.append("common")
        return found


def _lexicon_patterns() -> tuple[tuple[str, str], ...]:
    """The guard's keyword patterns a word is matched against whole (pay words, currencies, secrets, births...)."""
    from relais.guard import birth_dates, credentials, salaries
    from relais.guard.recognizers import TITLES

    return (
        ("pay", salaries.PAY_WORDS.pattern.replace(r"(?i:", "(?:")),
        ("cur", rf"(?:{salaries.CURRENCY})"),
        ("key", rf"(?:{credentials.PIN_WORDS}|{credentials.SECRET_WORDS})"),
        ("birth", rf"(?:{birth_dates.BIRTH_WORDS})"),
        ("month", birth_dates.MONTH),
        ("title", rf"(?:{TITLES})"),
        ("med", r".{3,}(?:ite|ites|itis|ose|oses|osis|ome|omes|oma|algie|pathie|pathy|émie|emia|"
                r"ectomie|ectomy|thérapie|therapy|scopie|scopy|pénie|penia|plégie|plegia)"),
    )


@lru_cache(maxsize=1)
def lexicons() -> Lexicons:
    """The process-wide lexicons (Faker's first names take seconds to load)."""
    return Lexicons()


# Flags whose presence anywhere in a window around a word is read too (a pay word a few words before an amount).
_WINDOW_FLAGS = {"pay": (-8, 4), "cur": (-3, 3), "key": (-6, 0), "birth": (-6, 0), "health": (-6, 6),
                 "med": (-6, 6), "first": (-3, 3), "title": (-3, 0)}


_OFFSETS = (-2, -1, 1, 2)


@lru_cache(maxsize=200_000)
def word_features(word: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """A word's own features, what each neighbour (-2, -1, +1, +2) reads of it, and its lexicon flags (cached)."""
    lower = word.lower()
    shape = _shape(word)
    flags = tuple(lexicons().flags(word))
    own = [f"w={lower}", f"s={shape}", f"p2={lower[:2]}", f"p3={lower[:3]}", f"x2={lower[-2:]}",
           f"x3={lower[-3:]}", f"x4={lower[-4:]}", f"n={min(len(word), 12)}"]
    if any(char.isdigit() for char in word):
        digits = sum(char.isdigit() for char in word)
        own.append(f"nd={min(digits, 16)}")
        own.append("mixed" if digits < len(word) else "digits")
    own.extend(f"f={flag}" for flag in flags)
    near = (f"w={lower}", f"s={shape}", *(f"f={flag}" for flag in flags))
    # a tuple, not a set: the features' order must not depend on the process's string hashing (the cache key)
    return tuple(own), tuple(tuple(f"{offset}{feature}" for feature in near) for offset in _OFFSETS), flags


class FeatureNames(NamedTuple):
    """The features that are no word's: the blank before a word, a missing neighbour, a flag in the window."""

    gaps: tuple  # after a line break, glued to the previous word, after a blank
    edges: tuple  # per neighbour slot (-2, -1, +1, +2), when the sequence has no word there
    near: dict  # per window flag


NAMES = FeatureNames(("nl", "glued", "sp"), tuple((f"{offset}edge",) for offset in _OFFSETS),
                     {flag: f"near={flag}" for flag in _WINDOW_FLAGS})
# The same names as UTF-8 bytes: CRFsuite takes bytes as they are, where it encodes each str anew (`SequenceTagger`).
ENCODED_NAMES = FeatureNames(tuple(name.encode() for name in NAMES.gaps),
                             tuple(tuple(name.encode() for name in edge) for edge in NAMES.edges),
                             {flag: name.encode() for flag, name in NAMES.near.items()})


def sequence_features(text: str, spans: Sequence[tuple[int, int]], words: Callable[[str], tuple] = word_features,
                      names: FeatureNames = NAMES) -> list[list]:
    """The features of every word of `text` (`spans` from `tokens`); `words` gives a word's (cached) features.

    `names` are the features no word gives (`ENCODED_NAMES` beside a `words` that gives bytes).
    """
    cached = [words(text[start:end]) for start, end in spans]
    count = len(cached)
    near = _window_flags(cached, names.near)
    no_left, no_left1, no_right1, no_right = names.edges
    newline, glued, blank = names.gaps
    features = []
    previous_end = None
    for i, (start, end) in enumerate(spans):
        row = list(cached[i][0])
        gap = text[previous_end:start] if previous_end is not None else "\n"  # the first word: as after a break
        row.append(newline if "\n" in gap else blank if gap else glued)
        previous_end = end
        # what each neighbour (-2, -1, +1, +2) reads of it, or an edge: one statement a slot, no loop (a hot path)
        row.extend(cached[i - 2][1][0] if i >= 2 else no_left)
        row.extend(cached[i - 1][1][1] if i >= 1 else no_left1)
        row.extend(cached[i + 1][1][2] if i + 1 < count else no_right1)
        row.extend(cached[i + 2][1][3] if i + 2 < count else no_right)
        if near[i]:
            row.extend(dict.fromkeys(near[i]))
        features.append(row)
    return features


def _window_flags(cached: list[tuple], names: dict) -> list[list]:
    """Each word's window flags: each flag (rare) marks the words whose window holds it, once in a row."""
    count = len(cached)
    near: list[list] = [[] for _ in range(count)]
    for j, entry in enumerate(cached):
        for flag in entry[2]:
            window = _WINDOW_FLAGS.get(flag)
            if window is not None:
                name = names[flag]
                # word i sees the flag at j when i + left <= j <= i + right
                for i in range(max(0, j - window[1]), min(count, j - window[0] + 1)):
                    if not near[i] or near[i][-1] != name:
                        near[i].append(name)
    return near


# ---------------------------------------------------------------------------------------------
# Training, the disk cache and tagging.


def load_rows(names: Iterable[str], folder: Path = DATASETS_DIR) -> list[dict]:
    """The rows of the named sets that have planted values (or are clean): {"text", "planted"}."""
    rows = []
    for name in names:
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if "planted" in row:
                rows.append({"text": row["text"], "planted": [item for item in row["planted"] if learnable(item)]})
            elif not row.get("sensitive", True):  # guard_labelled: its clean rows only
                rows.append({"text": row["text"], "planted": []})
    return rows


# A marking's words (« STRICTEMENT CONFIDENTIEL – NE PAS TRANSFÉRER », « HR EYES ONLY », « Diffusion restreinte »).
_MARKING_WORD = re.compile(r"(?i:confiden|restrein|restrict|intern|eyes\s+only|ne\s+pas\s+(?:diffuser|transf|divulguer|"
                           r"communiquer)|do\s+not\s+(?:distribute|forward|share|circulate)|secret|embargo|privileged|"
                           r"sensitive|sensible|need[\s-]to[\s-]know|diffusion|proprietary|limited\s+distribution)")


def learnable(item: dict) -> bool:
    """Whether the tagger learns a planted value: every one but a business secret told in a sentence.

    Some writers label as CONFIDENTIEL the content of a secret (« partenariat avec Corvane Therapeutics », « volume
    prévu 2026 : 4,2 t »; 79 values, most of them in blind23 to blind26), not only its marking. Word features cannot
    tell an unpublished deal from a published one, and a tagger taught those phrases marked a supplier's name
    (« Fournisseur Biotech SAS »); such sentences are the rules' (business.py). The tagger learns markings.
    """
    return item["category"] != MARKING or bool(_MARKING_WORD.search(item["value"]))


def train(rows: Sequence[dict], path: Path, params: dict | None = None) -> None:
    """Train a CRF on planted rows and write it to `path` (atomically: a reader never sees half a model)."""
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for row in rows:
        spans = tokens(row["text"])
        if spans:
            trainer.append(sequence_features(row["text"], spans), bio_labels(row["text"], row["planted"], spans))
    trainer.set_params({**TRAINING_PARAMS, **(params or {})})
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
    trainer.train(str(partial))
    os.replace(partial, path)


class SequenceTagger:
    """A trained CRF that turns a text into (category, start, end, score) spans."""

    def __init__(self, path: Path, threshold: float = THRESHOLD) -> None:
        import pycrfsuite

        self.path = path
        self.threshold = threshold
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(path))
        self._labels = self._tagger.labels()
        self._categories = [(label, label[2:]) for label in self._labels if label != OUTSIDE]
        self._lock = threading.Lock()  # a CRFsuite tagger holds the sequence being tagged
        # Only the attributes the model weighs are passed to CRFsuite (L1 zeroed the others): a third as many
        # strings to convert per word. Each word's kept features are cached per model, as UTF-8 bytes: CRFsuite
        # encodes every str it is given, a fifth of `set`'s time.
        self._known = frozenset(attribute for attribute, _ in self._tagger.info().state_features)
        self._words: dict[str, tuple] = {}
        # each category with its labels (B- and I-), in the order of the labels: its probability is their sum
        grouped: dict[str, list[str]] = {}
        for label, category in self._categories:
            grouped.setdefault(category, []).append(label)
        self._category_labels = tuple((category, tuple(labels)) for category, labels in grouped.items())

    def _word(self, word: str) -> tuple:
        entry = self._words.get(word)
        if entry is None:
            own, near, flags = word_features(word)
            known = self._known
            entry = (tuple(f.encode() for f in own if f in known),
                     tuple(tuple(f.encode() for f in n if f in known) for n in near), flags)
            if len(self._words) < 200_000:
                self._words[word] = entry
        return entry

    def marginals(self, text: str, *, complete: bool = True) -> tuple[list[tuple[int, int]], list[dict[str, float]]]:
        """The words of `text` and, for each, the probability of each label.

        With `complete=False` (what `spans` asks), a word's categories stop at the one that outweighs all the
        probability left: `decode` reads only P(O) and the likeliest category, which no later one can pass.
        """
        spans = tokens(text)
        if not spans:
            return [], []
        features = sequence_features(text, spans, self._word, ENCODED_NAMES)
        with self._lock:
            self._tagger.set(features)
            marginal = self._tagger.marginal
            # P(O) and, where O is not almost certain, each category's probability (its B- and I- labels summed).
            # Most words: one call instead of one per label. Written as one loop, not a method call a word: a
            # thousand calls of CRFsuite's marginal() a request, the Python around each is what costs.
            categories = self._categories_at if complete else self._likeliest_at
            table = [{OUTSIDE: outside} if 1.0 - outside < LOWEST_THRESHOLD else categories(i, outside)
                     for i, outside in enumerate([marginal(OUTSIDE, i) for i in range(len(spans))])]
        return spans, table

    def _categories_at(self, i: int, outside: float) -> dict[str, float]:
        """P(O) (given) and each category's probability at word `i`, its B- and I- labels summed."""
        marginal = self._tagger.marginal
        probabilities = {OUTSIDE: outside}
        for category, labels in self._category_labels:
            total = 0.0
            for label in labels:
                total += marginal(label, i)
            probabilities[category] = total
        return probabilities

    def _likeliest_at(self, i: int, outside: float) -> dict[str, float]:
        """As `_categories_at`, stopping once a category outweighs what the others left can reach (half the calls).

        The categories' probabilities and P(O) sum to 1; `_ROUNDING` covers CRFsuite's floating-point error (~1e-12)
        many times over, so a later category cannot pass the likeliest one, nor tie it (the first one wins a tie).
        """
        marginal = self._tagger.marginal
        probabilities = {OUTSIDE: outside}
        left, likeliest = 1.0 - outside, 0.0
        for category, labels in self._category_labels:
            total = 0.0
            for label in labels:
                total += marginal(label, i)
            probabilities[category] = total
            left -= total
            likeliest = max(likeliest, total)
            if likeliest > left + _ROUNDING:
                break
        return probabilities

    def spans(self, text: str, thresholds: dict[str, float] | None = None) -> list[tuple[str, int, int, float]]:
        """The values the tagger sees: runs of words of one category whose probability of not being O is enough."""
        spans, table = self.marginals(text, complete=False)
        return decode(text, spans, table, self.threshold, thresholds)


def decode(text: str, spans: Sequence[tuple[int, int]], table: Sequence[dict[str, float]], threshold: float,
           thresholds: dict[str, float] | None = None) -> list[tuple[str, int, int, float]]:
    """Runs of words of one category from per-word probabilities (`SequenceTagger.marginals`: O and each category).

    A category's own threshold wins over `threshold`.
    """
    found: list[tuple[str, int, int, float]] = []
    for (start, end), probabilities in zip(spans, table, strict=True):
        if len(probabilities) == 1:  # O alone: not a value at any threshold
            continue
        category = max((key for key in probabilities if key != OUTSIDE), key=probabilities.__getitem__)
        if 1.0 - probabilities[OUTSIDE] < (thresholds or {}).get(category, threshold):
            continue
        if found and found[-1][0] == category and not text[found[-1][2] : start].strip():
            found[-1] = (category, found[-1][1], end, SCORE)
        else:
            found.append((category, start, end, SCORE))
    found = [_figures_only(text, span) if span[0] == PAY else span for span in found]
    return [(category, start, end, score) for category, start, end, score in found
            if any(char.isalnum() for char in text[start:end])]


PAY = "SALAIRE"
_ROUNDING = 1e-6  # margin on a sum of marginals that should be 1 (SequenceTagger._likeliest_at)
_CURRENCY_BEFORE = re.compile(r"(?:€|\$|£|¥|₹|R\$|\b[A-Z]{3})[^\S\n]?$")
_UNIT_AFTER = re.compile(r"[^\S\n]?(?:[kK]€|[kK]|€|\$|£|¥|₹|%|[A-Z]{3}\b)")


def _figures_only(text: str, span: tuple[str, int, int, float]) -> tuple[str, int, int, float]:
    """A pay's span from its first figure to its last, with the currency or « k » around them.

    As the rules since round 13: « prime de fin d'année de <SALAIRE> » keeps what the model needs. An amount in
    words, with no figure, stays whole.
    """
    category, start, end, score = span
    digits = [i for i in range(start, end) if text[i].isdigit()]
    if not digits:
        return span
    first, last = digits[0], digits[-1] + 1
    before = _CURRENCY_BEFORE.search(text, start, first)
    after = _UNIT_AFTER.match(text, last, end)
    return category, before.start() if before else first, after.end() if after else last, score


def training_digest(names: Iterable[str], folder: Path = DATASETS_DIR, params: dict | None = None) -> str:
    """A hash of what the model depends on: the training files, the features and labels made of them, CRFsuite.

    The training parameters and CRFsuite's version are in it too.

    The code is hashed by its output, not its text: the features and labels of every eighth training row (all the
    lexicons and patterns they read included), so that a faster but identical feature code keeps the model.
    """
    import pycrfsuite

    names = list(names)
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    for row in load_rows(names, folder)[::8]:
        spans = tokens(row["text"])
        digest.update(repr((sequence_features(row["text"], spans), bio_labels(row["text"], row["planted"], spans)))
                      .encode())
    digest.update(json.dumps({**TRAINING_PARAMS, **(params or {})}, sort_keys=True).encode())
    digest.update(str(getattr(pycrfsuite, "__version__", "")).encode())
    return digest.hexdigest()[:24]


def cache_dir(embeddings: Path | None = None) -> Path:
    """Where trained models are kept: beside the embedding cache (RELAIS_EMBEDDING_CACHE_DIR or data_dir/cache).

    Given `embeddings`, beside that folder instead (replicas that share one cache).
    """
    if embeddings is None:
        from relais.settings import get_settings

        settings = get_settings()
        embeddings = settings.embedding_cache_dir or settings.data_dir / "cache" / "embeddings"
    return Path(embeddings).parent / "guard-tagger"


def model_path(names: Sequence[str] = TRAINING_SETS, folder: Path = DATASETS_DIR, cache: Path | None = None,
               params: dict | None = None) -> Path:
    """Where the model trained on the named sets is (or will be) cached: its name is a hash of what it depends on."""
    return (cache or cache_dir()) / f"crf-{training_digest(names, folder, params)}.crfsuite"


def build(names: Sequence[str] = TRAINING_SETS, folder: Path = DATASETS_DIR, cache: Path | None = None,
          params: dict | None = None) -> SequenceTagger:
    """The tagger trained on the named sets: loaded from the disk cache, or trained and cached."""
    path = model_path(names, folder, cache, params)
    if not path.exists():
        logger.info("training the guard's sequence tagger on %d sets (cached in %s)", len(names), path.parent)
        train(load_rows(names, folder), path, params)
    return SequenceTagger(path)


_tagger: SequenceTagger | None = None
_enabled = True  # False inside `turned_off()`; RELAIS_GUARD_TAGGER=off turns it off for good
_tagger_lock = threading.Lock()


def get_tagger() -> SequenceTagger | None:
    """The process-wide tagger, built on first use; None when turned off (RELAIS_GUARD_TAGGER=off, `turned_off()`)."""
    global _tagger
    from relais.settings import get_settings

    if not (_enabled and get_settings().guard_tagger):
        return None
    if _tagger is None:
        with _tagger_lock:
            if _tagger is None:
                _tagger = build()
    return _tagger


@contextmanager
def turned_off() -> Iterator[None]:
    """The rules alone inside the block (benchmarks and tests compare them with the union); the tagger kept."""
    global _enabled
    with _tagger_lock:
        saved, _enabled = _enabled, False
    try:
        yield
    finally:
        with _tagger_lock:
            _enabled = saved


def findings(text: str) -> list[tuple[str, int, int, float]]:
    """The tagger's spans as the engine's findings, markings included (round 15).

    The engine asks only about a request the rules already flagged, so the tagger never decides alone that a
    request may not leave. A marking it sees there keeps the request local instead of redacted (policy.decide),
    the stricter of the two (leave-one-set-out over blind10-18: requests with a planted marking recognised as
    marked 61 -> 62 of 64). The engine keeps the rules' marking where they found one.
    """
    tagger = get_tagger()
    return tagger.spans(text) if tagger is not None else []

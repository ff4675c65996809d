"""Evaluation datasets: JSON Lines of questions, the agent to ask and what a good answer relies on.

A line: `{"id", "question", "agent" (a label or "auto"), "reference"?, "gold"?, "type"?, "structured"?}`.
The shared dev sets are accepted as they are: `text` stands for `question` and `label` for the
expected agent (routing_dev.jsonl); bpf_dev.jsonl lines carry no agent: they are routed (`auto`)
and expected to reach the regulatory agent, since they carry gold references.

Gold references may live in a file of their own next to the dataset, `<name>_gold.jsonl`, keyed by id
(`{"id", "question", "gold", "notes"?}`, bpf_dev's gold format): written apart, by someone else, so
the questions file stays as the study wrote it. `load_dataset` merges it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from relais.labels import LABELS

AUTO = "auto"


class DatasetError(ValueError):
    """A dataset line the runner cannot use; the message names the file and the line."""


@dataclass(frozen=True)
class GoldReference:
    """A paragraph of the GMP guide a correct answer must rely on."""

    part: str
    chapter: str
    paragraph: str
    quote: str = ""


@dataclass(frozen=True)
class EvalItem:
    """One question of a dataset."""

    id: str
    question: str
    agent: str = AUTO  # the agent asked for, or "auto" to let the supervisor route
    expected_agent: str | None = None  # what routing should pick; None when unknown
    reference: str | None = None
    gold: tuple[GoldReference, ...] | None = None  # None: not given; (): the guide does not cover it
    type: str | None = None
    structured: bool = False  # ask for the /bpf structured format
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def unanswerable(self) -> bool:
        """Whether the right answer is to say the guide does not cover the question."""
        return self.type == "unanswerable" or self.gold == ()


def _gold(raw: object, where: str) -> tuple[GoldReference, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise DatasetError(f"{where}: 'gold' must be a list of {{part, chapter, paragraph, quote}}")
    try:
        return tuple(
            GoldReference(str(g["part"]), str(g["chapter"]), str(g["paragraph"]), str(g.get("quote", "")))
            for g in raw
        )
    except (KeyError, TypeError) as error:
        raise DatasetError(f"{where}: a gold reference lacks part, chapter or paragraph ({error})") from None


def _agent(value: object, where: str) -> str:
    agent = str(value or AUTO)
    if agent != AUTO and agent not in LABELS:
        raise DatasetError(f"{where}: unknown agent {agent!r} (expected 'auto' or one of {', '.join(LABELS)})")
    return agent


def parse_item(raw: dict, where: str) -> EvalItem:
    """One dataset line as an `EvalItem`; `where` ("file:line") goes into error messages."""
    question = raw.get("question") or raw.get("text")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: no 'question' (or 'text') string")
    agent = _agent(raw.get("agent"), where)
    expected = raw.get("expected_agent") or raw.get("label") or (agent if agent != AUTO else None)
    if expected is None and "gold" in raw:  # a question graded on GMP references is the regulatory agent's
        expected = "regulatory_analysis"
    if expected is not None:
        expected = _agent(expected, where)
    known = {"id", "question", "text", "agent", "expected_agent", "label", "reference", "gold", "type", "structured"}
    return EvalItem(
        id=str(raw.get("id") or where),
        question=question.strip(),
        agent=agent,
        expected_agent=expected,
        reference=raw.get("reference") or None,
        gold=_gold(raw.get("gold"), where),
        type=raw.get("type"),
        structured=bool(raw.get("structured", False)),
        extra={key: value for key, value in raw.items() if key not in known},
    )


def gold_path(path: Path) -> Path:
    """Where the gold references of a dataset live when they are kept apart: `<name>_gold.jsonl`."""
    path = Path(path)
    return path.with_name(f"{path.stem}_gold{path.suffix}")


def dataset_files(path: Path) -> list[Path]:
    """The files a dataset is read from: itself, and its gold file when there is one."""
    gold = gold_path(path)
    return [Path(path), gold] if gold.is_file() else [Path(path)]


def _json_lines(path: Path) -> list[tuple[str, dict]]:
    """(file:line, object) for each non-blank line."""
    lines = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{where}: not valid JSON ({error.msg}, column {error.colno})") from None
        if not isinstance(raw, dict):
            raise DatasetError(f"{where}: each line must be a JSON object")
        lines.append((where, raw))
    return lines


def merge_gold(items: list[EvalItem], path: Path) -> list[EvalItem]:
    """The items with the gold references of `path` (keyed by id) added; `notes` go to `extra["gold_notes"]`.

    Raises:
        DatasetError: a gold line names an id the dataset lacks, or its question differs from the
            dataset's (the gold was written for another question), or an item already has other gold.
    """
    by_id = {item.id: item for item in items}
    for where, raw in _json_lines(path):
        item = by_id.get(str(raw.get("id")))
        if item is None:
            raise DatasetError(f"{where}: id {raw.get('id')!r} is not a question of the dataset")
        question = raw.get("question")
        if question is not None and " ".join(str(question).split()) != " ".join(item.question.split()):
            raise DatasetError(f"{where}: the question differs from the dataset's {item.id}: {item.question!r}")
        gold = _gold(raw.get("gold"), where)
        if gold is None:
            raise DatasetError(f"{where}: no 'gold' list")
        if item.gold is not None and item.gold != gold:
            raise DatasetError(f"{where}: {item.id} already has other gold references in the dataset")
        extra = {**item.extra, **({"gold_notes": raw["notes"]} if raw.get("notes") else {})}
        by_id[item.id] = replace(item, gold=gold, extra=extra)
    return [by_id[item.id] for item in items]


def load_dataset(path: Path) -> list[EvalItem]:
    """All the questions of a JSON Lines file, blank lines skipped, with its gold file merged (`gold_path`).

    Raises:
        DatasetError: the file is missing, a line is not JSON, lacks a question, names an unknown
            agent, or repeats an id; or the gold file does not match the questions (`merge_gold`).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"dataset {path} not found")
    items = [parse_item(raw, where) for where, raw in _json_lines(path)]
    ids = [item.id for item in items]
    duplicates = sorted({item_id for item_id in ids if ids.count(item_id) > 1})
    if duplicates:
        raise DatasetError(f"{path}: repeated ids {', '.join(duplicates)}")
    if not items:
        raise DatasetError(f"dataset {path} holds no question")
    gold = gold_path(path)
    return merge_gold(items, gold) if gold.is_file() else items

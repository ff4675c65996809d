"""Load JSON files that were published slightly broken, repairing what can be repaired.

The GMP guide's part files carry a stray `]`, a list whose `[` is missing, extra closing brackets.
The repair is a small local search driven by the parser's own error position: try removing one of
the closing brackets just before the error, or inserting the missing `[` after the last key; keep the
candidate that parses or that moves the error furthest. Every repair is reported with the line and
column of the original error; what cannot be repaired is reported too, never dropped silently.

Why not the `json-repair` package (measured with 0.64.6 on the four GMP part files, issue 15): it
parses partie-I alike but changes the other three: partie-II and partie-III come back wrapped in a
top-level list, and in partie-IV the `mots_cles` whose `[` is missing becomes one string (the first
of its 30 keywords), not a list. It reports nothing (no line or column), and it "repairs" text that is not JSON at all
(`{"a": 1, "b": @@@ }` becomes `{"a": 1, "b": ""}`), which the ingest summary must show as broken.
It is about 10x faster (0.03 s against 0.3 s for partie-II), which does not matter at ingest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MAX_REPAIRS = 20
_CLOSERS_TRIED = 6
_LOOKAHEAD = 2


@dataclass(frozen=True)
class Problem:
    """A defect found while loading a source, shown in the ingest summary."""

    file: str
    line: int | None
    column: int | None
    message: str
    repaired: bool

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line is not None else self.file
        status = "repaired" if self.repaired else "NOT repaired"
        return f"{where}: {self.message} ({status})"


def load_json_leniently(path: Path) -> tuple[Any | None, list[Problem]]:
    """Parse a JSON file, repairing known kinds of damage.

    Returns:
        The parsed value (None when the file could not be repaired) and the problems found.
    """
    text = path.read_text(encoding="utf-8-sig")
    problems: list[Problem] = []
    for _ in range(_MAX_REPAIRS):
        try:
            return json.loads(text), problems
        except json.JSONDecodeError as error:
            repaired = _best_candidate(text, error)
            if repaired is None:
                problems.append(Problem(path.name, error.lineno, error.colno, error.msg, repaired=False))
                return None, problems
            text, action = repaired
            problems.append(Problem(path.name, error.lineno, error.colno, f"{error.msg}; {action}", repaired=True))
    problems.append(Problem(path.name, None, None, f"gave up after {_MAX_REPAIRS} repairs", repaired=False))
    return None, problems


def _best_candidate(text: str, error: json.JSONDecodeError) -> tuple[str, str] | None:
    """The edit that gets the parser past the damage with the fewest further edits (searching a few ahead)."""
    best: tuple[tuple[int, int], str, str] | None = None
    for candidate, action, shift in _candidates(text, error.pos):
        score = _edits_to_pass(candidate, error.pos + shift, depth=_LOOKAHEAD)
        if score is not None and (best is None or score < best[0]):
            best = (score, candidate, action)
    return None if best is None else (best[1], best[2])


def _edits_to_pass(text: str, target: int, depth: int) -> tuple[int, int] | None:
    """(further edits needed, -parser progress) to parse beyond `target`; None if `depth` edits do not suffice.

    `target` is where the parser failed before, moved by the length of the edits made since.
    """
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        if error.pos > target:
            return (0, target - error.pos)  # progress measured from the damage, whatever the edits' lengths
        if depth == 0:
            return None
        scores = [_edits_to_pass(candidate, target + shift, depth - 1)
                  for candidate, _, shift in _candidates(text, error.pos)]
        valid = [score for score in scores if score is not None]
        return (min(valid)[0] + 1, min(valid)[1]) if valid else None
    return (0, -len(text))


def _candidates(text: str, position: int):  # noqa: ANN202 - a generator of (text, description, shift)
    closers = [match.start() for match in re.finditer(r"[\]}]", text[:position + 1])]
    for index in reversed(closers[-_CLOSERS_TRIED:]):
        yield text[:index] + text[index + 1:], f"removed a stray {text[index]!r}", -1
    colon = text.rfind('":', 0, position)
    if colon != -1:
        insert_at = colon + 2
        yield text[:insert_at] + " [" + text[insert_at:], "inserted a missing '[' before a list", 2
    yield text[:position] + "," + text[position:], "inserted a missing ','", 1

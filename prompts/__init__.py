"""Prompt texts, one Markdown file per prompt: the only place prompt wording lives."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_FOLDER = Path(__file__).parent


@cache
def load(name: str) -> str:
    """The text of `prompts/<name>.md`, stripped.

    Raises:
        FileNotFoundError: naming the missing prompt file.
    """
    path = _FOLDER / f"{name}.md"
    if not path.is_file():
        raise FileNotFoundError(f"no prompt named {name!r} (expected {path})")
    return path.read_text(encoding="utf-8").strip()


def render(name: str, **values: str) -> str:
    """The prompt `name` with its `{placeholders}` filled in."""
    return load(name).format(**values)

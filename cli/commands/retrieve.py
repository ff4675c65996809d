"""`relais retrieve --collection NAME [--k 5] [--input FILE]`: search a collection, JSON Lines in and out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "search a knowledge collection: reads {id, question} lines, prints {id, results} lines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--collection", required=True, help="collection name, e.g. bpf")
    parser.add_argument("--k", type=int, default=5, help="results per question (default 5)")
    parser.add_argument("--input", type=Path, default=None, help="JSON Lines file (default: stdin)")


def run(args: argparse.Namespace) -> int:
    """Answer each input line with its best chunks, in input order."""
    from cli.main import UserError
    from retrievers.search import CollectionNotFound, search
    from retrievers.store import CollectionOutdated

    if args.k < 1:
        raise UserError("--k must be at least 1")
    lines = _read_lines(args.input)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        request = _parse(line, number)
        try:
            hits = search(args.collection, request["question"], k=args.k)
        except (CollectionNotFound, CollectionOutdated, ConnectionError) as error:  # the last: Chroma server
            raise UserError(str(error)) from error
        results = [{"text": hit.text, "score": hit.score, "metadata": hit.metadata} for hit in hits]
        print(json.dumps({"id": request.get("id"), "results": results}, ensure_ascii=False), flush=True)
    return 0


def _read_lines(path: Path | None) -> list[str]:
    from cli.main import UserError

    if path is None:
        return sys.stdin.read().splitlines()
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UserError(f"cannot read --input {path}: {error.strerror or error}") from error


def _parse(line: str, number: int) -> dict:
    from cli.main import UserError

    try:
        request = json.loads(line)
    except json.JSONDecodeError as error:
        raise UserError(f"input line {number} is not JSON: {error.msg}") from error
    if not isinstance(request, dict) or not isinstance(request.get("question"), str):
        raise UserError(f'input line {number} must be an object with a "question" string')
    return request

"""`relais route`: label requests (JSON Lines in, JSON Lines out) with the local router."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cli.main import UserError

if TYPE_CHECKING:  # the router loads scikit-learn and embeddings: only when the command runs
    from graphs.router.classifier import LocalRouter, RouteDecision

    Decide = Callable[[str], RouteDecision]

HELP = "Label requests read as JSON Lines {id, text}; prints {id, label, confidence, method} per line."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `relais route`."""
    parser.add_argument("--input", type=Path, help="JSON Lines file of {\"id\", \"text\"} (default: stdin)")
    parser.add_argument(
        "--with-model",
        action="store_true",
        help="CALLS A CHAT MODEL (the 'router' role) for requests the local router is unsure about; "
        "without this flag no model is ever called",
    )


def run(args: argparse.Namespace) -> int:
    """Answer every well-formed line; report malformed ones on stderr and exit 1 at the end."""
    if args.input is not None and not args.input.is_file():
        raise UserError(f"input file not found: {args.input}")
    from graphs.router.classifier import get_router

    router = get_router()
    decide = _model_decider(router) if args.with_model else router.decide
    if args.input is None:
        return _route_lines(sys.stdin.buffer, decide, sys.stdout)
    with args.input.open("rb") as lines:
        return _route_lines(lines, decide, sys.stdout)


def _route_lines(lines: Iterable[bytes], decide: Decide, out: TextIO) -> int:
    failures = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            request_id, text = _parse_request(raw)
        except ValueError as error:
            failures += 1
            print(f"relais route: line {number}: {error}", file=sys.stderr)
            continue
        decision = decide(text)
        answer = {"id": request_id, "label": decision.label, "confidence": round(decision.confidence, 4),
                  "method": decision.method}
        print(json.dumps(answer, ensure_ascii=False), file=out, flush=True)
    return 1 if failures else 0


def _parse_request(raw: bytes) -> tuple[object, str]:
    try:
        line = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 text (byte {error.start})") from None
    try:
        request = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(request, dict):
        raise ValueError('expected a JSON object {"id": ..., "text": ...}')
    if "id" not in request:
        raise ValueError('missing "id"')
    if not isinstance(request.get("text"), str):
        raise ValueError('"text" must be a string')
    return request["id"], request["text"]


def _model_decider(router: LocalRouter) -> Decide:
    """The supervisor's rule: the local decision, or the router model's below the threshold."""
    from graphs.router.classifier import CONFIDENCE_THRESHOLD, RouterChoice, classify_with_model
    from relais.models.catalog import get_chat_model

    model = get_chat_model("router", "internal", schema=RouterChoice)

    def decide(text: str) -> RouteDecision:
        decision = router.decide(text)
        if decision.confidence >= CONFIDENCE_THRESHOLD:
            return decision
        return classify_with_model(text, model, fallback=decision)

    return decide

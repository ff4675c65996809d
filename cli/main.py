"""The `relais` command line: one sub-command per module in `cli.commands`.

Each command module exposes `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`.
Modules are imported only when their command runs, so `relais route` never loads the server.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS = {
    "serve": "cli.commands.serve",
    "route": "cli.commands.route",
    "ingest": "cli.commands.ingest",
    "retrieve": "cli.commands.retrieve",
    "eval": "cli.commands.evaluate",
    "audit": "cli.commands.audit",
    "usage": "cli.commands.usage",
    "model": "cli.commands.model",
    "threads": "cli.commands.threads",
    "guard": "cli.commands.guard",
}


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback, exit code 2."""


def _parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relais", description="Relais, the agent gateway behind Open WebUI.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if selected not in (None, name):
            subparsers.add_parser(name)
            continue
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `relais` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((arg for arg in argv if arg in COMMANDS), None)
    args = _parser(selected).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    try:
        return int(args.run(args) or 0)
    except UserError as error:
        print(f"relais {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"relais {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

"""`relais audit verify|tail`: check the audit chain, or print the latest records."""

from __future__ import annotations

import argparse

from relais.audit import AuditLog, AuditUnavailable, iter_jsonl
from relais.cli import UserError

HELP = "check the audit trail's hash chain (verify) or print its latest records as JSON Lines (tail)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `verify` and `tail` actions."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("verify", help="walk the whole chain; exit 1 at the first edited or deleted record")
    tail = actions.add_parser("tail", help="print the latest records, oldest first, as JSON Lines")
    tail.add_argument("--n", type=int, default=20, help="how many records (default 20)")


def run(args: argparse.Namespace) -> int:
    """Run the chosen action on the audit database the settings name."""
    log = AuditLog.from_settings()
    try:
        return verify(log) if args.action == "verify" else tail(log, args.n)
    except AuditUnavailable as error:
        raise UserError(str(error)) from error
    finally:
        log.close()


def verify(log: AuditLog) -> int:
    """Print the verdict; 0 when the chain holds, 1 at the first break."""
    report = log.verify()
    if report.problem is not None:
        problem = report.problem
        print(f"audit trail BROKEN at record #{problem.seq} ({problem.kind}): {problem.detail}")
        print(f"{report.records} records verified before the break")
        return 1
    if report.head_seq is None:
        print("audit trail intact: no records yet")
    else:
        print(f"audit trail intact: {report.records} records; head #{report.head_seq} {report.head_hash}")
        print("keep the head elsewhere: removing the newest records is only visible against a kept head")
    return 0


def tail(log: AuditLog, count: int) -> int:
    """Print the newest `count` records, oldest first."""
    if count < 1:
        raise UserError("--n must be at least 1")
    for line in iter_jsonl(list(reversed(log.rows(limit=count, newest_first=True)))):
        print(line)
    return 0

"""`relais audit verify|tail`: check the audit chain (its keyed seals), or print the latest records."""

from __future__ import annotations

import argparse

from cli.main import UserError
from server.audit import AuditKeyError, AuditLog, AuditUnavailable, VerifyReport, iter_jsonl

HELP = "check the audit trail's keyed hash chain (verify) or print its latest records as JSON Lines (tail)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `verify` and `tail` actions."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify_parser = actions.add_parser("verify", help="walk the whole chain; exit 1 at the first edited, deleted or "
                                       "unverifiable record")
    verify_parser.add_argument("--kept-head", metavar="SEQ:SEAL", type=kept_head,
                               help="a head printed earlier and kept elsewhere: the trail must still hold it")
    tail = actions.add_parser("tail", help="print the latest records, oldest first, as JSON Lines (a streamed "
                              "answer shows its 'started' record and its outcome)")
    tail.add_argument("--n", type=int, default=20, help="how many records (default 20)")


def run(args: argparse.Namespace) -> int:
    """Run the chosen action on the audit database the settings name."""
    log = AuditLog.from_settings()
    try:
        return verify(log, args.kept_head) if args.action == "verify" else tail(log, args.n)
    except (AuditUnavailable, AuditKeyError) as error:
        raise UserError(str(error)) from error
    finally:
        log.close()


def kept_head(text: str) -> tuple[int, str]:
    """Parse `--kept-head`: `SEQ:SEAL` (a leading # is allowed), as `verify` prints them."""
    seq, sep, seal = text.strip().lstrip("#").partition(":")
    if not sep or not seq.isdigit() or len(seal) != 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not SEQ:SEAL (e.g. 42:3fa9…, 64 hex digits)")
    return int(seq), seal.lower()


def verify(log: AuditLog, head: tuple[int, str] | None = None) -> int:
    """Print the verdict; 0 when the chain holds (and holds the kept head), 1 at the first break."""
    report = log.verify(head)
    if report.problem is not None:
        problem = report.problem
        print(f"audit trail BROKEN at record #{problem.seq} ({problem.kind}): {problem.detail}")
        print(f"{report.records} records verified before the break")
        return 1
    if report.head_seq is None:
        print("audit trail intact: no records yet")
    else:
        print(f"audit trail intact: {report.records} records; head #{report.head_seq} {report.head_hash}; "
              f"{describe_seals(report)}")
        print("keep the head elsewhere: removing the newest records is only visible against a kept head; check it "
              f"later with `relais audit verify --kept-head {report.head_seq}:{report.head_hash}`")
    return 0


def describe_seals(report: VerifyReport) -> str:
    """Which keys sealed which records, and how many legacy records were checked as plain sha256."""
    parts = [f"#{first}-#{last} sealed with key {key_id}" for key_id, first, last in report.key_spans]
    if report.unkeyed:
        parts.insert(0, f"#1-#{report.unkeyed} legacy, unkeyed (plain sha256)")
    return ", ".join(parts)


def tail(log: AuditLog, count: int) -> int:
    """Print the newest `count` records, oldest first."""
    if count < 1:
        raise UserError("--n must be at least 1")
    for line in iter_jsonl(list(reversed(log.rows(limit=count, newest_first=True, per_request=False)))):
        print(line)
    return 0

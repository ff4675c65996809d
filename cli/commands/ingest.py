"""`relais ingest --collection NAME --source PATH`: build or update a knowledge collection."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "build or update a knowledge collection (incremental; `bpf` is the GMP guide's folder)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--collection", required=True, help="collection name, e.g. bpf")
    parser.add_argument("--source", required=True, type=Path, help="a folder or a file to index")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line on stdout")


def run(args: argparse.Namespace) -> int:
    """Ingest, print the summary on stderr (skipped files are listed there, and do not fail the run)."""
    from cli.main import UserError
    from retrievers.index import SourceNotFound, ingest

    try:
        report = ingest(args.collection, args.source, progress=sys.stderr.isatty())
    except (SourceNotFound, ValueError, ConnectionError) as error:
        raise UserError(str(error)) from error
    print(report.summary(), file=sys.stderr)
    if args.json:
        print(json.dumps({"collection": report.collection, "added": report.added, "updated": report.updated,
                          "unchanged": report.unchanged, "removed": report.removed, "skipped": report.skipped,
                          "problems": [str(problem) for problem in report.problems],
                          "chunks_embedded": report.chunks_embedded, "chunks_total": report.chunks_total},
                         ensure_ascii=False))
    return 0

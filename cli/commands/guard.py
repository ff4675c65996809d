"""`relais guard prepare`: train the guard's tagger into its cache before any replica needs it.

A replica warms its guard at start-up, and without a trained tagger in its cache it trains one first (one to two
minutes on 2 cores, during which a guarded request waits). Run this once per release, in a job or an init container
that shares the replicas' cache (`RELAIS_EMBEDDING_CACHE_DIR`); a later run finds the model and returns at once.
"""

from __future__ import annotations

import argparse
import time

HELP = "train the guard's sequence tagger into its cache (prepare)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the `prepare` action."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("prepare", help="train the tagger unless its cache already holds this release's model")


def run(args: argparse.Namespace) -> int:
    """Train (or find) the tagger and say where it is."""
    from relais.guard import tagger
    from relais.settings import get_settings

    if not get_settings().guard_tagger:
        print("guard tagger turned off (RELAIS_GUARD_TAGGER=off): nothing to prepare")
        return 0
    path = tagger.model_path(tagger.TRAINING_SETS)
    if path.exists():
        print(f"guard tagger ready: {path} (already trained)")
        return 0
    started = time.perf_counter()
    tagger.train(tagger.load_rows(tagger.TRAINING_SETS), path)  # build() would hash the training data again
    print(f"guard tagger ready: {path} (trained in {time.perf_counter() - started:.0f} s)")
    return 0

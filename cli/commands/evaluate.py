"""`relais eval`: run a dataset through the graph, grade it, compare runs, export to the experts."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from cli.main import UserError
from relais.labels import LABELS, Label

HELP = "evaluate agents: run a dataset, grade it, compare configurations, exchange grades with experts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sub-commands run, compare, export, import and report."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run a JSON Lines dataset through the supervisor graph")
    run.add_argument("--dataset", required=True, type=Path, help="JSON Lines file of questions")
    run.add_argument("--agent", choices=["auto", *LABELS], help="ask this agent (or route: auto) for every line")
    run.add_argument("--config", help="name of this configuration in reports (default: from the models)")
    run.add_argument("--model", action="append", default=[], metavar="ROLE=PROVIDER:MODEL",
                     help="model for a role during this run (repeatable), e.g. judge=mistral:mistral-large-latest")
    run.add_argument("--out", type=Path, help="results folder (default RELAIS_DATA_DIR/eval/<time>-<config>)")
    run.add_argument("--resume", action="store_true",
                     help="finish the interrupted run in --out: keep its answered questions, ask the others")
    run.add_argument("--judge", action=argparse.BooleanOptionalAction, default=True, help="grade with the judge")
    run.add_argument("--allow-self-judge", action="store_true",
                     help="let the judge grade answers its own model wrote (refused by default)")
    run.add_argument("--limit", type=int, help="only the first N questions")
    run.add_argument("--only", metavar="ID[,ID...]", help="only these question ids, e.g. --only d28,d29,d30")
    run.add_argument("--structured", action="store_true", help="ask every question in the /bpf structured format")
    run.add_argument("--bpf-source", type=Path, help="folder of the GMP guide (default RELAIS_BPF_SOURCE)")
    compare = actions.add_parser("compare", help="report two results folders side by side (A versus B)")
    compare.add_argument("a", type=Path)
    compare.add_argument("b", type=Path)
    compare.add_argument("--out", type=Path, help="HTML file (default compare-<A>-vs-<B>.html)")
    export = actions.add_parser("export", help="write the answers to a spreadsheet for the experts")
    export.add_argument("results", type=Path)
    export.add_argument("--xlsx", required=True, type=Path)
    imported = actions.add_parser("import", help="read one expert's grades back from the spreadsheet")
    imported.add_argument("results", type=Path)
    imported.add_argument("--xlsx", required=True, type=Path)
    imported.add_argument("--expert", required=True, metavar="NAME",
                          help="whose grades these are: every expert's are kept; a new import by the same expert "
                               "replaces only that expert's grades")
    report = actions.add_parser("report", help="write the HTML report of one results folder")
    report.add_argument("results", type=Path)
    report.add_argument("--out", type=Path, help="HTML file (default RESULTS/report.html)")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen action."""
    actions = {"run": _run, "compare": _compare, "export": _export, "import": _import, "report": _report}
    return actions[args.action](args)


def _apply_models(pairs: list[str]) -> None:
    """Per-run model choices go through RELAIS_MODELS so every role of the graph sees them."""
    from relais.settings import get_settings

    for pair in pairs:
        role, sep, spec = pair.partition("=")
        if not sep or ":" not in spec:
            raise UserError(f"--model {pair!r} must look like ROLE=PROVIDER:MODEL")
    if pairs:
        existing = os.environ.get("RELAIS_MODELS", "")
        os.environ["RELAIS_MODELS"] = ",".join(filter(None, [existing, *pairs]))
        get_settings.cache_clear()


def _default_config_name() -> str:
    from relais.settings import get_settings

    settings = get_settings()
    if settings.models:
        return "+".join(f"{role}-{spec.replace(':', '-')}" for role, spec in sorted(settings.models.items()))
    return "mistral" if settings.has_mistral else "local" if settings.local_base_url else "embarque"


def load_graph():
    """The compiled supervisor graph; a clear error while it is not there."""
    try:
        from graphs.supervisor import build_supervisor_graph
    except ImportError as error:
        raise UserError(f"the supervisor graph cannot be imported ({error}); graphs/supervisor.py is needed") from None
    return build_supervisor_graph()


def _guide(path: Path | None):
    from evaluation.guide import load_guide_reference
    from relais.settings import get_settings

    folder = path or get_settings().bpf_source
    try:
        return load_guide_reference(folder)
    except FileNotFoundError as error:
        if path is not None:
            raise UserError(str(error)) from None
        print(f"relais eval: {error}; citation checks skipped", file=sys.stderr)
        return None


def run_manifest(args: argparse.Namespace, config: str) -> dict:
    """What a run was: configuration, dataset and the model chain each role resolves to."""
    from evaluation.runner import dataset_digest
    from relais.models.catalog import ROLES, resolve_chain
    from relais.settings import get_settings

    settings = get_settings()
    models = {role: {sensitivity: [str(spec) for spec in resolve_chain(role, sensitivity, settings=settings)]
                     for sensitivity in ("internal", "confidential")} for role in ROLES}
    return {"config": config, "dataset": str(args.dataset.resolve()), "dataset_sha256": dataset_digest(args.dataset),
            "limit": args.limit, "structured": args.structured, "models": models,
            "settings": {"embedding_model": settings.embedding_model, "reranker_model": settings.reranker_model,
                         "local_model": settings.local_model if settings.local_base_url else None,
                         "mistral": settings.has_mistral, "models": settings.models}}


def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from tqdm import tqdm

    from evaluation.dataset import DatasetError, load_dataset
    from evaluation.runner import run_dataset
    from relais.settings import get_settings

    _apply_models(args.model)
    try:
        items = load_dataset(args.dataset)
    except DatasetError as error:
        raise UserError(str(error)) from None
    items = _only(items, args.only) if args.only else items
    items = items[: args.limit] if args.limit else items
    if args.structured:
        items = [replace(item, structured=True) for item in items]
    config = args.config or _default_config_name()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or get_settings().data_dir / "eval" / f"{stamp}-{config}"
    _check_results_folder(out, args)
    _check_knowledge(items, args.agent)
    judge = _judge_setup(items, args) if args.judge else None
    graph = load_graph()
    manifest = run_dataset(
        items, graph, out, run_manifest(args, config),
        judge=judge, guide=_guide(args.bpf_source), agent_override=args.agent,
        progress=lambda total: tqdm(total=total, desc="relais eval", unit="question", disable=None),
        resume=args.resume,
    )
    print(json.dumps({"results": str(out), "summary": manifest["summary"]}, ensure_ascii=False))
    return 0


def _answering_agents(items: list, agent: str | None) -> set[str]:
    """The agents a run's questions will reach: the one asked for, else each line's agent or expected agent."""
    if agent and agent != "auto":
        return {agent}
    return {label for item in items for label in (item.agent, item.expected_agent) if label and label != "auto"}


def _judge_setup(items: list, args: argparse.Namespace):
    """The run's judge; refused before any question is asked when its model is the one that will answer.

    The runner checks again per question against the models that really answered (fallbacks included);
    this early check saves a whole run whose grades would all be refused.
    """
    from agents import get_spec
    from evaluation.judge import JudgeSetup, judge_model
    from relais.models.catalog import resolve_chain

    chain = tuple(str(spec) for spec in resolve_chain("judge", "internal"))
    writers: dict[str, list[str]] = {}
    for label in sorted(_answering_agents(items, args.agent)):
        spec = get_spec(cast(Label, label))
        writers.setdefault(str(resolve_chain(spec.role, spec.sensitivity)[0]), []).append(label)
    if chain[0] in writers and not args.allow_self_judge:
        raise UserError(f"the judge {chain[0]} is also the model that answers for {', '.join(writers[chain[0]])}: "
                        "it would grade its own answers. Choose another judge (--model judge=PROVIDER:MODEL), "
                        "or --no-judge, or --allow-self-judge")
    return JudgeSetup(judge_model(), chain, args.allow_self_judge)


def _knowledge() -> dict[str, str]:
    """Agents whose every answer rests on an indexed collection, and that collection's name.

    Without it a whole run would grade "the guide is not indexed" answers (the agents say so in chat,
    which is right there, not here).
    """
    from agents import all_specs

    return {spec.label: spec.collection for spec in all_specs() if spec.collection}


def _check_knowledge(items: list, agent: str | None) -> None:
    from retrievers.store import collection_exists

    agents = {agent} if agent and agent != "auto" else {item.expected_agent for item in items}
    needed = {collection for name, collection in _knowledge().items() if name in agents}
    missing = sorted(collection for collection in needed if not collection_exists(collection))
    if missing:
        commands = "; ".join(f"relais ingest --collection {name} --source PATH" for name in missing)
        raise UserError(f"collection {', '.join(missing)} not indexed, the answers would be empty: run {commands}")


def _only(items: list, ids: str) -> list:
    wanted = [item_id.strip() for item_id in ids.split(",") if item_id.strip()]
    unknown = sorted(set(wanted) - {item.id for item in items})
    if unknown:
        raise UserError(f"--only: no question with id {', '.join(unknown)} in the dataset")
    return [item for item in items if item.id in wanted]


def _check_results_folder(out: Path, args: argparse.Namespace) -> None:
    """Never overwrite a run's answers; resume only a run of the same dataset."""
    from evaluation.results import MANIFEST_FILE, RESULTS_FILE
    from evaluation.runner import dataset_digest

    if args.resume and args.out is None:
        raise UserError("--resume needs --out: the results folder of the run to finish")
    existing = (out / RESULTS_FILE).is_file()
    if existing and not args.resume:
        raise UserError(f"{out} already holds a run: add --resume to finish it, or choose another --out")
    if existing:
        try:
            earlier = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8")).get("dataset_sha256")
        except (OSError, ValueError):
            earlier = None
        if earlier and earlier != dataset_digest(args.dataset):
            raise UserError(f"{out} holds a run of another dataset (or an edited one): it cannot be resumed with "
                            f"{args.dataset}")


def _load(folder: Path):
    from evaluation.results import ResultsError, load_run

    try:
        return load_run(folder)
    except ResultsError as error:
        raise UserError(str(error)) from None


def _write_report(runs: list, out: Path) -> int:
    from evaluation.report import render_report

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(runs), encoding="utf-8")
    print(out)
    return 0


def _compare(args: argparse.Namespace) -> int:
    a, b = _load(args.a), _load(args.b)
    return _write_report([a, b], args.out or Path(f"compare-{a.folder.name}-vs-{b.folder.name}.html"))


def _report(args: argparse.Namespace) -> int:
    run_ = _load(args.results)
    return _write_report([run_], args.out or run_.folder / "report.html")


def _export(args: argparse.Namespace) -> int:
    from evaluation.spreadsheet import export_xlsx

    print(export_xlsx(_load(args.results), args.xlsx))
    return 0


def _import(args: argparse.Namespace) -> int:
    from evaluation.agreement import agreement, between_experts
    from evaluation.spreadsheet import SpreadsheetError, import_xlsx

    run_ = _load(args.results)
    try:
        grades = import_xlsx(run_, args.xlsx, args.expert)
    except SpreadsheetError as error:
        raise UserError(str(error)) from None
    between = [{"experts": list(pair["experts"]), "final": pair["criteria"]["final"]} for pair in between_experts(run_)]
    print(json.dumps({"imported": len(grades), "expert": " ".join(args.expert.split()),
                      "experts": sorted(run_.expert_grades), "agreement": agreement(run_),
                      "between_experts": between}, ensure_ascii=False))
    return 0

"""Benchmark of the translation and contract-clauses agents on a handful of requests of our own.

Per request: wall-clock latency, model calls, input/output tokens; for translation, the glossary terms
respected (applied or fixed / met) and whether the Markdown structure came back identical; for clauses,
the library ids cited and verified, the ids removed, the deviations declared.

    python benchmarks/agents_lang.py                      # fake fixed-latency model (20 ms a token)
    python benchmarks/agents_lang.py --model embedded     # the embedded GGUF (slow on 2 cores)

Retrieval is real in both modes: the clause library is ingested once into --data-dir (embeddings cached
there). With --model embedded the GGUF is taken from --gguf (or assembled once into --data-dir).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRANSLATIONS = [
    ("sop-table", "Traduis en anglais :\n\n## 5. Libération des lots\n\n"
     "Le pharmacien responsable certifie chaque lot après revue du dossier de lot et clôture des écarts.\n\n"
     "| Étape | Responsable | Délai |\n|---|---|---|\n| Revue du dossier de lot | Assurance qualité | 2 jours |\n"
     "| Certification | Pharmacien responsable | 1 jour |\n\n1. Vérifier les résultats hors spécification.\n"
     "2. Vérifier la maîtrise des changements.\n3. Signer le certificat de conformité."),
    ("deviation-en", "Deviation DEV-2024-017: during the batch record review, the QA reviewer found that the "
     "line clearance of the packaging line was not signed. A root cause analysis was opened and a corrective "
     "action was defined through change control. The batch remains in quarantine until the Qualified Person "
     "approves the investigation report."),
    ("short-fr", "Le lot 24A117 est placé en quarantaine dans l'attente de la libération."),
    ("cleaning-code", "Traduis en anglais :\n\n### Validation de nettoyage\n\n- Prélèvement par écouvillonnage "
     "sur les surfaces en contact avec le produit.\n- Limite d'acceptation : 10 ppm.\n\n```sql\n"
     "SELECT batch, residue FROM cleaning WHERE residue > 10;\n```\n\nLes résultats sont archivés dans le "
     "système informatisé avec une piste d'audit."),
]
CLAUSE_REQUESTS = [
    ("audit", "Rédige une clause d'audit BPF pour un façonnier situé en Italie qui fabrique nos comprimés."),
    ("gdpr-breach", "Il me faut une clause de notification des violations de données pour notre prestataire "
     "de pharmacovigilance."),
    ("review-liability", "Peux-tu revoir cette clause ? « La responsabilité du Fabricant est limitée, toutes "
     "causes confondues, à 10 % du prix de la commande concernée, y compris en cas de rappel de lots ou de faute "
     "lourde. Les coûts de rappel sont des dommages indirects exclus. »"),
    ("law-uk", "Le cocontractant britannique demande le droit anglais : propose une clause de droit applicable "
     "et de règlement des litiges."),
]


def configure(args: argparse.Namespace) -> None:
    """Environment for the run: data folder, model per role, no remote provider."""
    os.environ["RELAIS_DATA_DIR"] = str(args.data_dir)
    os.environ["HF_HUB_OFFLINE"] = "1"
    for name in ("MISTRAL_API_KEY", "RELAIS_LOCAL_BASE_URL"):
        os.environ.pop(name, None)
    if args.model == "embedded":
        os.environ["RELAIS_MODELS"] = "translation=embedded:default,drafting=embedded:default"
        if args.gguf:
            os.environ["RELAIS_GGUF_PATH"] = str(args.gguf)
    else:
        os.environ["RELAIS_MODELS"] = "translation=fake:translation,drafting=fake:drafting"
        install_fake_models(args.token_latency_ms)
    from relais.settings import get_settings

    get_settings.cache_clear()


def install_fake_models(token_latency_ms: float) -> None:
    """Register the scripted fixed-latency model as provider `fake` (as the test fixture does)."""
    from relais.models import catalog
    from tests.fakes.scripted_model import ScriptedChatModel

    def factory(spec, role, settings):  # noqa: ANN001, ANN202
        script = fake_translation if spec.model == "translation" else fake_clause
        return ScriptedChatModel(model_name=f"fake:{spec.model}", token_latency_ms=token_latency_ms,
                                 responses=[script] * 200)

    catalog.PROVIDERS["fake"] = factory


def fake_translation(messages):  # noqa: ANN001, ANN201
    """The segments back, with the glossary's terms swapped in (a stand-in of the right length)."""
    segments = json.loads(messages[-1].content.split("<segments>")[1].split("</segments>")[0])["segments"]
    return {"translations": list(segments)}


def fake_clause(messages):  # noqa: ANN001, ANN201
    """A clause of realistic length based on the first library clause shown."""
    found = re.search(r'source="([A-Z]+-\d+)', messages[-1].content)
    clause_id = found.group(1) if found else "CONF-01"
    text = " ".join(["Le Sous-traitant accepte les audits de la Société dans les conditions ci-dessous."] * 12)
    return {"title": "Clause", "clause_text": f"**Article 1**\n\n1.1 {text}", "based_on": [clause_id],
            "deviations": [{"clause_id": clause_id, "description": "préavis réduit", "risk": "moyen"}],
            "legal_review_points": ["Préavis", "Fréquence"]}


def ensure_library() -> float:
    """Ingest the clause library when the data folder does not have it yet; seconds spent."""
    from retrievers.clauses import LIBRARY_FOLDER
    from retrievers.index import ingest

    started = time.perf_counter()
    report = ingest("clauses", LIBRARY_FOLDER)
    return time.perf_counter() - started if report.chunks_embedded else 0.0


class OutputTokenCounter:
    """Counts generated tokens with the GGUF's tokenizer when the model reports no usage."""

    def __init__(self) -> None:
        from langchain_core.callbacks import BaseCallbackHandler

        counter = self

        class Handler(BaseCallbackHandler):
            def on_llm_end(self, response, **kwargs):  # noqa: ANN001, ANN201
                for generations in response.generations:
                    counter.texts.extend(generation.text for generation in generations)

        self.texts: list[str] = []
        self.handler = Handler()

    def tokens(self) -> int:
        from relais.models.embedded import _shared_llama
        from relais.settings import get_settings

        settings = get_settings()
        if not settings.gguf_path:
            return 0
        llama = _shared_llama(str(settings.gguf_path), settings.embedded_n_ctx, settings.embedded_threads)
        return sum(len(llama.tokenize(text.encode("utf-8"), add_bos=False)) for text in self.texts if text)


def run_one(graph, text: str) -> tuple[dict, float]:  # noqa: ANN001
    from langchain_core.messages import HumanMessage

    counter = OutputTokenCounter()
    started = time.perf_counter()
    state = graph.invoke({"messages": [HumanMessage(text)]}, config={"callbacks": [counter.handler]})
    seconds = time.perf_counter() - started
    usage = state.setdefault("usage", {})
    if not usage.get("output_tokens") and counter.texts:  # the embedded model reports no usage on this branch
        usage["output_tokens"] = counter.tokens()
    return state, seconds


def glossary_counts(answer: str) -> tuple[int, int]:
    """(respected, met) from the glossary table at the end of a translation."""
    rows = re.findall(r"^\| .+ \| .+ \| (\d+) \| (appliqué|corrigé|manqué) \|$", answer, re.MULTILINE)
    return sum(status != "manqué" for _, status in rows), len(rows)


def bench_translation(requests: list[tuple[str, str]]) -> list[dict]:
    from agents import build_agent_graph, get_spec

    graph = build_agent_graph(get_spec("translation"))
    rows = []
    for name, text in requests:
        state, seconds = run_one(graph, text)
        answer = state["messages"][-1].content
        respected, met = glossary_counts(answer)
        print(f"  {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
        rows.append({"request": name, "s": seconds, **_usage(state), "glossary": f"{respected}/{met}",
                     "respected": respected, "met": met, "structure_ok": "identiques à l'original" in answer})
    return rows


def bench_clauses(requests: list[tuple[str, str]]) -> list[dict]:
    from agents import build_agent_graph, get_spec

    graph = build_agent_graph(get_spec("contract_clauses"))
    rows = []
    for name, text in requests:
        state, seconds = run_one(graph, text)
        answer = state["messages"][-1].content
        cited = re.findall(r"^\| ([A-Z]+-\d+) \| .+ \| .+ \| .+ \|$", answer, re.MULTILINE)
        removed = re.search(r"retiré\(s\) : (.+)\.$", answer, re.MULTILINE)
        deviations = re.search(r"(\d+) écart\(s\) déclaré", answer)
        print(f"  {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
        rows.append({"request": name, "s": seconds, **_usage(state), "cited": ",".join(cited) or "-",
                     "removed": removed.group(1) if removed else "-",
                     "deviations": int(deviations.group(1)) if deviations else 0,
                     "answered": answer.startswith("## Clause")})
    return rows


def _usage(state: dict) -> dict:
    usage = state.get("usage") or {}
    return {"calls": usage.get("model_calls", 0), "in_tokens": usage.get("input_tokens", 0),
            "out_tokens": usage.get("output_tokens", 0)}


def print_rows(title: str, rows: list[dict]) -> None:
    print(f"\n## {title}")
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{value:.2f}" if isinstance(value, float) else str(value) for value in row.values())
              + " |")
    latencies = [row["s"] for row in rows]
    print(f"\nlatency: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s; "
          f"output tokens per answer: median {statistics.median(row['out_tokens'] for row in rows):.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("fake", "embedded"), default="fake")
    parser.add_argument("--token-latency-ms", type=float, default=20.0, help="fake model: time per token")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/relais-bench-lang"))
    parser.add_argument("--gguf", type=Path, default=None, help="an already assembled GGUF (skips assembly)")
    parser.add_argument("--only", choices=("translation", "clauses"), default=None)
    parser.add_argument("--requests", type=int, default=4, help="how many requests per agent")
    args = parser.parse_args()
    configure(args)
    print(f"# agents_lang benchmark — model: {args.model}"
          + (f" ({args.token_latency_ms:g} ms/token)" if args.model == "fake" else ""))
    if args.only != "translation":
        spent = ensure_library()
        print(f"clause library ingest: {spent:.1f} s" if spent else "clause library: already indexed")
        print_rows("contract_clauses", bench_clauses(CLAUSE_REQUESTS[:args.requests]))
    if args.only != "clauses":
        rows = bench_translation(TRANSLATIONS[:args.requests])
        print_rows("translation", rows)
        respected, met = sum(row["respected"] for row in rows), sum(row["met"] for row in rows)
        print(f"glossary terms respected: {respected}/{met} ({100 * respected / max(1, met):.0f} %); "
              f"structure identical: {sum(row['structure_ok'] for row in rows)}/{len(rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Latency and tokens per answer of the procedures, computer-validation and code agents.

Two modes:
- `--fake` (default): the scripted fake model with a fixed latency per token (`--token-ms`), so the
  figures show the graph's own overhead (rendering, .docx/.xlsx exports) on top of a known model time.
- `--embedded`: the embedded GGUF (Qwen2.5-Coder-1.5B, llama.cpp) answers for real; the data folder
  is fixed (`--data-dir`, default /tmp/relais-bench) so the GGUF is assembled once.

Usage: python benchmarks/agents_docs.py [--embedded] [--agents procedures,code] [--repeat 3]
Prints one line per request and a summary per agent; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SOP_NOTES = [
    "Rédige une SOP. Nettoyage de la cuve C-12 après chaque lot : l'opérateur vidange, rince à l'eau "
    "purifiée, le chef d'équipe vérifie visuellement et signe le formulaire F-NET-12.",
    "Instruction de travail : étalonnage quotidien de la balance B-07 avec les masses étalons de 100 g "
    "et 1 kg avant la première pesée ; tolérance ±0,1 % ; résultat noté dans le logbook.",
    "Procédure de gestion des habilitations au LIMS : demande par le responsable, création par "
    "l'administrateur, revue semestrielle des comptes par l'AQ.",
]
VALIDATION_REQUESTS = [
    "Fais l'AMDEC de l'interface entre la balance B-07 et le LIMS (transfert des pesées).",
    "Rédige l'URS d'un système de gestion électronique des documents qualité (GED).",
    "Prépare le dossier de validation complet (URS, AMDEC, scripts, matrice) d'un enregistreur de température.",
]
CODE_REQUESTS = [
    "Écris une fonction Python qui calcule le RPN d'une AMDEC (S×O×D) et refuse une cotation hors 1-10.",
    "Corrige ce script :\n```python\nimport csv\nfor row in csv.reader(open('lots.csv'))\n    print(row[0])\n```",
    "Écris une requête SQL qui liste les lots libérés en 2025 avec leur date de libération.",
]
REQUESTS = {"procedures": SOP_NOTES, "computer_validation": VALIDATION_REQUESTS, "code": CODE_REQUESTS}


def scripted_replies(label: str, text: str) -> list[Any]:
    """Plausible model outputs of a realistic size for the fake model."""
    if label == "procedures":
        steps = [{"actor": "Opérateur de production", "action": f"Réaliser l'opération {n} selon les notes.",
                  "details": "Critère à confirmer."} for n in range(1, 9)]
        return [{"title": text[:60], "purpose": "Définir les modalités de l'opération décrite dans les notes.",
                 "scope": "Atelier concerné par les notes.", "steps": steps,
                 "responsibilities": [{"role": "Opérateur de production", "duties": "Réalise l'opération."},
                                      {"role": "Assurance qualité", "duties": "Approuve la procédure."}],
                 "records": [{"name": "Formulaire d'enregistrement"}],
                 "missing_information": ["Fréquence ?", "Critère d'acceptation ?"]}]
    if label == "code":
        return ["```python\ndef rpn(s: int, o: int, d: int) -> int:\n    for v in (s, o, d):\n"
                "        if not 1 <= v <= 10:\n            raise ValueError(v)\n    return s * o * d\n```\n\n"
                "La fonction vérifie puis multiplie."]
    requirement = {"category": "Intégrité des données", "statement": "Le système doit tracer toute modification.",
                   "acceptance_criterion": "Audit trail complet.", "gxp_criticality": "haute"}
    urs = {"system_name": "Système", "intended_use": "Usage GxP.", "requirements": [requirement] * 8,
           "gamp": {"software_type": "configure", "justification": "Paramétré."}}
    mode = {"requirement_refs": ["URS-001"], "function": "Transfert", "failure_mode": "Perte", "effect": "Donnée",
            "cause": "Réseau", "severity": 7, "occurrence": 3, "detectability": 5}
    fmea = {"system_name": "Système", "failure_modes": [mode] * 8}
    script = {"phase": "OQ", "title": "Audit trail", "objective": "Vérifier", "requirement_refs": ["URS-001"],
              "steps": [{"action": "Modifier", "expected_result": "Tracé"}] * 4}
    tests = {"system_name": "Système", "scripts": [script] * 4}
    from agents.computer_validation.graph import PLANS, choose_deliverable

    by_step = {"urs": urs, "fmea": fmea, "tests": tests}
    return [by_step[step] for step in PLANS[choose_deliverable(text)]]


def use_fake_models(token_ms: float) -> Any:
    """Route every role to the scripted fake model (as the tests' `scripted_models` fixture does)."""
    from relais.models import catalog
    from relais.settings import get_settings
    from tests.fakes.fixtures import ScriptedModels

    models = ScriptedModels()
    models.set_latency(token_ms)
    catalog.PROVIDERS["fake"] = models.factory
    os.environ["RELAIS_MODELS"] = ",".join(f"{role}=fake:{role}" for role in catalog.ROLES)
    get_settings.cache_clear()
    return models


def annex_11_extract(shared: Path) -> list[dict[str, str]]:
    """One Annex 11 extract read from the shared GMP guide (a stand-in for the `bpf` collection)."""
    guide = shared / "knowledge" / "bpf-2019" / "guide-bpf-2019.txt"
    if not guide.is_file():
        return []
    text = guide.read_bytes().decode("utf-8", errors="replace")
    start = text.find("ANNEXE 11")
    return [{"title": "BPF Annexe 11 (extrait)", "text": text[start:start + 1200]}] if start >= 0 else []


def answer_tokenizer(embedded: bool) -> Any:
    """Counts the tokens of an answer: the GGUF's own tokenizer, or the fake model's word pieces.

    The embedded model reports no usage through LangChain, so its answers are measured here.
    """
    if not embedded:
        from tests.fakes.scripted_model import split_tokens

        return lambda text: len(split_tokens(text))
    from relais.models.embedded import _shared_llama, ensure_default_gguf
    from relais.settings import get_settings

    settings = get_settings()
    path = str(ensure_default_gguf(settings.data_dir / "models"))
    llama = _shared_llama(path, settings.embedded_n_ctx, settings.embedded_threads)  # the instance the agents use
    return lambda text: len(llama.tokenize(text.encode("utf-8"), add_bos=False))


def run_one(graph: Any, text: str, count_tokens: Any) -> dict[str, Any]:
    """One request through an agent graph: latency, tokens, whether an export link came back."""
    from langchain_core.messages import HumanMessage

    started = time.perf_counter()
    state = graph.invoke({"messages": [HumanMessage(text)]})
    answer = str(state["messages"][-1].content)
    usage = state.get("usage") or {}
    return {"latency_s": time.perf_counter() - started, "output_tokens": usage.get("output_tokens", 0),
            "input_tokens": usage.get("input_tokens", 0), "model_calls": usage.get("model_calls", 0),
            "answer_tokens": count_tokens(answer), "chars": len(answer), "export": "📄" in answer,
            "answer": answer}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedded", action="store_true", help="use the embedded GGUF instead of the fake model")
    parser.add_argument("--token-ms", type=float, default=20.0, help="fake model latency per token")
    parser.add_argument("--agents", default="procedures,computer_validation,code")
    parser.add_argument("--requests", type=int, default=3, help="requests per agent (at most 3)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--data-dir", default="/tmp/relais-bench")
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--show", action="store_true", help="print each answer's first lines")
    args = parser.parse_args(argv)
    os.environ["RELAIS_DATA_DIR"] = args.data_dir
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from agents import build_agent_graph, get_spec

    models = None if args.embedded else use_fake_models(args.token_ms)
    count_tokens = answer_tokenizer(args.embedded)
    extracts = annex_11_extract(Path(args.shared))
    mode = "embedded GGUF" if args.embedded else f"fake model, {args.token_ms:g} ms/token"
    print(f"# agents_docs benchmark — {mode}")
    for label in args.agents.split(","):
        spec = get_spec(label)
        if spec.retrieve is not None:
            spec = dataclasses.replace(spec, retrieve=lambda question, k: extracts[:k])
        graph = build_agent_graph(spec)
        results = []
        for _ in range(args.repeat):
            for text in REQUESTS[label][: args.requests]:
                if models is not None:
                    models.queue(spec.role, *scripted_replies(label, text))
                result = run_one(graph, text, count_tokens)
                results.append(result)
                print(f"{label:20} {result['latency_s']:7.2f} s  out={result['output_tokens']:5}  "
                      f"in={result['input_tokens']:6}  calls={result['model_calls']}  "
                      f"answer_tokens={result['answer_tokens']:5}  export={result['export']}  | {text[:50]!r}",
                      flush=True)
                if args.show:
                    print("    " + result["answer"][:400].replace("\n", "\n    "))
        latencies = [r["latency_s"] for r in results]
        tokens = [r["output_tokens"] for r in results]
        answer_tokens = [r["answer_tokens"] for r in results]
        print(f"== {label}: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s, "
              f"mean model output tokens {statistics.mean(tokens):.0f}, mean answer tokens "
              f"{statistics.mean(answer_tokens):.0f}, exports {sum(r['export'] for r in results)}"
              f"/{len(results)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

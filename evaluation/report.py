"""The HTML report: one self-contained file the regulatory team can open, print and forward.

Everything is inline (CSS and SVG); labels are in French. With two runs the figures sit side by
side, configuration A against configuration B.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape

from evaluation.agreement import agreement, between_experts
from evaluation.charts import bar_chart, french_number
from evaluation.grid import CRITERIA, CRITERION_LABELS, WEIGHTS
from evaluation.results import Run, summarise

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1000px;
color:#222;line-height:1.45;padding:0 1rem}
h1{color:#1f5f8b}h2{border-bottom:2px solid #1f5f8b;padding-bottom:.2rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:1rem 0;width:100%}th,td{border:1px solid #ccc;padding:.35rem .5rem;
text-align:left;vertical-align:top}th{background:#eef3f7}td.num{text-align:right;white-space:nowrap}
.note{color:#555;font-size:.92rem}.bad{color:#b00020}.ok{color:#2e7d32}
svg.chart{max-width:100%;height:auto;font-size:12px}svg .legend,svg .category{fill:#222}svg .value{fill:#444}
details{margin:.4rem 0}pre{white-space:pre-wrap;background:#f7f7f7;padding:.6rem;border-radius:4px}
@media print{details{display:block}}
"""
SECTIONS = {
    "synthese": "Synthèse",
    "criteres": "Notes par critère",
    "questions": "Notes par question",
    "latence": "Latence et empreinte",
    "citations": "Validité des citations",
    "experts": "Accord juge / experts",
    "configuration": "Configuration des essais",
    "reponses": "Réponses détaillées",
}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{french_number(value * 100, 0)} %"


def _ratio(done: int, total: int) -> str:
    return f"{done} / {total}" if total else "–"


def _routing(routing: dict) -> str:
    """Routing accuracy, or why there is none: requests that named their agent were not routed."""
    if routing["accuracy"] is None and routing.get("agent_requested"):
        return "n/a (agent demandé : routage non mesuré)"
    return f"{_pct(routing['accuracy'])} ({routing['questions']} requêtes)" if routing["questions"] else "–"


def _judges(summary: dict) -> str:
    judges = escape(", ".join(summary.get("judges") or []) or "–")
    refused = summary.get("self_judge_refused") or 0
    return judges + (f" ; {refused} note(s) refusée(s) : le juge avait écrit la réponse" if refused else "")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(key: str, body: str) -> str:
    return f'<section id="{key}"><h2>{SECTIONS[key]}</h2>{body}</section>'


# Each line of the summary table: a label and how to read it from a run's summary.
SUMMARY_LINES: list[tuple[str, Callable[[dict], str]]] = [
    ("Note finale moyenne (sur 10)", lambda s: french_number(s["grid"]["final"], 2)),
    *[(f"{CRITERION_LABELS[c]} (sur 10, poids {int(WEIGHTS[c] * 100)} %)",
       lambda s, c=c: french_number(s["grid"][c], 2)) for c in CRITERIA],
    ("Réponses dont toutes les citations sont vérifiées", lambda s: _pct(s["citations"]["answers_valid"])),
    ("Citations exactes (trouvées mot pour mot)",
     lambda s: _ratio(s["citations"]["quotes_valid"], s["citations"]["quotes"])),
    ("Références existantes", lambda s: _ratio(s["citations"]["references_valid"], s["citations"]["references"])),
    ("Références attendues citées ou citées mot pour mot dans la réponse", lambda s: _pct(s["coverage"])),
    ("Références attendues présentes dans les extraits récupérés", lambda s: _pct(s.get("coverage_retrieved"))),
    ("Conformité au format /bpf", lambda s: _pct(s["format"])),
    ("Refus corrects (questions hors guide)", lambda s: _pct(s["refusal"]["accuracy"])),
    ("Routage vers le bon agent (requêtes passées par relais-auto)", lambda s: _routing(s["routing"])),
    ("Juge (modèle qui a noté)", lambda s: _judges(s)),
    ("Temps de réponse médian", lambda s: f"{french_number((s['latency_ms']['p50'] or 0) / 1000, 1)} s"),
    ("Temps de réponse, 95e centile", lambda s: f"{french_number((s['latency_ms']['p95'] or 0) / 1000, 1)} s"),
    ("Jetons produits (total)", lambda s: french_number(s["usage"]["output_tokens"], 0)),
    ("Questions / erreurs", lambda s: f"{s['questions']} / {s['errors']}"),
]


def _summary(runs: Sequence[Run], summaries: Sequence[dict]) -> str:
    rows = [[escape(label)] + [read(summary) for summary in summaries] for label, read in SUMMARY_LINES]
    intro = ('<p class="note">Grille de l\'étude : exactitude 50 %, complétude 30 %, forme et clarté 20 %, '
             "chaque critère noté sur 10 par un modèle juge ; la note finale est la moyenne pondérée. "
             "Les contrôles de citations sont automatiques : chaque citation est recherchée mot pour mot dans le "
             "guide BPF, chaque référence (partie, chapitre, paragraphe) doit exister.</p>")
    digests = {run.manifest.get("dataset_sha256") for run in runs}
    if len(digests) > 1:
        intro += ('<p class="bad">Attention : ces essais n\'ont pas porté sur le même jeu de questions ; '
                  "comparez les notes question par question.</p>")
    return _section("synthese", intro + _table(["Indicateur", *[escape(run.name) for run in runs]], rows))


def _question_ids(runs: Sequence[Run]) -> list[str]:
    return list(dict.fromkeys(str(row["id"]) for run in runs for row in run.rows))


def _by_id(run: Run) -> dict[str, dict]:
    return {str(row["id"]): row for row in run.rows}


def _criteria_chart(runs: Sequence[Run], summaries: Sequence[dict]) -> str:
    names = [*CRITERIA, "final"]
    series = {run.name: [summary["grid"][n] for n in names] for run, summary in zip(runs, summaries, strict=True)}
    chart = bar_chart("Note moyenne par critère (sur 10)", [CRITERION_LABELS[n] for n in names], series,
                      max_value=10, decimals=2)
    return _section("criteres", chart)


def _questions_chart(runs: Sequence[Run], ids: list[str]) -> str:
    tables = [_by_id(run) for run in runs]
    series = {run.name: [((t.get(i) or {}).get("judge") or {}).get("final") for i in ids]
              for run, t in zip(runs, tables, strict=True)}
    chart = bar_chart("Note finale par question (sur 10)", _labels(runs, ids), series, max_value=10, decimals=2)
    return _section("questions", '<p class="note">« non noté » : pas de note du juge (erreur ou juge désactivé).</p>'
                    + chart)


def _labels(runs: Sequence[Run], ids: list[str]) -> list[str]:
    first: dict[str, str] = {}
    for run in runs:
        for row in run.rows:
            first.setdefault(str(row["id"]), row.get("question", ""))
    return [f"{i} – {first[i]}" for i in ids]


def _latency(runs: Sequence[Run], summaries: Sequence[dict], ids: list[str]) -> str:
    tables = [_by_id(run) for run in runs]
    series = {run.name: [None if (t.get(i) or {}).get("latency_ms") is None else t[i]["latency_ms"] / 1000
                         for i in ids] for run, t in zip(runs, tables, strict=True)}
    chart = bar_chart("Temps de réponse par question (secondes)", _labels(runs, ids), series, unit=" s")
    rows = [[escape(run.name), french_number(s["usage"]["input_tokens"], 0),
             french_number(s["usage"]["output_tokens"], 0), french_number(s["usage"]["output_tokens_mean"], 0),
             escape(", ".join(s["usage"]["models"]) or "–")] for run, s in zip(runs, summaries, strict=True)]
    table = _table(["Configuration", "Jetons lus", "Jetons produits", "Jetons produits par réponse", "Modèles"],
                   rows, numeric_from=1)
    return _section("latence", chart + table)


def _verdict(valid: bool) -> str:
    return '<span class="ok">oui</span>' if valid else '<span class="bad">non</span>'


def _citations(runs: Sequence[Run], ids: list[str]) -> str:
    rows = []
    for run in runs:
        table = _by_id(run)
        for i in ids:
            checks = (table.get(i) or {}).get("checks") or {}
            cite, cover = checks.get("citations"), checks.get("coverage")
            if not cite and not cover:
                continue
            invalid = (cite or {}).get("invalid_references", []) + (cite or {}).get("invalid_quotes", [])
            status = "–" if not cite else _verdict(cite["valid"])
            rows.append([escape(run.name), escape(i), status,
                         escape(", ".join((cite or {}).get("cited_references", [])) or "–"),
                         '<span class="bad">' + escape(" | ".join(invalid)) + "</span>" if invalid else "–",
                         _gold_used(cover), _pct((cover or {}).get("share"))])
    if not rows:
        return _section("citations", "<p>Aucune réponse de ces essais ne porte sur le guide BPF.</p>")
    return _section("citations", _table(["Configuration", "Question", "Toutes vérifiées", "Références citées",
                                         "Citations ou références introuvables", "Références attendues",
                                         "Couverture"], rows, numeric_from=6))


def _gold_used(cover: dict | None) -> str:
    """Per gold paragraph: cited (référence), quoted (citation), or missing, for one answer."""
    if not cover or not cover.get("paragraphs"):
        return "–"
    marks = []
    for entry in cover["paragraphs"]:
        how = [word for word, flag in (("référence", entry["cited"]), ("citation", entry["quoted"])) if flag]
        verdict = f'<span class="ok">{" + ".join(how)}</span>' if how else '<span class="bad">absente</span>'
        marks.append(f"{escape(entry['reference'])} : {verdict}")
    return "<br>".join(marks)


def _figures(figures: dict) -> list[str]:
    return [str(figures["pairs"]), french_number(figures["mean_abs_diff"], 2), _pct(figures["within_1"]),
            french_number(figures["pearson"], 2), french_number(figures["spearman"], 2)]


def _experts(runs: Sequence[Run]) -> str:
    rows, between, names = [], [], []
    for run in runs:
        if not run.experts:
            continue
        names.append(f"{escape(run.name)} : {escape(', '.join(sorted(run.expert_grades)) or '–')}")
        for name, figures in agreement(run).items():
            rows.append([escape(run.name), escape(CRITERION_LABELS[name]), *_figures(figures)])
        for pair in between_experts(run):
            for name, figures in pair["criteria"].items():
                between.append([escape(run.name), escape(" / ".join(pair["experts"])),
                                escape(CRITERION_LABELS[name]), *_figures(figures)])
    if not rows:
        return _section("experts", "<p>Pas encore de notes d'experts : <code>relais eval export</code> puis "
                        "<code>relais eval import --expert NOM</code>.</p>")
    body = (f'<p class="note">Experts (dernier import de chacun) — {" ; ".join(names)}. Le juge est comparé à la '
            "moyenne des experts sur chaque question.</p>"
            + _table(["Configuration", "Critère", "Questions", "Écart moyen", "À 1 point près", "Pearson",
                      "Spearman"], rows, numeric_from=2))
    if between:
        body += ("<h3>Accord entre experts</h3>"
                 + _table(["Configuration", "Experts", "Critère", "Questions", "Écart moyen", "À 1 point près",
                           "Pearson", "Spearman"], between, numeric_from=3))
    return _section("experts", body)


def _configuration(runs: Sequence[Run]) -> str:
    blocks = []
    for run in runs:
        m = run.manifest
        chains = "".join(f"<li>{escape(role)} : {escape(' → '.join(chain.get('internal', [])))}</li>"
                         for role, chain in (m.get("models") or {}).items())
        judge = escape(" → ".join(m.get("judge_chain") or [])) if m.get("judge") else "non"
        if m.get("allow_self_judge"):
            judge += " (autorisé à noter ses propres réponses)"
        blocks.append(f"<h3>{escape(run.name)}</h3><p>Jeu de questions : {escape(str(m.get('dataset', '–')))} ; "
                      f"lancé le {escape(str(m.get('started_at', '–')))} ; juge : {judge}.</p><ul>{chains}</ul>")
    return _section("configuration", "".join(blocks))


def _answers(runs: Sequence[Run], ids: list[str]) -> str:
    tables = [_by_id(run) for run in runs]
    blocks = []
    for i, label in zip(ids, _labels(runs, ids), strict=True):
        parts = []
        for run, table in zip(runs, tables, strict=True):
            row = table.get(i)
            if row is None:
                continue
            text = row.get("error") or row.get("answer", "")
            judge = row.get("judge") or {}
            reasons = "".join(f"<li>{CRITERION_LABELS[c]} {french_number(judge.get(c), 1)} : "
                              f"{escape(str(judge.get(c + '_justification', '')))}</li>" for c in CRITERIA if judge)
            parts.append(f"<h4>{escape(run.name)}</h4><pre>{escape(text)}</pre><ul>{reasons}</ul>")
        blocks.append(f"<details><summary>{escape(label)}</summary>{''.join(parts)}</details>")
    return _section("reponses", "".join(blocks))


def render_report(runs: Sequence[Run], title: str | None = None) -> str:
    """The whole report for one run, or for several side by side (A versus B)."""
    if not runs:
        raise ValueError("a report needs at least one run")
    summaries = [summarise(run.rows) for run in runs]
    ids = _question_ids(runs)
    title = title or ("Évaluation Relais : " + " / ".join(run.name for run in runs))
    body = "".join([
        f"<h1>{escape(title)}</h1><p class=\"note\">Rapport généré le "
        f"{datetime.now(UTC).strftime('%d/%m/%Y à %H:%M')} UTC.</p>",
        _summary(runs, summaries), _criteria_chart(runs, summaries), _questions_chart(runs, ids),
        _latency(runs, summaries, ids), _citations(runs, ids), _experts(runs), _configuration(runs),
        _answers(runs, ids),
    ])
    return (f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")

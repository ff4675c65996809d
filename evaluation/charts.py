"""Inline SVG charts for the report: no JavaScript, no external file, readable when printed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#1f5f8b", "#e07b39", "#5b9a45", "#8a5fb0")  # configuration A, B, C, D
WIDTH = 760
LABEL_WIDTH = 230
BAR_HEIGHT = 16
GAP = 10
LEGEND_HEIGHT = 28


def french_number(value: float | None, decimals: int = 1) -> str:
    """A number the French way (decimal comma); a dash when there is none."""
    if value is None:
        return "–"
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def _legend(names: Sequence[str]) -> list[str]:
    parts, x = [], LABEL_WIDTH
    for index, name in enumerate(names):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="6" width="14" height="14" fill="{colour}"/>'
                     f'<text x="{x + 20}" y="18" class="legend">{escape(name)}</text>')
        x += 30 + 8 * len(name)
    return parts


def _bar(x0: float, y: float, length: float, colour: str, value: float | None, labels: tuple[str, str, str]) -> str:
    series, category, text = labels
    return (f'<rect class="bar" x="{x0:.1f}" y="{y:.1f}" width="{length:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{colour}" data-series="{escape(series)}" data-category="{escape(category)}" '
            f'data-value="{"" if value is None else f"{value:.4g}"}"><title>{escape(category)} – {escape(series)} : '
            f'{escape(text)}</title></rect>'
            f'<text x="{x0 + length + 4:.1f}" y="{y + BAR_HEIGHT - 3:.1f}" class="value">{escape(text)}</text>')


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    max_value: float | None = None,
    unit: str = "",
    decimals: int = 1,
) -> str:
    """A horizontal grouped bar chart: one group per category, one bar per series (configuration)."""
    names = list(series)
    top = max_value or max((v for values in series.values() for v in values if v is not None), default=1) or 1
    plot = WIDTH - LABEL_WIDTH - 70
    group = len(names) * BAR_HEIGHT + GAP
    height = LEGEND_HEIGHT + len(categories) * group + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(title)}" '
             f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}"><title>{escape(title)}</title>']
    parts += _legend(names)
    for row, category in enumerate(categories):
        y = LEGEND_HEIGHT + row * group
        label = category if len(category) <= 34 else category[:33] + "…"
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + group / 2:.1f}" class="category" text-anchor="end">'
                     f'{escape(label)}</text>')
        for index, name in enumerate(names):
            value = series[name][row]
            length = 0 if value is None else max(plot * min(value, top) / top, 1)
            text = "non noté" if value is None else f"{french_number(value, decimals)}{unit}"
            parts.append(_bar(LABEL_WIDTH, y + index * BAR_HEIGHT, length, PALETTE[index % len(PALETTE)], value,
                              (name, category, text)))
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{LEGEND_HEIGHT - 4}" x2="{LABEL_WIDTH}" y2="{height - 6}" '
                 'stroke="#888"/></svg>')
    return "".join(parts)

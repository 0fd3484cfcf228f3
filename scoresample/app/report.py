"""A self-contained HTML report of a run: the comparison table, warnings and figures.

The page references its PNGs by relative path, so the run directory can be moved or
served as it is. No JavaScript, no external assets.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #1f2328; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
  border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
.meta { color: #59636e; font-size: .9rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .82rem; margin: .5rem 0; }
th, td { border: 1px solid #d0d7de; padding: .3rem .55rem; text-align: right; }
th { background: #f6f8fa; } td:first-child, th:first-child { text-align: left; }
.floor { color: #59636e; font-size: .8rem; }
.warn { background: #fff8c5; border-left: 4px solid #d4a72c; padding: .4rem .7rem;
        margin: .3rem 0; }
.ok { background: #dafbe1; border-left: 4px solid #2da44e; padding: .4rem .7rem; }
figure { display: inline-block; margin: .5rem; vertical-align: top; max-width: 520px; }
figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { font-size: .85rem; color: #59636e; }
pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; font-size: .8rem; }
"""


@dataclass
class Figure:
    """A PNG (path relative to the report) with a caption."""

    path: str
    caption: str


@dataclass
class Report:
    """Everything the page shows."""

    title: str
    subtitle: str = ""
    columns: Sequence[tuple[str, str]] = ()  # (key in a row, column heading)
    rows: Sequence[dict] = ()
    notes: Sequence[str] = ()
    warnings: Sequence[str] = ()
    figures: Sequence[Figure] = ()
    config_toml: str = ""
    extra_tables: dict[str, tuple[Sequence[str], Sequence[Sequence]]] = field(default_factory=dict)


def format_number(value) -> str:
    """Short human formatting: 3 significant digits, integers as they are, '-' for None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if 1e3 <= abs(value) < 1e7:
            return f"{value:,.0f}"
        if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-3):
            return f"{value:.2e}"
        return f"{value:.3g}"
    return str(value)


def _cell(value) -> str:
    """A cell; a ``(value, floor)`` pair shows the floor beneath the value."""
    if isinstance(value, tuple) and len(value) == 2:
        main, floor = value
        return f"{format_number(main)}<br><span class='floor'>floor {format_number(floor)}</span>"
    return html.escape(format_number(value))


def _table(headings: Sequence[str], rows: Sequence[Sequence]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class='scroll'>{table}</div>"


def render_html(report: Report) -> str:
    """The report as one HTML document."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(report.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1><p class='meta'>{html.escape(report.subtitle)}</p>",
    ]
    if report.rows:
        parts.append("<h2>Samplers side by side</h2>")
        headings = [heading for _, heading in report.columns]
        rows = [[row.get(key) for key, _ in report.columns] for row in report.rows]
        parts.append(_table(headings, rows))
    parts += [f"<p class='meta'>{html.escape(note)}</p>" for note in report.notes]
    parts.append("<h2>Checks</h2>")
    if report.warnings:
        parts += [f"<div class='warn'>{html.escape(w)}</div>" for w in report.warnings]
    else:
        parts.append("<div class='ok'>No warnings: R-hat, ESS and divergences look healthy.</div>")
    for title, (headings, rows) in report.extra_tables.items():
        parts += [f"<h2>{html.escape(title)}</h2>", _table(headings, rows)]
    if report.figures:
        parts.append("<h2>Figures</h2>")
        for fig in report.figures:
            parts.append(
                f"<figure><img src='{html.escape(fig.path)}' alt='{html.escape(fig.caption)}'>"
                f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>"
            )
    if report.config_toml:
        parts += [
            "<h2>Resolved configuration</h2>",
            f"<pre>{html.escape(report.config_toml)}</pre>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts)

"""The class report: one self-contained HTML page with inline SVG plots (no scripts, no assets).

Plots: the score distribution, the verdicts by status, the pass rate of each exercise and of
each check, the most common failure messages, the slowest submissions; then a table of
students linking to their feedback pages. Hidden checks appear through their public view only.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Any

from grader.config import Assignment
from grader.feedback.classstats import ClassRow, class_stats, clip

STATUS_COLORS = {
    "passed": "#1e8e3e",
    "failed": "#d93025",
    "unreadable": "#9334e6",
    "crashed": "#5f6368",
    "timeout": "#e37400",
    "not graded": "#bdc1c6",
}
STALE_NOTE = "stale: graded with other checks than the current ones"
WIDTH = 900
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


# -- SVG --------------------------------------------------------------------------------
def _svg(width: int, height: int, label: str, body: list[str], ident: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{ident}" class="plot" role="img" aria-label="{escape(label)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} font-size="12">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


@dataclass
class Bar:
    label: str
    value: float
    text: str  # printed after the bar
    color: str = "#1a73e8"
    tooltip: str = ""


def hbars(ident: str, title: str, bars: list[Bar], *, vmax: float | None = None, label_width: int = 300) -> str:
    """Horizontal bars, one row per item, label on the left (clipped to fit), value text on the right."""
    row, top = 24, 8
    label_chars = (label_width - 12) // 7
    if not bars:
        return _svg(WIDTH, 40, title, ['<text x="8" y="24" fill="#5f6368">Nothing to show.</text>'], ident)
    vmax = vmax if vmax is not None else max((b.value for b in bars), default=1.0) or 1.0
    area = WIDTH - label_width - 90
    body = []
    for i, b in enumerate(bars):
        y = top + i * row
        w = max(0.0, min(1.0, b.value / vmax)) * area
        tip = escape(b.tooltip or b.label)
        body.append(
            f'<g class="bar"><title>{tip}: {escape(b.text)}</title>'
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" fill="#202124">'
            f"{escape(clip(b.label, label_chars))}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{area:.1f}" height="{row - 8}" fill="#f1f3f4"/>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{b.color}"/>'
            f'<text x="{label_width + area + 6}" y="{y + 15}" fill="#3c4043">{escape(b.text)}</text></g>'
        )
    return _svg(WIDTH, top * 2 + row * len(bars), title, body, ident)


def message_bars(ident: str, title: str, bars: list[Bar], *, vmax: float) -> str:
    """One item per two lines: the whole message above, its bar and count below."""
    row, top = 40, 6
    if not bars:
        return _svg(WIDTH, 40, title, ['<text x="8" y="24" fill="#5f6368">No failures.</text>'], ident)
    area = WIDTH - 120
    body = []
    for i, b in enumerate(bars):
        y = top + i * row
        w = max(0.0, min(1.0, b.value / (vmax or 1))) * area
        body.append(
            f'<g class="bar"><title>{escape(b.tooltip or b.label)}</title>'
            f'<text x="8" y="{y + 13}" fill="#202124">{escape(clip(b.label, 140))}</text>'
            f'<rect x="8" y="{y + 19}" width="{area:.1f}" height="12" fill="#f1f3f4"/>'
            f'<rect x="8" y="{y + 19}" width="{w:.1f}" height="12" fill="{b.color}"/>'
            f'<text x="{area + 14}" y="{y + 30}" fill="#3c4043">{escape(b.text)}</text></g>'
        )
    return _svg(WIDTH, top * 2 + row * len(bars), title, body, ident)


def histogram(ident: str, title: str, bins: list[tuple[str, int]], *, xlabel: str) -> str:
    """Vertical bars with a count axis; `bins` are (label, count) in order."""
    height, left, bottom, top = 260, 44, 46, 14
    plot_w, plot_h = WIDTH - left - 16, height - bottom - top
    peak = max((c for _, c in bins), default=0)
    ymax = max(1, peak)
    step = max(1, -(-ymax // 5))
    ymax = step * -(-ymax // step)
    body = []
    for tick in range(0, ymax + 1, step):
        y = top + plot_h - plot_h * tick / ymax
        body.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e8eaed"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5f6368">{tick}</text>'
        )
    n = max(1, len(bins))
    slot = plot_w / n
    every = max(1, -(-n // 12))
    for i, (label, count) in enumerate(bins):
        h = plot_h * count / ymax
        x = left + i * slot
        body.append(
            f'<g class="bar"><title>{escape(label)}: {count} student{"s" if count != 1 else ""}</title>'
            f'<rect x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" width="{max(1.0, slot - 4):.1f}" '
            f'height="{h:.1f}" fill="#1a73e8"/>'
            + (
                f'<text x="{x + slot / 2:.1f}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle" '
                f'fill="#202124">{count}</text>'
                if count
                else ""
            )
            + "</g>"
        )
        if i % every == 0:
            body.append(
                f'<text x="{x + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'fill="#5f6368">{escape(label)}</text>'
            )
    body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#5f6368"/>')
    body.append(
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" fill="#3c4043">{escape(xlabel)}</text>'
    )
    return _svg(WIDTH, height, title, body, ident)


def stacked(ident: str, title: str, counts: list[tuple[str, int, str]]) -> str:
    """One bar split by category, with a legend: (label, count, color)."""
    total = sum(c for _, c, _ in counts) or 1
    body, x = [], 8.0
    width = WIDTH - 16
    for label, count, color in counts:
        if not count:
            continue
        w = width * count / total
        body.append(
            f'<rect x="{x:.1f}" y="8" width="{w:.1f}" height="26" fill="{color}">'
            f"<title>{escape(label)}: {count}</title></rect>"
        )
        x += w
    lx = 8
    for label, count, color in counts:
        if not count:
            continue
        text = f"{label}: {count}"
        body.append(
            f'<rect x="{lx}" y="46" width="12" height="12" fill="{color}"/>'
            f'<text x="{lx + 16}" y="57" fill="#202124">{escape(text)}</text>'
        )
        lx += 30 + 7 * len(text)
    return _svg(WIDTH, 68, title, body, ident)


# -- statistics -------------------------------------------------------------------------
def score_bins(scores: list[float], max_score: float) -> tuple[list[tuple[str, int]], str]:
    whole = all(abs(s - round(s)) < 1e-9 for s in scores)
    if 0 < max_score <= 20 and float(max_score).is_integer() and whole:
        top = int(round(max_score))
        counts = Counter(int(round(s)) for s in scores)
        return [(str(v), counts.get(v, 0)) for v in range(0, top + 1)], f"score (out of {max_score:g})"
    bins = [0] * 10
    for s in scores:
        pct = 100.0 * s / max_score if max_score else 0.0
        bins[min(9, int(pct // 10))] += 1
    return [
        (f"{10 * i}–{10 * i + 10}%" if i < 9 else "90–100%", c) for i, c in enumerate(bins)
    ], "score (% of the maximum)"


def _rate_bar(label: str, passed: int, total: int, tooltip: str = "") -> Bar:
    rate = passed / total if total else 0.0
    color = "#1e8e3e" if rate >= 0.8 else "#f9ab00" if rate >= 0.5 else "#d93025"
    return Bar(label, rate, f"{100 * rate:.0f}% ({passed}/{total})", color, tooltip)


def plots(assignment: Assignment, stats: dict[str, Any]) -> dict[str, str]:
    bins, xlabel = score_bins(stats["scores"], stats["max_score"])
    order = list(STATUS_COLORS)
    status_counts = [(s, stats["statuses"].get(s, 0), STATUS_COLORS[s]) for s in order]
    status_counts += [(s, n, "#80868b") for s, n in stats["statuses"].items() if s not in STATUS_COLORS]
    exercise_bars = [
        _rate_bar(f"{name}: {title}" if title != name else name, p, t, tooltip=title)
        for name, title, p, t in stats["exercise_rates"]
    ]
    check_bars = [
        _rate_bar(
            f"{ex}: {name.removeprefix('test_')}" + (" (hidden)" if hidden else ""),
            p,
            t,
            tooltip=f"{ex}: {name}" + (" (hidden)" if hidden else ""),
        )
        for ex, name, hidden, p, t in stats["check_rates"]
    ]
    top = stats["failures"][0][1] if stats["failures"] else 1
    failure_bars = [
        Bar(
            msg,
            n,
            f"{n} student{'s' if n != 1 else ''}",
            "#d93025",
            tooltip=msg + "  [" + ", ".join(sorted(stats["failure_checks"][msg])) + "]",
        )
        for msg, n in stats["failures"]
    ]
    slow = stats["slowest"]
    slow_bars = [
        Bar(r.student, r.seconds, f"{r.seconds:.1f} s", "#12b5cb", tooltip=f"{r.student} ({r.status})") for r in slow
    ]
    return {
        "scores": histogram("plot-scores", "Score distribution", bins, xlabel=xlabel),
        "statuses": stacked("plot-statuses", "Verdicts by status", status_counts),
        "exercises": hbars("plot-exercises", "Pass rate per exercise", exercise_bars, vmax=1.0, label_width=440),
        "checks": hbars("plot-checks", "Pass rate per check", check_bars, vmax=1.0, label_width=440),
        "failures": message_bars("plot-failures", "Most common failure messages", failure_bars, vmax=top),
        "slowest": hbars("plot-slowest", "Slowest submissions", slow_bars),
    }


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader.feedback", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["num"] = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    return env


def render_report(assignment: Assignment, rows: list[ClassRow], similarity: str = "") -> str:
    """The class report as one HTML page; `similarity`: the section grader.similarity.view made
    (its student text already escaped)."""
    from markupsafe import Markup

    stats = class_stats(assignment, rows)
    svgs = {k: Markup(v) for k, v in plots(assignment, stats).items()}
    exercises = [e for e, *_ in stats["exercise_rates"]] or list(assignment.exercises)
    table = []
    for r in rows:
        per_ex = r.result.exercise_scores() if r.result else {}
        note = r.reason or (", ".join(r.result.errors[:1]) if r.result and r.status == "failed" else "")
        if r.stale:
            note = "; ".join(n for n in (STALE_NOTE, note) if n)
        table.append({"row": r, "exercises": [per_ex.get(e) for e in exercises], "note": note})
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            title=assignment.title,
            slug=assignment.slug,
            stats=stats,
            plots=svgs,
            exercises=exercises,
            table=table,
            colors=STATUS_COLORS,
            stale=sum(r.stale for r in rows),
            similarity=Markup(similarity),
        )
    )

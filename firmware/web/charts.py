"""Charts for the analytics page, drawn on the server as small accessible SVG.

API (each returns `Markup`, safe to put in a template; every label is escaped):
    bars(key, points, title, desc, value_text)   vertical bars, e.g. calls per day
    heatmap(key, grid, rows, title, desc, value_text)   7 x 24 cells, e.g. hour of week
    funnel(key, rows, title, desc, entered_text, left_text)   per node: entered / left there
    share(key, parts, title, desc)                one 100 % bar with a legend
    nice_ceiling(value) -> int                    1, 2, 5 x 10^n at or above `value`

Why SVG from the server: no chart library to vendor, nothing to run in the browser, and
the page works without JavaScript. Accessibility: each chart is `role="img"` named by
its <title> and described by its <desc>, every mark has a <title> (a tooltip and a
screen-reader label), and the page shows the same numbers as a table beside it.
Readability at 360 px: the view boxes are phone-sized (VIEW_W units wide) and scale up
on a wider screen, so a label is never drawn smaller than about 10 CSS px.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

VIEW_W = 320  # user units: about the width of a phone's card, so text stays readable
FONT = 12  # user units: about 11 CSS px on a 360 px phone
BRAND = (15, 118, 110)  # --brand, #0f766e
EMPTY = (238, 242, 245)
LEFT_COLOUR = "#b91c1c"  # --bad: callers who hung up in a node
GRID_COLOUR = "#dde3ea"
INK = "#1c2430"
MUTED = "#5b6675"


def nice_ceiling(value: float) -> int:
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def _open(key: str, height: float, title: str, desc: str) -> str:
    k = escape(key)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {VIEW_W} {height:.0f}" role="img" '
            f'aria-labelledby="{k}-t {k}-d" font-size="{FONT}" font-family="inherit">'
            f'<title id="{k}-t">{escape(title)}</title><desc id="{k}-d">{escape(desc)}</desc>')


def _shade(fraction: float) -> str:
    f = max(0.0, min(1.0, fraction))
    r, g, b = (round(e + (c - e) * f) for e, c in zip(EMPTY, BRAND))
    return f"rgb({r},{g},{b})"


def bars(key: str, points: Sequence[tuple[str, int]], title: str, desc: str,
         value_text: Callable[[str, int], str], label_every: int = 5,
         short: Callable[[str], str] = lambda s: s) -> Markup:
    """`points`: (label, value) in order; `value_text(label, value)` for each bar's tooltip;
    every `label_every`-th label (counted from the last) is written under the axis."""
    left, right, top, bottom, height = 28, 6, 10, 22, 170
    plot_w, plot_h = VIEW_W - left - right, height - top - bottom
    peak = nice_ceiling(max((v for _, v in points), default=0))
    out = [_open(key, height, title, desc)]
    for tick in (0, peak / 2, peak):
        y = top + plot_h - plot_h * tick / peak
        out.append(f'<line x1="{left}" x2="{VIEW_W - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{tick:g}</text>')
    n = max(1, len(points))
    slot = plot_w / n
    for i, (label, value) in enumerate(points):
        h = plot_h * value / peak
        x = left + i * slot
        out.append(f'<rect x="{x + slot * 0.15:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                   f'height="{max(h, 0):.1f}" rx="1.5" fill="rgb{BRAND}">'
                   f'<title>{escape(value_text(label, value))}</title></rect>')
        if (n - 1 - i) % label_every == 0:
            centre = x + slot / 2
            anchor = "end" if centre > VIEW_W - 16 else "middle"
            at = VIEW_W - 1 if anchor == "end" else centre
            out.append(f'<text x="{at:.1f}" y="{height - 6}" text-anchor="{anchor}" fill="{MUTED}">'
                       f'{escape(short(label))}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def heatmap(key: str, grid: Sequence[Sequence[int]], rows: Sequence[str], title: str, desc: str,
            value_text: Callable[[int, int, int], str], hour_every: int = 3) -> Markup:
    """`grid[row][hour]` counts (rows: the days, Monday first); darker = more calls."""
    left, top, gap = 30, 16, 1.5
    cols = len(grid[0]) if grid else 24
    cell = (VIEW_W - left - 2) / cols
    row_h = max(cell, FONT + 4.0)  # day names need the height even where hours are narrow
    height = top + row_h * len(grid) + 4
    peak = max((v for row in grid for v in row), default=0)
    out = [_open(key, height, title, desc)]
    for hour in range(0, cols, hour_every):
        out.append(f'<text x="{left + hour * cell + cell / 2:.1f}" y="{top - 5}" text-anchor="middle" '
                   f'fill="{MUTED}">{hour}</text>')
    for r, (name, row) in enumerate(zip(rows, grid)):
        y = top + r * row_h
        out.append(f'<text x="{left - 5}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="{INK}">'
                   f'{escape(name)}</text>')
        for hour, value in enumerate(row):
            colour = _shade(value / peak) if peak and value else f"rgb{EMPTY}"
            out.append(f'<rect x="{left + hour * cell + gap / 2:.1f}" y="{y + gap / 2:.1f}" '
                       f'width="{cell - gap:.1f}" height="{row_h - gap:.1f}" rx="2" fill="{colour}">'
                       f'<title>{escape(value_text(r, hour, value))}</title></rect>')
    out.append("</svg>")
    return Markup("".join(out))


def funnel(key: str, rows: Sequence[tuple[str, int, int]], title: str, desc: str,
           entered_text: Callable[[int], str], left_text: Callable[[int], str]) -> Markup:
    """`rows`: (node label, calls that entered it, callers who hung up there). Each node is
    a bar as long as its share of the busiest node; the red part is who left there."""
    row_h, bar_h, top = 52, 12, 2
    height = top + row_h * max(1, len(rows))
    peak = max((entered for _, entered, _ in rows), default=0) or 1
    out = [_open(key, height, title, desc)]
    for i, (label, entered, left_here) in enumerate(rows):
        y = top + i * row_h
        w = (VIEW_W - 2) * entered / peak
        lw = (VIEW_W - 2) * left_here / peak
        note = entered_text(entered) + (" · " + left_text(left_here) if left_here else "")
        out.append(f'<g><title>{escape(label)}: {escape(note)}</title>'
                   f'<text x="1" y="{y + 12}" fill="{INK}" font-weight="600">{escape(label)}</text>'
                   f'<rect x="1" y="{y + 17}" width="{VIEW_W - 2}" height="{bar_h}" rx="3" fill="rgb{EMPTY}"/>'
                   f'<rect x="1" y="{y + 17}" width="{max(w, 1):.1f}" height="{bar_h}" rx="3" fill="rgb{BRAND}"/>')
        if left_here:
            out.append(f'<rect x="{1 + w - lw:.1f}" y="{y + 17}" width="{max(lw, 1.5):.1f}" height="{bar_h}" '
                       f'rx="3" fill="{LEFT_COLOUR}"/>')
        out.append(f'<text x="1" y="{y + 17 + bar_h + 13}" fill="{MUTED}">{escape(note)}</text></g>')
    out.append("</svg>")
    return Markup("".join(out))


def share(key: str, parts: Sequence[tuple[str, int, str]], title: str, desc: str) -> Markup:
    """`parts`: (label, count, colour); one bar split by share, a legend line per part."""
    total = sum(count for _, count, _ in parts)
    bar_h, line_h = 22, 20
    height = bar_h + 10 + line_h * len(parts)
    out = [_open(key, height, title, desc)]
    x = 1.0
    out.append(f'<rect x="1" y="1" width="{VIEW_W - 2}" height="{bar_h}" rx="4" fill="rgb{EMPTY}"/>')
    for label, count, colour in parts:
        if not total or not count:
            continue
        w = (VIEW_W - 2) * count / total
        out.append(f'<rect x="{x:.1f}" y="1" width="{w:.1f}" height="{bar_h}" fill="{escape(colour)}">'
                   f'<title>{escape(label)}: {count} ({100 * count / total:.0f} %)</title></rect>')
        x += w
    for i, (label, count, colour) in enumerate(parts):
        y = bar_h + 10 + i * line_h
        pct = f"{100 * count / total:.0f} %" if total else "–"
        out.append(f'<rect x="1" y="{y + 3}" width="11" height="11" rx="2" fill="{escape(colour)}"/>'
                   f'<text x="18" y="{y + 12}" fill="{INK}">{escape(label)}</text>'
                   f'<text x="{VIEW_W - 1}" y="{y + 12}" text-anchor="end" fill="{INK}" font-weight="600">'
                   f'{pct} <tspan fill="{MUTED}" font-weight="400">({count})</tspan></text>')
    out.append("</svg>")
    return Markup("".join(out))

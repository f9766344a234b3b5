"""The call-flow diagram drawn as SVG, on the layout of `firmware.web.flowgraph`.

API:
    render_svg(flow, t, labels, selected=None, bad=(), link="/menus/node/") -> str
        a box per node (type icon, type name, id, one line of detail), arrows labelled
        with keys and branches (`data-edge="source|label|target"`), the entry marked;
        `bad` nodes get a red edge and a "!", `selected` a thick one; each box links to
        `link + node id`
    clip(text, units) -> str       text cut to a width, CJK counted double

Styling is presentation attributes, not <style>, so the page's CSP (no inline styles)
allows the SVG inline and it also renders alone as image/svg+xml. Icons are drawn with
lines (no emoji font is needed on the Pi or in a test browser).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from html import escape
from typing import Any

from firmware.web.flowgraph import BACK_OFFSET, BOX_H, BOX_W, MARGIN, TOP, layout, nodes_of

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans TC', 'WenQuanYi Micro Hei', sans-serif"
DETAIL_UNITS = 25  # detail line length, in Latin-character widths
COLOURS: dict[str, tuple[str, str]] = {  # type -> (fill, accent)
    "menu": ("#e3f3f1", "#0f766e"), "play": ("#eef2ff", "#4338ca"), "hangup": ("#f3f4f6", "#4b5563"),
    "schedule": ("#fff4e0", "#b45309"), "voicemail": ("#fdf2f8", "#be185d"), "forward": ("#e8f6ec", "#15803d"),
}
OTHER_COLOURS = ("#f8fafc", "#475569")


def _units(text: str) -> float:
    return sum(2.0 if ord(c) > 0x2E80 else (0.6 if c in "il.,:;'|!" else 1.0) for c in text)


def clip(text: str, units: float) -> str:
    """`text` cut to about `units` Latin-character widths (CJK counts double), with an ellipsis."""
    text = " ".join(str(text).split())
    if _units(text) <= units:
        return text
    out, used = "", 0.0
    for c in text:
        used += _units(c)
        if used > units - 1:
            break
        out += c
    return out.rstrip() + "…"


def _icon(kind: str, x: float, y: float, colour: str) -> str:
    """A 16 px glyph for a node type, drawn with lines (no emoji font needed)."""
    a = f'fill="none" stroke="{colour}" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"'
    if kind == "menu":  # a keypad
        return "".join(f'<circle cx="{x + 3 + 5 * (i % 3)}" cy="{y + 3 + 5 * (i // 3)}" r="1.6" fill="{colour}"/>'
                       for i in range(9))
    if kind == "play":  # a speaker
        return (f'<path d="M{x + 1} {y + 6}h4l5-4v12l-5-4h-4z" {a}/>'
                f'<path d="M{x + 13} {y + 5}q2 3 0 6" {a}/>')
    if kind == "hangup":  # a handset, down
        return f'<path d="M{x} {y + 10}q8-7 16 0l-1 3-4-1v-3q-3-1-6 0v3l-4 1z" {a}/>'
    if kind == "schedule":  # a clock
        return f'<circle cx="{x + 8}" cy="{y + 8}" r="7" {a}/><path d="M{x + 8} {y + 4}v4l3 2" {a}/>'
    if kind == "voicemail":  # the voicemail symbol
        return (f'<circle cx="{x + 4}" cy="{y + 9}" r="3.5" {a}/><circle cx="{x + 12}" cy="{y + 9}" r="3.5" {a}/>'
                f'<path d="M{x + 4} {y + 12.5}h8" {a}/>')
    if kind == "forward":  # an arrow to a person
        return f'<path d="M{x + 1} {y + 8}h12m-4-4 4 4-4 4" {a}/><circle cx="{x + 15}" cy="{y + 8}" r="1" fill="{colour}"/>'
    return f'<circle cx="{x + 8}" cy="{y + 8}" r="6" {a}/>'


def _path(points: list[tuple[float, float]], back: bool) -> str:
    if back:
        (x0, y0), (x1, y1) = points
        if y0 - y1 > BOX_H:  # up into a box's bottom edge
            return f"M{x0:.1f} {y0:.1f}C{x0:.1f} {y0 - 40:.1f} {x1:.1f} {y1 + 40:.1f} {x1:.1f} {y1 + 3:.1f}"
        bulge = max(x0, x1) + BACK_OFFSET
        return f"M{x0:.1f} {y0:.1f}C{bulge:.1f} {y0:.1f} {bulge:.1f} {y1:.1f} {x1 + 3:.1f} {y1:.1f}"
    d = f"M{points[0][0]:.1f} {points[0][1]:.1f}"
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        mid = (ya + yb) / 2
        d += f"C{xa:.1f} {mid:.1f} {xb:.1f} {mid:.1f} {xb:.1f} {yb - 3:.1f}" if yb - ya > 20 else f"L{xb:.1f} {yb:.1f}"
    return d


def render_svg(flow: Mapping[str, Any], t: Callable[[str], str], labels: Mapping[str, str],
               selected: str | None = None, bad: Iterable[str] = (), link: str = "/menus/node/") -> str:
    """The diagram as an <svg> element. `labels` maps node types to their (translated)
    names; each node's detail line comes from `detail_of` data put in `labels` under
    "detail:<node id>" (the caller decides what to say about a node)."""
    nodes = nodes_of(flow)
    bad = set(bad)
    lay = layout(flow)
    w, h = max(lay.width, 2 * MARGIN + BOX_W), max(lay.height, TOP + BOX_H + MARGIN)
    title = escape(t("Call flow diagram"))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" '
             f'height="{h:.0f}" role="img" aria-label="{title}" font-family="{FONT}" data-nodes="{len(nodes)}">',
             '<defs><marker id="fg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#64748b"/></marker>'
             '<marker id="fg-arrow-key" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#0f766e"/></marker></defs>']
    entry = flow.get("entry")
    if entry in lay.pos:
        ex, ey = lay.pos[str(entry)]
        cx = ex + BOX_W / 2
        text = escape(t("Incoming call"))
        tw = _units(t("Incoming call")) * 7 + 20
        parts.append(f'<rect x="{cx - tw / 2:.1f}" y="4" width="{tw:.1f}" height="22" rx="11" fill="#1c2430"/>'
                     f'<text x="{cx:.1f}" y="19.5" text-anchor="middle" font-size="12" font-weight="600" '
                     f'fill="#fff">{text}</text>'
                     f'<path d="M{cx:.1f} 26V{ey - 3:.1f}" stroke="#1c2430" stroke-width="2" '
                     f'marker-end="url(#fg-arrow)"/>')
    pills: list[str] = []
    taken: list[tuple[float, float, float]] = []  # label boxes already placed (x0, x1, y)
    for e, pts, back in lay.routes:
        key = e.kind == "key"
        colour = "#0f766e" if key else "#64748b"
        dash = ' stroke-dasharray="5 4"' if e.kind in ("silent", "operator") else ""
        marker = "fg-arrow-key" if key else "fg-arrow"
        parts.append(f'<path d="{_path(pts, back)}" fill="none" stroke="{colour}" stroke-width="{1.8 if key else 1.4}"'
                     f'{dash} marker-end="url(#{marker})" data-edge="{escape(f"{e.source}|{e.label}|{e.target}")}"><title>{escape(e.source)} → {escape(e.target)}</title></path>')
        if not e.label:
            continue
        label = e.label if e.kind in ("key", "operator") else t(e.label)
        lw = max(20.0, _units(label) * 6.6 + 12)
        x0, y0 = pts[0]
        if back:
            lx, ly = x0 + 8 + lw / 2, y0 - 12
        else:
            lx, ly = x0, y0 + 14
            while any(abs(ly - y) < 1 and lx - lw / 2 < b and lx + lw / 2 > a for a, b, y in taken):
                ly += 20
        taken.append((lx - lw / 2 - 2, lx + lw / 2 + 2, ly))
        fill, ink = ("#0f766e", "#fff") if key or e.kind == "operator" else ("#fff", "#334155")
        pills.append(f'<g><rect x="{lx - lw / 2:.1f}" y="{ly - 9:.1f}" width="{lw:.1f}" height="18" rx="9" '
                     f'fill="{fill}" stroke="{colour}" stroke-width="1"/><text x="{lx:.1f}" y="{ly + 4.5:.1f}" '
                     f'text-anchor="middle" font-size="12" font-weight="700" fill="{ink}">{escape(label)}</text></g>')
    for nid, node in nodes.items():
        x, y = lay.pos[nid]
        kind = str(node.get("type", ""))
        fill, accent = COLOURS.get(kind, OTHER_COLOURS)
        stroke, width = accent, 1.5
        if nid in bad:
            stroke, width = "#b91c1c", 2.5
        if nid == selected:
            width = 3.5
        detail = labels.get(f"detail:{nid}", "")
        parts.append(f'<a href="{escape(link + nid)}" data-node="{escape(nid)}"><g>'
                     f'<title>{escape(nid)}{" — " + escape(detail) if detail else ""}</title>'
                     f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="10" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="{width}"/>'
                     f'<rect x="{x:.1f}" y="{y:.1f}" width="6" height="{BOX_H}" rx="3" fill="{accent}"/>'
                     + _icon(kind, x + 14, y + 7, accent) +
                     f'<text x="{x + 36:.1f}" y="{y + 19:.1f}" font-size="11.5" font-weight="600" fill="{accent}">'
                     f'{escape(clip(labels.get(kind, kind), 18))}</text>'
                     f'<text x="{x + 14:.1f}" y="{y + 40:.1f}" font-size="14" font-weight="700" fill="#1c2430">'
                     f'{escape(clip(nid, 21))}</text>'
                     f'<text x="{x + 14:.1f}" y="{y + 57:.1f}" font-size="11.5" fill="#5b6675">'
                     f'{escape(clip(detail, DETAIL_UNITS))}</text>')
        if nid in bad:
            parts.append(f'<circle cx="{x + BOX_W - 14:.1f}" cy="{y + 14:.1f}" r="8" fill="#b91c1c"/>'
                         f'<text x="{x + BOX_W - 14:.1f}" y="{y + 18.5:.1f}" text-anchor="middle" font-size="12" '
                         f'font-weight="700" fill="#fff">!</text>')
        parts.append("</g></a>")
    parts += pills
    parts.append("</svg>")
    return "".join(parts)

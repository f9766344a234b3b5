"""The call flow as a diagram: a layered layout drawn as server-side SVG.

API:
    Edge(source, target, label, kind)      one arrow; kind "key" | "silent" | "branch" | "operator"
    flow_edges(flow) -> list[Edge]         the arrows of a flow given as plain data
                                           (the draft may be invalid: missing or odd
                                           fields are skipped, never raised)
    layout(flow) -> Layout                 boxes (x, y per node) and routed edges
    render_svg(flow, t, labels, selected=None, bad=()) -> str
        the diagram: a box per node (type icon, type, id, one line of detail), arrows
        labelled with keys and branches, the entry marked; `bad` nodes get a red edge,
        `selected` a thick one; every box links to its edit page

Why a home-made layout: the flows are small (a handful to a few dozen nodes), the page
must work offline on a Pi, and a Sugiyama-style layering (break cycles, longest-path
layers, dummy points on long edges, barycentre ordering) is a hundred lines. Arrows
that go back up (a menu option that returns to the menu) are drawn as curves on the
right. Styling is presentation attributes, not <style>, so the CSP (no inline styles)
allows the SVG inline and it also renders alone as image/svg+xml.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

BOX_W = 184  # px, one node
BOX_H = 66
GAP_X = 30  # between boxes of a layer
DUMMY_W = 18  # a long edge passing through a layer
LAYER_GAP = 78  # vertical space between layers (room for key labels)
MARGIN = 16
TOP = 44  # room for the "incoming call" marker
BACK_OFFSET = 46  # how far right a back edge bulges
ORDER_SWEEPS = 3  # down, up, down: the last one keeps keys in order
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans TC', 'WenQuanYi Micro Hei', sans-serif"
DETAIL_UNITS = 25  # detail line length, in Latin-character widths

COLOURS: dict[str, tuple[str, str]] = {  # type -> (fill, accent)
    "menu": ("#e3f3f1", "#0f766e"), "play": ("#eef2ff", "#4338ca"), "hangup": ("#f3f4f6", "#4b5563"),
    "schedule": ("#fff4e0", "#b45309"), "voicemail": ("#fdf2f8", "#be185d"), "forward": ("#e8f6ec", "#15803d"),
}
OTHER_COLOURS = ("#f8fafc", "#475569")

# type -> [(field, label or None = the field's own name as a branch, kind)]
_SINGLE: dict[str, tuple[tuple[str, str, str], ...]] = {
    "menu": (("final", "no key", "silent"), ("operator", "operator", "key")),
    "play": (("next", "", "silent"),),
    "schedule": (("open", "open", "branch"), ("closed", "closed", "branch"), ("holiday", "holiday", "branch")),
    "language": (("next", "", "silent"),),
    "extension": (("final", "no key", "silent"),),
    "forward": (("fallback", "no answer", "silent"),),
    "voicemail": (("next", "", "silent"),),
    "callback": (("next", "", "silent"),),
    "survey": (("next", "", "silent"),),
    "mailbox_login": (("next", "done", "key"), ("fail", "wrong PIN", "silent")),
    "screen": (("next", "passed", "key"), ("fail", "failed", "silent")),
    "lookup": (("next", "done", "silent"), ("fallback", "failed", "silent"), ("operator", "operator", "key")),
}
_MAPS = {"menu": "options", "extension": "extensions"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str  # untranslated ("1", "no key", "open", "")
    kind: str  # key, silent, branch, operator


@dataclass
class Layout:
    pos: dict[str, tuple[float, float]]  # node -> top-left corner
    layer: dict[str, int]
    width: float
    height: float
    routes: list[tuple[Edge, list[tuple[float, float]], bool]] = field(default_factory=list)  # points, back


def _nodes(flow: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    nodes = flow.get("nodes") if isinstance(flow, Mapping) else None
    if not isinstance(nodes, Mapping):
        return {}
    return {str(k): (v if isinstance(v, Mapping) else {}) for k, v in nodes.items()}


def flow_edges(flow: Mapping[str, Any]) -> list[Edge]:
    nodes = _nodes(flow)
    operator = flow.get("operator") if isinstance(flow.get("operator"), str) else None
    out: list[Edge] = []
    for nid, node in nodes.items():
        kind = str(node.get("type", ""))
        mapping = node.get(_MAPS.get(kind, ""))
        if isinstance(mapping, Mapping):
            out += [Edge(nid, str(v), str(k), "key") for k, v in mapping.items() if isinstance(v, str) and v in nodes]
        for name, label, edge_kind in _SINGLE.get(kind, ()):
            target = node.get(name)
            if isinstance(target, str) and target in nodes:
                if name == "operator":
                    label = str(node.get("operator_key", "0") or "0")
                out.append(Edge(nid, target, label, edge_kind))
        key = node.get("operator_key", "0")
        if kind in ("menu", "lookup") and key and not node.get("operator") and operator in nodes:
            out.append(Edge(nid, str(operator), str(key), "operator"))
    return out


def _roots(flow: Mapping[str, Any], nodes: Iterable[str]) -> list[str]:
    entry = flow.get("entry")
    ids = list(nodes)
    return ([entry] if entry in ids else []) + [n for n in ids if n != entry]


def _forward_edges(flow: Mapping[str, Any], edges: list[Edge]) -> tuple[list[Edge], set[int]]:
    """Edges with the back edges (those closing a cycle in a depth-first walk) set apart."""
    ids = list(_nodes(flow))
    out: dict[str, list[tuple[int, Edge]]] = {n: [] for n in ids}
    for i, e in enumerate(edges):
        out[e.source].append((i, e))
    state: dict[str, int] = {}
    back: set[int] = set()
    for root in _roots(flow, ids):
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            nid, k = stack[-1]
            if k < len(out[nid]):
                stack[-1] = (nid, k + 1)
                i, e = out[nid][k]
                if state.get(e.target) == 1 or e.target == nid:
                    back.add(i)
                elif e.target not in state:
                    state[e.target] = 1
                    stack.append((e.target, 0))
            else:
                state[nid] = 2
                stack.pop()
    return [e for i, e in enumerate(edges) if i not in back], back


def _discovery(flow: Mapping[str, Any], edges: list[Edge]) -> list[str]:
    """Nodes in the order a breadth-first walk along the edges meets them (keys in order)."""
    nodes = list(_nodes(flow))
    seen: list[str] = []
    for root in _roots(flow, nodes):
        if root in seen:
            continue
        queue = [root]
        seen.append(root)
        while queue:
            nid = queue.pop(0)
            for e in edges:
                if e.source == nid and e.target not in seen:
                    seen.append(e.target)
                    queue.append(e.target)
    return seen


def layout(flow: Mapping[str, Any]) -> Layout:
    nodes = _nodes(flow)
    edges = flow_edges(flow)
    forward, back = _forward_edges(flow, edges)
    order = _discovery(flow, edges)
    layer = {n: 0 for n in nodes}
    for _ in range(len(nodes)):  # longest path on the acyclic part
        changed = False
        for e in forward:
            if layer[e.target] < layer[e.source] + 1:
                layer[e.target] = layer[e.source] + 1
                changed = True
        if not changed:
            break
    depth = max(layer.values(), default=0) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for n in order:
        rows[layer[n]].append(n)
    # Long forward edges pass through dummy points, one per layer crossed.
    chains: list[tuple[Edge, list[str]]] = []
    width_of: dict[str, float] = {n: BOX_W for n in nodes}
    ups: dict[str, list[str]] = {n: [] for n in nodes}
    for i, e in enumerate(forward):
        chain = [e.source]
        for k in range(layer[e.source] + 1, layer[e.target]):
            d = f"\0{i}:{k}"
            rows[k].append(d)
            width_of[d] = DUMMY_W
            ups[d] = [chain[-1]]
            chain.append(d)
        ups[e.target].append(chain[-1])
        chain.append(e.target)
        chains.append((e, chain))
    downs: dict[str, list[str]] = {n: [] for n in width_of}
    for n, parents in ups.items():
        for p in parents:
            downs[p].append(n)
    for sweep in range(ORDER_SWEEPS):  # barycentre ordering, down then up
        rng = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
        for k in rng:
            ref = rows[k - 1] if sweep % 2 == 0 else rows[k + 1]
            index = {n: i for i, n in enumerate(ref)}
            links = ups if sweep % 2 == 0 else downs
            other = downs if sweep % 2 == 0 else ups

            def bary(n: str, current: int) -> float:
                # a neighbour's place, nudged by this item's rank among its links (key order)
                found = [index[p] + (other[p].index(n) + 1) / (len(other[p]) + 1) for p in links[n] if p in index]
                return sum(found) / len(found) if found else float(current)
            rows[k] = [n for _, n in sorted(((bary(n, i), n) for i, n in enumerate(rows[k])), key=lambda x: x[0])]
    xs = _place(rows, width_of, ups, downs)
    pos = {n: (xs[n], TOP + layer[n] * (BOX_H + LAYER_GAP)) for n in nodes}
    right = max((xs[n] + width_of[n] for n in xs), default=MARGIN)
    out = Layout(pos=pos, layer=layer, width=right + MARGIN + (BACK_OFFSET if back else 0),
                 height=TOP + depth * (BOX_H + LAYER_GAP) - LAYER_GAP + MARGIN)
    ports = _ports(edges, forward, chains, back, pos, xs, layer)
    out.routes = ports
    return out


def _place(rows: list[list[str]], width_of: Mapping[str, float], ups: Mapping[str, list[str]],
           downs: Mapping[str, list[str]]) -> dict[str, float]:
    """x of every item: packed, then under the mean of its parents, then over the mean of
    its children, then under its parents again; never overlapping; left edge at MARGIN."""
    xs: dict[str, float] = {}
    for row in rows:
        x = 0.0
        for n in row:
            xs[n] = x
            x += width_of[n] + GAP_X
    both = {n: [*ups.get(n, []), *downs.get(n, [])] for n in width_of}
    passes = ((rows, ups), (rows[::-1], downs), (rows, both), (rows[::-1], both))
    for order, links in passes:
        for row in order:
            wanted = []
            for n in row:
                near = [xs[p] + width_of[p] / 2 for p in links.get(n, [])]
                wanted.append(sum(near) / len(near) - width_of[n] / 2 if near else xs[n])
            _fit(row, wanted, width_of, xs)
    low = min(xs.values(), default=0.0)
    return {n: x - low + MARGIN for n, x in xs.items()}


def _fit(row: list[str], wanted: list[float], width_of: Mapping[str, float], xs: dict[str, float]) -> None:
    """Place a row's items as near their wished x as their order and widths allow."""
    placed: list[float] = []
    for i, n in enumerate(row):  # left to right: no overlap
        placed.append(wanted[i] if not placed else max(wanted[i], placed[-1] + width_of[row[i - 1]] + GAP_X))
    for i in range(len(row) - 2, -1, -1):  # right to left: pull back towards the wish
        limit = placed[i + 1] - width_of[row[i]] - GAP_X
        placed[i] = min(max(placed[i], wanted[i]) if placed[i] <= wanted[i] else placed[i], limit)
    for n, x in zip(row, placed):
        xs[n] = x


def _ports(edges: list[Edge], forward: list[Edge], chains: list[tuple[Edge, list[str]]], back: set[int],
           pos: Mapping[str, tuple[float, float]], xs: Mapping[str, float],
           layer: Mapping[str, int]) -> list[tuple[Edge, list[tuple[float, float]], bool]]:
    """Points of every arrow; forward arrows leave the bottom of their box at spread-out ports
    (ordered by where they go) and enter the top of the target, spread out as well."""
    routes: list[tuple[Edge, list[tuple[float, float]], bool]] = []
    out_of: dict[str, list[tuple[float, int]]] = {}
    into: dict[str, list[tuple[float, int]]] = {}
    for i, (e, chain) in enumerate(chains):
        out_of.setdefault(e.source, []).append((xs[chain[1]], i))
        into.setdefault(e.target, []).append((xs[chain[-2]], i))

    def spread(groups: dict[str, list[tuple[float, int]]]) -> dict[int, float]:
        found = {}
        for n, items in groups.items():
            items.sort()
            for k, (_, i) in enumerate(items):
                found[i] = pos[n][0] + BOX_W * (k + 1) / (len(items) + 1)
        return found

    start_x, end_x = spread(out_of), spread(into)
    for i, (e, chain) in enumerate(chains):
        y0 = pos[e.source][1] + BOX_H
        pts = [(start_x[i], y0)]
        for d in chain[1:-1]:
            k = int(d.rsplit(":", 1)[1])
            y = TOP + k * (BOX_H + LAYER_GAP)
            pts += [(xs[d] + DUMMY_W / 2, y - 8), (xs[d] + DUMMY_W / 2, y + BOX_H + 8)]
        pts.append((end_x[i], pos[e.target][1]))
        routes.append((e, pts, False))
    for i in sorted(back):
        e = edges[i]
        sx, sy = pos[e.source]
        tx, ty = pos[e.target]
        if layer[e.source] > layer[e.target]:  # up: leave the top, enter the bottom
            routes.append((e, [(sx + BOX_W * 0.82, sy), (tx + BOX_W * 0.9, ty + BOX_H)], True))
        else:  # same row (or itself): around the right side
            routes.append((e, [(sx + BOX_W, sy + BOX_H * 0.62), (tx + BOX_W, ty + BOX_H * 0.38)], True))
    return routes


# -- drawing ------------------------------------------------------------------------------

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
    nodes = _nodes(flow)
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

"""The call flow as a diagram: a layered layout drawn as server-side SVG.

API:
    Edge(source, target, label, kind)      one arrow; kind "key" | "silent" | "branch" | "operator"
    flow_edges(flow) -> list[Edge]         the arrows of a flow given as plain data
                                           (the draft may be invalid: missing or odd
                                           fields are skipped, never raised)
    layout(flow) -> Layout                 boxes (x, y per node) and routed edges
    nodes_of(flow) -> {id: node data}      the nodes, whatever shape the draft is in
    (drawing it as SVG is `firmware.web.flowsvg.render_svg`)

Why a home-made layout: the flows are small (a handful to a few dozen nodes), the page
must work offline on a Pi, and a Sugiyama-style layering (break cycles, longest-path
layers, dummy points on long edges, barycentre ordering) is a hundred lines. Arrows
that go back up (a menu option that returns to the menu) are drawn as curves on the
right.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from firmware.web.context import N_

BOX_W = 184  # px, one node
BOX_H = 66
GAP_X = 30  # between boxes of a layer
DUMMY_W = 18  # a long edge passing through a layer
LAYER_GAP = 78  # vertical space between layers (room for key labels)
MARGIN = 16
TOP = 44  # room for the "incoming call" marker
BACK_OFFSET = 46  # how far right a back edge bulges
ORDER_SWEEPS = 3  # down, up, down: the last one keeps keys in order


# type -> [(field, label or None = the field's own name as a branch, kind)]
_SINGLE: dict[str, tuple[tuple[str, str, str], ...]] = {
    "menu": (("final", N_("no key"), "silent"), ("operator", "operator", "key")),
    "play": (("next", "", "silent"),),
    "schedule": (("open", N_("open"), "branch"), ("closed", N_("closed"), "branch"),
                 ("holiday", N_("holiday"), "branch")),
    "language": (("next", "", "silent"),),
    "extension": (("final", N_("no key"), "silent"),),
    "forward": (("fallback", N_("no answer"), "silent"),),
    "voicemail": (("next", "", "silent"),),
    "callback": (("next", "", "silent"),),
    "survey": (("next", "", "silent"),),
    "mailbox_login": (("next", N_("done"), "key"), ("fail", N_("wrong PIN"), "silent")),
    "screen": (("next", N_("passed"), "key"), ("fail", N_("failed"), "silent")),
    "lookup": (("next", N_("done"), "silent"), ("fallback", N_("failed"), "silent"), ("operator", "operator", "key")),
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


def nodes_of(flow: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    nodes = flow.get("nodes") if isinstance(flow, Mapping) else None
    if not isinstance(nodes, Mapping):
        return {}
    return {str(k): (v if isinstance(v, Mapping) else {}) for k, v in nodes.items()}


def flow_edges(flow: Mapping[str, Any]) -> list[Edge]:
    nodes = nodes_of(flow)
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
    ids = list(nodes_of(flow))
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
    nodes = list(nodes_of(flow))
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
    nodes = nodes_of(flow)
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

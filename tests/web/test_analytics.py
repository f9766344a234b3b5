"""Analytics: the numbers behind each chart from a known call log, test calls left out,
and charts that are accessible SVG (named, described, every mark titled, text escaped)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient

from firmware.web import charts
from firmware.web.services import TEST_LINE_NAME
from tests.web.conftest import NOW_MS

HOUR = 3_600_000
DAY = 24 * HOUR
SVG = "{http://www.w3.org/2000/svg}"


def add_call(store, started_ms: int, path: list[tuple[str, str, int]], outcome: str,
             left_in: str | None = None, line: str = "line1") -> int:
    """A finished call that went through `path` [(node, type, t_ms)]."""
    call = store.calls.start(line, started_ms=started_ms)
    store.calls.answered(call, at_ms=started_ms)
    for node, kind, t_ms in path:
        store.calls.event(call, t_ms, "node", node, type=kind)
    if left_in:
        store.calls.event(call, path[-1][2] + 1000, "caller_hangup", left_in, how="loop_drop")
    store.calls.finish(call, outcome, "goodbye", ended_ms=started_ms + 60_000)
    return call


def seed(store) -> None:
    menu = [("welcome", "language", 0), ("main_menu", "menu", 4000)]
    # NOW_MS is Friday 2026-05-29 04:26 in Taipei; these are Thursday 10:00 (02:00 UTC) and before
    thursday_10 = NOW_MS - (NOW_MS % DAY) + 2 * HOUR
    add_call(store, thursday_10, [*menu, ("sales", "forward", 20_000)], "forwarded")
    add_call(store, thursday_10 + 60_000, [*menu, ("sales", "forward", 30_000)], "forwarded")
    add_call(store, thursday_10 - DAY, [*menu, ("general_voicemail", "voicemail", 10_000)], "voicemail")
    add_call(store, thursday_10 - DAY, menu, "hung_up", left_in="main_menu")
    add_call(store, thursday_10 - 3 * DAY, menu[:1], "hung_up", left_in="welcome")
    add_call(store, thursday_10 - 40 * DAY, menu, "hung_up", left_in="main_menu")  # outside 30 days
    add_call(store, thursday_10, [*menu, ("sales", "forward", 1000)], "forwarded", line=TEST_LINE_NAME)


def test_numbers_behind_the_charts(client: TestClient, services) -> None:
    seed(services.store)
    n = client.get("/api/analytics?days=30").json()
    assert n["total"] == 5  # the test call and the old call are not counted
    assert len(n["per_day"]) == 30 and n["per_day"][-1] == ["2026-05-29", 0]  # today, so far
    assert n["per_day"][-2] == ["2026-05-28", 2] and n["per_day"][-3][1] == 2 and n["per_day"][-5][1] == 1
    assert n["hour_of_week"][3][10] == 2  # Thursday 10:00 local (Asia/Taipei)
    assert sum(map(sum, n["hour_of_week"])) == 5
    funnel = {f["node"]: (f["entered"], f["left"]) for f in n["funnel"]}
    assert funnel == {"welcome": (5, 1), "main_menu": (4, 1), "sales": (2, 0), "general_voicemail": (1, 0)}
    assert n["share"] == {"person": 2, "mailbox": 1, "menu": 0, "nobody": 2}
    assert n["reach_ms"]["forward"] == {"calls": 2, "mean": 25_000, "median": 25_000}
    assert n["reach_ms"]["voicemail"]["mean"] == 10_000
    assert client.get("/api/analytics?days=7").json()["total"] == 5
    assert client.get("/api/analytics?days=90").json()["total"] == 6


def test_page_shows_accessible_charts(client: TestClient, services) -> None:
    seed(services.store)
    html = client.get("/analytics").text
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == 4
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.get("role") == "img"
        title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        marks = [r for r in root.iter() if r.tag in (f"{SVG}rect", f"{SVG}g") and r.find(f"{SVG}title") is not None]
        assert marks, "every chart has titled marks"
    assert "main_menu · Menu" in html and "40 %" in html  # 2 of 5 reached a person
    assert "0:25" in html  # average wait before a forward
    client.cookies.set("ivrbox_lang", "zh-TW", domain="ivrbox.local")
    zh = client.get("/analytics").text
    assert "每日來電" in zh


def test_empty_period_says_so(client: TestClient) -> None:
    html = client.get("/analytics?days=7").text
    assert "No calls in this period yet" in html and "No answered calls" in html
    assert client.get("/analytics?days=oops").status_code == 200


def test_chart_text_is_escaped_and_scales_are_round() -> None:
    svg = charts.funnel("f", [("<script>x</script>", 3, 1)], "t & t", "d", str, str)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "t &amp; t" in svg
    ET.fromstring(str(svg))
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 12, 51, 100)] == [1, 1, 5, 10, 20, 100, 100]
    bars = charts.bars("b", [("2026-05-01", 0), ("2026-05-02", 4)], "t", "d", lambda lab, v: f"{lab}: {v}")
    assert "2026-05-02: 4" in bars

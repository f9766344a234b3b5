"""The Menus page's forward step as a hunt list: one person is written `person`, several
`people` (each entry as short as it can be); a list written by hand shows and saves
unchanged; the diagram names everyone in order; a published list is tried by a call."""

from __future__ import annotations

import asyncio
import re

from fastapi.testclient import TestClient

from firmware.appliance import ConfigSource
from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.line.sim import SimCaller, SimLine, SimParty, parse_script
from firmware.settings import load
from firmware.web.services import WebServices, default_engine_factory
from tests.web.conftest import post
from tests.web.test_menus import draft

SALES_NO, RECEPTION_NO = "0200000002", "0200000001"  # default.yaml's placeholders, as dialled
TO_SALES = "wait 1; press 9; wait 3; press 2; wait 90; hangup"


def sales_form(persons: list[str], rings: list[str] | None = None, accepts: list[str] | None = None) -> dict:
    """The sales step's form as the page sends it (default config), with these rows."""
    return {"prompt": "connecting", "whisper": "whisper", "ring_timeout_s": "25", "fallback": "general_voicemail",
            "note": "", "hunt_person": persons, "hunt_ring": rings or [""] * len(persons),
            "hunt_accept": accepts or ["1"] * len(persons)}


def form_fields(page: str, nid: str) -> dict[str, list[str]]:
    """What the browser would send for the step's form untouched."""
    form = re.search(r'<form method="post" action="/menus/node/' + nid + r'" class="stack".*?</form>', page, re.S)
    assert form is not None
    fields: dict[str, list[str]] = {}
    for m in re.finditer(r'<input type="(?:text|number|hidden)" name="([^"]+)" value="([^"]*)"', form.group(0)):
        fields.setdefault(m.group(1), []).append(m.group(2))
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form.group(0), re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', m.group(2))
        fields.setdefault(m.group(1), []).append(chosen.group(1) if chosen else "")
    return fields


def test_one_person_is_person_several_are_people(client: TestClient, services) -> None:
    assert post(client, "/menus/node/sales", sales_form(["sales", "", ""])).status_code == 303
    node = draft(services)["flow"]["nodes"]["sales"]
    assert node["person"] == "sales" and "people" not in node

    r = post(client, "/menus/node/sales", sales_form(["sales", "reception", ""], ["", "8", ""], ["1", "0", "1"]))
    assert r.status_code == 303
    node = draft(services)["flow"]["nodes"]["sales"]
    assert "person" not in node
    assert node["people"] == ["sales", {"person": "reception", "ring_timeout_s": 8, "accept": False}]

    page = client.get("/menus/node/sales").text
    assert form_fields(page, "sales")["hunt_person"][:3] == ["sales", "reception", ""]
    # back to one: the list goes, `person` comes back
    post(client, "/menus/node/sales", sales_form(["", "reception", ""]))
    node = draft(services)["flow"]["nodes"]["sales"]
    assert node["person"] == "reception" and "people" not in node


def test_a_hand_written_list_shows_and_saves_unchanged(client: TestClient, services) -> None:
    csrf = client.get("/api/session").json()["csrf"]
    written = {"type": "forward", "people": ["sales", {"person": "reception", "ring_timeout_s": 15},
                                             {"person": "sales", "accept": False}],
               "prompt": "connecting", "whisper": "whisper", "ring_timeout_s": 20, "fallback": "general_voicemail"}
    r = client.put("/api/flow/nodes/sales", json=written, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    page = client.get("/menus/node/sales").text
    fields = form_fields(page, "sales")
    assert fields["hunt_person"][:3] == ["sales", "reception", "sales"]
    assert fields["hunt_ring"][:3] == ["", "15", ""]
    assert fields["hunt_accept"][:3] == ["1", "1", "0"]
    assert post(client, "/menus/node/sales", fields).status_code == 303
    assert draft(services)["flow"]["nodes"]["sales"] == written
    svg = client.get("/menus/diagram.svg").text
    assert "Sales → Reception → Sales" in svg


def test_a_bad_ring_time_in_a_row_shows_beside_that_row(client: TestClient) -> None:
    post(client, "/menus/node/sales", sales_form(["sales", "reception"], ["", "-3"]))
    page = client.get("/menus/node/sales").text
    assert re.search(r'data-err="hunt-1"[^>]*>([^<]+)<', page), "no problem beside the second row"
    assert not re.search(r'data-err="hunt-0"[^>]*>([^<]+)<', page)


async def _call(services: WebServices, script: str, parties: dict[str, SimParty]):
    source = ConfigSource(services.config_path, fallback=None)
    settings = source.current()
    line = SimLine(country=settings.business.country, parties=parties)
    dialled: list[str] = []
    dial = line.dial

    async def recording_dial(digits: str) -> None:
        dialled.append(digits)
        await dial(digits)

    line.dial = recording_dial  # type: ignore[method-assign]
    engine = default_engine_factory(services)(line, source.current, lambda kind, detail: None)
    caller = SimCaller(parse_script(script))
    await line.open()
    try:
        line.incoming(caller)
        return await engine.handle_call(), caller, dialled
    finally:
        await line.close()


def test_a_published_list_is_tried_in_order(client: TestClient, services) -> None:
    post(client, "/menus/node/sales", sales_form(["sales", "reception", ""], ["10", "", ""]))
    assert post(client, "/draft/publish", {"note": "sales hunts to reception"}).status_code == 303
    hunt = load(services.config_path).flow.nodes["sales"].hunt()
    assert [(e.person, e.ring_timeout_s) for e in hunt] == [("sales", 10), ("reception", None)]
    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})
    taker = SimParty.answers("wait 2.5; press 1; wait 20")
    summary, caller, dialled = asyncio.run(_call(services, TO_SALES, {
        SALES_NO: SimParty.no_answer(), RECEPTION_NO: taker}))
    assert [d.replace("-", "") for d in dialled] == [SALES_NO, RECEPTION_NO]
    results = [e.detail for e in services.store.calls.events(summary.call_id) if e.kind == "forward_result"]
    assert [(d["person"], d["outcome"]) for d in results] == [("sales", "no_answer"), ("reception", "accepted")]
    assert summary.outcome == "forwarded" and caller.connected_to is taker

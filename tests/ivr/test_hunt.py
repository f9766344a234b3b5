"""Hunt lists on the simulated exchange: a forward node's `people` tried in order, each
attempt's outcome in the call log, "still trying" between attempts, the fallback when
nobody takes the call, and only configured numbers ever dialled."""

from __future__ import annotations

import pytest

from firmware.errors import ConfigError
from firmware.line.sim import SimParty
from firmware.settings import load
from tests.ivr.conftest import CLOSED, DELETE, KNOWN, write_config

SALES, RECEPTION, NIGHT, BACKUP = "202", "201", "203", "204"
TO_SALES = "wait 0.5; press 2; wait 120; hangup"
STILL_TRYING = "Still trying, please hold."


def hunt_config(people: list, **node: object) -> dict:
    return {
        "people": {"backup": {"name": "Backup desk", "number": BACKUP}},
        "flow": {"nodes": {"sales": {"person": DELETE, "people": people, **node}}},
    }


def results(phone) -> list[tuple[str, str]]:
    return [(d["person"], d["outcome"]) for d in phone.of("forward_result")]


def test_busy_then_no_answer_then_accepted(make_phone) -> None:
    phone = make_phone(hunt_config(["sales", {"person": "reception", "ring_timeout_s": 8},
                                    "backup"]))
    taker = SimParty.answers("wait 2.5; press 1; wait 20")
    summary, caller = phone.call(TO_SALES, number=KNOWN, parties={
        SALES: SimParty.busy(), RECEPTION: SimParty.no_answer(), BACKUP: taker})
    assert results(phone) == [("sales", "busy"), ("reception", "no_answer"),
                              ("backup", "accepted")]
    assert phone.dialled == [SALES, RECEPTION, BACKUP]
    assert caller.outcome == "transferred" and caller.connected_to is taker
    assert summary.outcome == "forwarded"
    # reception's own ring timeout (8 s, not the node's 20 s)
    dials = phone.of("forward_dial")
    tried = phone.of("forward_result")
    assert 8_000 <= tried[1]["t_ms"] - dials[1]["t_ms"] <= 10_500
    # the caller was told twice that the box is still trying (between three attempts)
    assert phone.texts().count(STILL_TRYING) == 2
    # the call log in the store has every attempt too
    stored = [e for e in phone.store.calls.events(summary.call_id) if e.kind == "forward_result"]
    assert [e.detail["outcome"] for e in stored] == ["busy", "no_answer", "accepted"]


def test_declined_and_voicemail_then_the_fallback(make_phone) -> None:
    phone = make_phone(hunt_config(["sales", "reception"]))
    greeting = phone.speech("Hi, this is Anne's phone. Leave a message after the tone.")
    summary, caller = phone.call(TO_SALES, number=KNOWN, parties={
        SALES: SimParty.answers("wait 2.5; press 2; wait 10"),
        RECEPTION: SimParty.voicemail(greeting, rings=2)})
    assert results(phone) == [("sales", "declined"), ("reception", "voicemail")]
    assert phone.first("hunt_exhausted")["tried"] == 2
    assert "busy_vm" in summary.path and summary.outcome != "forwarded"
    assert caller.outcome != "transferred"
    assert phone.texts().count(STILL_TRYING) == 1


def test_someone_outside_their_hours_is_skipped_without_dialling(make_phone) -> None:
    phone = make_phone(hunt_config(["night", "sales"]))
    taker = SimParty.answers("wait 2.5; press 1; wait 20")
    summary, caller = phone.call(TO_SALES, number=KNOWN,
                                 parties={NIGHT: SimParty.answers("wait 1; press 1"), SALES: taker})
    assert results(phone) == [("night", "outside_hours"), ("sales", "accepted")]
    assert phone.dialled == [SALES]
    assert STILL_TRYING not in phone.texts()  # nobody was dialled before sales
    assert caller.connected_to is taker


def test_a_desk_phone_without_the_accept_check_takes_the_call_on_answer(make_phone) -> None:
    phone = make_phone(hunt_config(["sales", {"person": "backup", "accept": False}]))
    desk = SimParty.answers("wait 20")  # picks up and never presses a key
    summary, caller = phone.call(TO_SALES, number=KNOWN,
                                 parties={SALES: SimParty.no_answer(), BACKUP: desk})
    assert results(phone) == [("sales", "no_answer"), ("backup", "accepted")]
    assert caller.connected_to is desk


def test_the_single_person_form_still_works_and_logs_its_outcome(make_phone) -> None:
    phone = make_phone()
    phone.call(TO_SALES, number=KNOWN, parties={SALES: SimParty.busy()})
    assert results(phone) == [("sales", "busy")]
    assert "hunt_exhausted" not in phone.kinds()
    assert STILL_TRYING not in phone.texts()


def test_never_dials_a_number_outside_people(make_phone) -> None:
    phone = make_phone(hunt_config(["sales", "reception"]))
    fraud = SimParty.answers("wait 1; press 1; wait 20", name="premium line")
    phone.call("wait 0.5; press 2; press 0900123456#; wait 60; hangup", number=KNOWN,
               parties={SALES: SimParty.busy(), RECEPTION: SimParty.busy(),
                        "0900123456": fraud})
    assert phone.dialled and set(phone.dialled) <= {SALES, RECEPTION}
    assert fraud.connected_at is None


@pytest.mark.parametrize("node, message", [
    ({"person": DELETE, "people": ["sales", "nobody"]}, "flow.nodes.sales.people[1]: no person 'nobody'"),
    ({"people": ["sales"]}, "exactly one of 'person' or 'people'"),
    ({"person": DELETE, "people": []}, "flow.nodes.sales.people"),
    ({"person": DELETE, "people": [{"person": "sales", "ring_timeout_s": 0}]}, "ring_timeout_s"),
])
def test_the_config_check_refuses_bad_hunt_lists(tmp_path, node, message) -> None:
    path = tmp_path / "config.yaml"
    write_config(path, {"flow": {"nodes": {"sales": node}}})
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert message in str(raised.value)


def test_closed_hours_do_not_matter_for_the_hunt_itself(make_phone) -> None:
    """The business's hours route the call; each person's own hours decide the hunt."""
    phone = make_phone(hunt_config(["night", "sales"]))
    phone.store.kv.set("schedule.override", {"mode": "open", "until_ms": None})
    taker = SimParty.answers("wait 2.5; press 1; wait 20")
    phone.call(TO_SALES, number=KNOWN, parties={NIGHT: taker, SALES: SimParty.busy()},
               when=CLOSED.replace(hour=19))
    assert results(phone) == [("night", "accepted")]

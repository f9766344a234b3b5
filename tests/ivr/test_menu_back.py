"""A menu's back key on the simulated line (keys as DTMF audio): back to the menu the
caller came from, past play steps between them; one level at a time; barge-in; the
call's first menu replays; the call log shows the key and the step."""

from __future__ import annotations

from typing import Any

from firmware.dsp.baudot import decode_text, modulate
from firmware.line.base import ms_to_samples, samples_to_ms
from firmware.line.sim import Silence, Speak, parse_script
from tests.ivr.barge import barge_in_ms
from tests.ivr.conftest import KNOWN, Phone

BARGE_IN_LIMIT_MS = 60.0
PRESS_S = 0.2  # one `press` of the script: 100 ms tone, 100 ms pause
MARGIN_S = 0.8  # a key this long after a prompt ended: past it, well inside the 3 s wait

# main -2-> sales_intro (play) -> sales_menu -1-> prices (play) -> sales_menu
#                                              -3-> orders (a third level)
BACK_FLOW: dict[str, Any] = {
    "prompts": {
        "sales_intro": {"en": "You chose sales.", "zh-TW": "您選擇了業務。"},
        "sales_menu": {"en": "Sales. For prices, press 1. For orders, press 3. "
                             "To go back, press 9.",
                       "zh-TW": "業務。報價請按1，訂單請按3，回上一層請按9。"},
        "prices": {"en": "Prices are on our website.", "zh-TW": "價格請見網站。"},
        "orders": {"en": "Orders. To go back, press 9.", "zh-TW": "訂單。回上一層請按9。"},
    },
    "flow": {"nodes": {
        "main": {"options": {"2": "sales_intro"}, "more_time_key": None, "back_key": "#"},
        "sales_intro": {"type": "play", "prompt": "sales_intro", "next": "sales_menu"},
        "sales_menu": {"type": "menu", "prompt": "sales_menu", "back_key": "9",
                       "options": {"1": "prices", "2": "sales", "3": "orders"},
                       "first_key_timeout_s": 3, "retries": 2, "final": "bye"},
        "prices": {"type": "play", "prompt": "prices", "next": "sales_menu"},
        "orders": {"type": "menu", "prompt": "orders", "back_key": "9", "options": {"1": "bye"},
                   "first_key_timeout_s": 3, "retries": 2, "final": "bye"},
    }},
}


def _audio(phone: Phone, prompt_id: str):
    """The prompt as the caller hears it (rendered now, so the call finds it cached)."""
    text = phone.box.config.current().prompts[prompt_id].text("en")
    return phone.prompts.render(text, "en")


def _s(phone: Phone, prompt_id: str) -> float:
    return samples_to_ms(len(_audio(phone, prompt_id))) / 1000


def _keys_at(phone: Phone, node: str) -> list[str]:
    return [d["digit"] for d in phone.of("key") if d["node"] == node]


def test_back_from_a_submenu_returns_to_the_menu_before_the_play_step(make_phone) -> None:
    phone = make_phone(BACK_FLOW)
    wait = _s(phone, "sales_intro") + _s(phone, "sales_menu") + MARGIN_S
    _s(phone, "main")
    summary, _ = phone.call(f"wait 0.5; press 2; wait {wait:.2f}; press 9; wait 1; press 66; wait 5",
                            number=KNOWN)
    assert summary.path == ("start", "main", "sales_intro", "sales_menu", "main", "bye")
    back = phone.first("back")
    assert back["target"] == "main" and back["node"] == "sales_menu"
    assert _keys_at(phone, "sales_menu") == ["9"]
    # the whole sales prompt was heard, then the main menu again, from its start
    assert phone.prompts_played()[:4] == ["main", "sales_intro", "sales_menu", "main"]
    assert not phone.of("invalid") and not phone.of("timeout")
    # the call log (SQLite) keeps the key and the back step, in the sales menu
    stored = [(e.kind, e.node, e.detail) for e in phone.store.calls.events(summary.call_id)]
    assert ("back", "sales_menu", {"target": "main"}) in stored
    assert any(k == "key" and n == "sales_menu" and d.get("digit") == "9" for k, n, d in stored)
    assert phone.store.calls.get(summary.call_id).outcome == "handled_in_menu"


def test_back_pressed_during_the_prompt_cuts_it_and_goes_back(make_phone) -> None:
    phone = make_phone(BACK_FLOW)
    sales = _audio(phone, "sales_menu")
    intro_s = _s(phone, "sales_intro")
    _s(phone, "main")
    into_prompt_s = 1.0
    assert samples_to_ms(len(sales)) / 1000 > into_prompt_s + 0.5, "prompt too short for the test"
    wait = intro_s + into_prompt_s
    summary, caller = phone.call(f"wait 0.5; press 2; wait {wait:.2f}; press 9; wait 1; press 66; wait 5",
                                 number=KNOWN)
    assert summary.path == ("start", "main", "sales_intro", "sales_menu", "main", "bye")
    onset = caller.connected_at + ms_to_samples((0.5 + PRESS_S + wait) * 1000)
    latency = barge_in_ms(caller, sales, onset)
    assert 0 <= latency <= BARGE_IN_LIMIT_MS, latency
    assert phone.first("back")["target"] == "main"


def test_back_in_the_first_menu_replays_it(make_phone) -> None:
    phone = make_phone(BACK_FLOW)
    main_s = _s(phone, "main")
    summary, _ = phone.call(f"wait 0.5; press #; wait {main_s + MARGIN_S:.2f}; press 66; wait 5",
                            number=KNOWN)
    assert summary.path == ("start", "main", "bye")  # stayed in the menu
    back = phone.first("back")
    assert back["target"] is None and back["node"] == "main"
    assert phone.prompts_played()[:3] == ["main", "main", "goodbye"]
    assert not phone.of("invalid") and not phone.of("timeout")


def test_back_climbs_one_level_at_a_time_and_never_swings(make_phone) -> None:
    """main -> sales -> prices (play) -> sales -> orders; back: sales; back: main; back
    in main (reached again by back): the main menu replays, it does not go to sales."""
    phone = make_phone(BACK_FLOW)
    intro, sales, prices, orders, main = (_s(phone, p) for p in
                                          ("sales_intro", "sales_menu", "prices", "orders", "main"))
    script = "; ".join([
        "wait 0.5", "press 2", f"wait {intro + sales + MARGIN_S:.2f}",  # to the sales menu
        "press 1", f"wait {prices + sales + MARGIN_S:.2f}",  # prices, then sales again
        "press 3", f"wait {orders + MARGIN_S:.2f}",  # orders
        "press 9", f"wait {sales + MARGIN_S:.2f}",  # back: sales
        "press 9", f"wait {main + MARGIN_S:.2f}",  # back: main
        "press #", f"wait {main + MARGIN_S:.2f}",  # back in main: main again
        "press 66", "wait 5",
    ])
    summary, _ = phone.call(script, number=KNOWN)
    assert summary.path == ("start", "main", "sales_intro", "sales_menu", "prices", "sales_menu",
                            "orders", "sales_menu", "main", "bye")
    assert [(d["node"], d["target"]) for d in phone.of("back")] == [
        ("orders", "sales_menu"), ("sales_menu", "main"), ("main", None)]
    assert not phone.of("invalid") and not phone.of("timeout")


def test_back_key_typed_ahead_goes_straight_back(make_phone) -> None:
    """A caller who knows the menus presses 2 then 9 during the main prompt: the sales
    steps do not play their prompts to the end, and the main menu is not replayed."""
    phone = make_phone(BACK_FLOW)
    for prompt in ("main", "sales_intro", "sales_menu"):
        _s(phone, prompt)
    summary, _ = phone.call("wait 0.5; press 2; wait 0.3; press 9; wait 0.3; press 66; wait 5",
                            number=KNOWN)
    assert summary.path == ("start", "main", "sales_intro", "sales_menu", "main", "bye")
    assert phone.first("back")["target"] == "main"


def test_a_tty_caller_types_the_back_key(make_phone) -> None:
    """In text, too: the typed back key leads to the previous menu, sent again as text."""
    phone = make_phone(BACK_FLOW)
    script = [Silence(1500), Speak(modulate("HELLO GA", dbm0=-20.0)), Silence(15_000),
              Speak(modulate("2", dbm0=-20.0)), Silence(30_000),
              Speak(modulate("9", dbm0=-20.0)), Silence(25_000),
              Speak(modulate("66", dbm0=-20.0)), Silence(10_000), *parse_script("hangup")]
    summary, caller = phone.call(script, number=KNOWN)
    assert summary.path == ("start", "main", "sales_intro", "sales_menu", "main", "bye")
    back = phone.first("back")
    assert (back["node"], back["target"], back["tty"]) == ("sales_menu", "main", True)
    heard = " ".join(decode_text(caller.heard()).replace("\r", " ").replace("\n", " ").split())
    assert heard.count("MAIN MENU. PRESS ONE TO NINE.") == 2 and "TO GO BACK, PRESS 9. GA" in heard


def test_a_tty_callers_back_in_the_first_menu_uses_no_attempt(make_phone) -> None:
    """As by voice (test_back_in_the_first_menu_replays_it): back in the call's first
    menu sends the menu again and is no failed attempt. With `retries: 1` here, one
    counted attempt would have sent the caller to `final` (the general mailbox)."""
    phone = make_phone({**BACK_FLOW, "flow": {"nodes": {
        **BACK_FLOW["flow"]["nodes"],
        "main": {**BACK_FLOW["flow"]["nodes"]["main"], "retries": 1}}}})
    script = [Silence(1500), Speak(modulate("HELLO GA", dbm0=-20.0)), Silence(15_000),
              Speak(modulate("#", dbm0=-20.0)), Silence(20_000),
              Speak(modulate("#", dbm0=-20.0)), Silence(20_000),
              Speak(modulate("66", dbm0=-20.0)), Silence(10_000), *parse_script("hangup")]
    summary, caller = phone.call(script, number=KNOWN)
    assert summary.path == ("start", "main", "bye")  # stayed in the menu, then chose
    assert [(d["node"], d["target"], d["tty"]) for d in phone.of("back")] == [
        ("main", None, True), ("main", None, True)]
    assert phone.first("tty_typed")  # the keys were typed in text mode
    assert not phone.of("invalid") and not phone.of("timeout") and not phone.of("retries_exhausted")
    heard = " ".join(decode_text(caller.heard()).replace("\r", " ").replace("\n", " ").split())
    assert heard.count("MAIN MENU. PRESS ONE TO NINE. GA") == 3
    assert "NOT A VALID CHOICE" not in heard

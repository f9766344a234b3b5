"""Callback, survey, caller rules, the maximum call length, config reload between calls,
the call log, and a voicemail e-mailed through the outbox to a real SMTP server."""

from __future__ import annotations

import asyncio

from firmware.dsp.audiofile import write_wav
from firmware.dsp.callerid import CallerIdInfo
from firmware.line.base import ms_to_samples
from firmware.line.sim import SimCaller
from tests.ivr.conftest import KNOWN, OPEN, UNKNOWN, Phone, voice
from tests.notify.test_email import Sink, smtp_server

VIP = "0911111111"
BLOCKED = "0999123456"


def _digits(phone: Phone) -> list[str]:
    return [w for w, _ in phone.prompts.spoken_words if w.startswith("digit-")]


# -- callback -------------------------------------------------------------------------
def test_callback_reads_the_caller_id_back_digit_by_digit(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 5; waitsilence 20; press 1; wait 6", number=KNOWN)
    assert _digits(phone) == ["digit-2", "digit-0", "digit-2"]
    assert "We will call you back at" in phone.texts()
    (request,) = phone.store.callbacks.open()
    assert request.number == KNOWN and request.call_id == summary.call_id
    assert summary.outcome == "callback_requested"


def test_callback_to_a_typed_number(make_phone) -> None:
    phone = make_phone()
    phone.call("wait 0.5; press 5; waitsilence 20; press 2; wait 0.5; press 0287654321#;"
               " waitsilence 20; press 1; wait 6", number=KNOWN)
    assert _digits(phone)[-10:] == [f"digit-{d}" for d in "0287654321"]
    assert [c.number for c in phone.store.callbacks.open()] == ["0287654321"]


def test_callback_without_caller_id_asks_for_the_number(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 5; wait 0.5; press 0223334444#; waitsilence 20;"
                            " press 1; wait 6")
    assert summary.caller_class == "unavailable"
    assert "Please enter your phone number, then press pound." in phone.texts()
    assert [c.number for c in phone.store.callbacks.open()] == ["0223334444"]


def test_callback_without_caller_id_when_no_number_may_be_keyed(make_phone) -> None:
    """other_key: null means no keyed numbers: a caller without caller ID is told that
    no call back can be arranged, and goes on to the node's next."""
    phone = make_phone({"flow": {"nodes": {"callback": {"other_key": None}}}})
    summary, _ = phone.call("wait 0.5; press 5; waitsilence 20; press 0223334444#; wait 6")
    assert summary.caller_class == "unavailable"
    assert "Please enter your phone number, then press pound." not in phone.texts()
    no_number = "Sorry, your number did not come with this call, so we cannot arrange a call back."
    assert no_number in phone.texts()
    assert phone.first("callback_abandoned")["reason"] == "no_number"
    assert phone.store.callbacks.open() == []
    assert summary.path[-2:] == ("callback", "bye")


# -- survey ---------------------------------------------------------------------------
def test_survey_answer_is_stored(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 6; wait 2; waitsilence 20; press 4; wait 6", number=KNOWN)
    assert phone.first("survey")["answer"] == "4"
    assert phone.store.surveys.tally("survey", "survey") == {"4": 1}
    assert "Thank you for your feedback." in phone.texts()


# -- caller rules ---------------------------------------------------------------------
def test_blocked_caller_is_rejected(make_phone) -> None:
    phone = make_phone()
    summary, caller = phone.call("wait 5; hangup", number=BLOCKED)
    assert summary.caller_class == "blocked" and summary.outcome == "rejected"
    assert summary.path == () and caller.outcome == "box_hung_up"
    assert not caller.heard().any()  # not a word for a blocked number
    assert phone.store.calls.get(summary.call_id).end_reason == "caller_rules"


def test_vip_route_skips_the_schedule(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 66; wait 5", number=VIP, when=OPEN.replace(hour=23))
    assert summary.caller_class == "vip" and summary.path[0] == "vip_hello"


def test_unknown_numbers_must_press_5(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 5; wait 0.5; press 66; wait 5", number=UNKNOWN)
    assert summary.path[:3] == ("robot_check", "start", "main")
    robot, _ = phone.call("wait 30; hangup", number=UNKNOWN)
    assert robot.outcome == "screened_out" and "main" not in robot.path
    assert len(phone.of("screen_failed")) == 2


def test_rings_before_answering_per_class(make_phone) -> None:
    phone = make_phone({"caller_rules": {"rings": {"vip": 1, "known": 4}}})
    for number, rings in ((VIP, 1), (KNOWN, 4)):
        phone.call("wait 0.5; press 66; wait 5", number=number)
        counts = [d["count"] for d in phone.of("ring")]
        assert max(counts) == rings, (number, counts)


def test_an_office_phone_picked_up_while_ringing_takes_the_call(make_phone) -> None:
    phone = make_phone({"line": {"rings": 4}})
    # first ring at once; picked up 7 s later (during the second ring)
    summary, _ = phone.call("wait 5; hangup", number=KNOWN,
                            setup=lambda line: line.pick_up_extension(at=ms_to_samples(7000)))
    assert summary.outcome == "answered_by_office"
    assert phone.store.calls.get(summary.call_id).answered_ms is None


def test_the_box_yields_when_an_office_phone_is_picked_up_mid_call(make_phone) -> None:
    phone = make_phone()
    picked: list[int] = []
    caller = SimCaller("wait 30; hangup", caller_id=CallerIdInfo(number=KNOWN))

    def on_heard(clock: int, frame) -> None:
        if not picked and clock - caller.connected_at >= ms_to_samples(2000):
            picked.append(clock)
            phone.line.pick_up_extension()

    caller.on_heard = on_heard
    summary, _ = phone.call("", caller=caller)
    assert summary.outcome == "office_picked_up" and summary.end_reason == "office_picked_up"
    assert phone.first("ended")["t_ms"] <= 2100


# -- limits and reload ----------------------------------------------------------------
def test_maximum_call_length_tells_the_caller_then_hangs_up(make_phone, tmp_path) -> None:
    phone = make_phone({"limits": {"max_call_s": 12}})
    talk = tmp_path / "talk.wav"
    write_wav(talk, voice(20.0))
    summary, caller = phone.call(f"wait 0.5; press 3; waitbeep; wait 0.3; speak {talk}; wait 10",
                                 number=KNOWN)
    assert summary.end_reason == "max_call_length"
    assert "We have to end this call now. Please call again. Goodbye." in phone.texts()
    assert phone.first("max_call_length")["t_ms"] == 12_000
    assert phone.first("message_saved")["ended_by"] == "max_call_length"  # what was said is kept
    assert caller.outcome == "box_hung_up"


def test_a_published_config_applies_to_the_next_call_never_the_current(make_phone) -> None:
    phone = make_phone()
    changed = {"prompts": {"main": {"en": "A brand new menu."}}}
    caller = SimCaller("wait 0.5; press 1; wait 4; press 66; wait 5",
                       caller_id=CallerIdInfo(number=KNOWN))

    def publish_mid_call(clock: int, frame) -> None:
        if clock - caller.connected_at == ms_to_samples(1000):
            phone.publish(changed)

    caller.on_heard = publish_mid_call
    phone.call("", caller=caller)
    assert "A brand new menu." not in phone.texts()  # the menu played twice, old text both
    assert phone.texts().count("Main menu. Press one to nine.") >= 1
    phone.call("wait 0.5; press 66; wait 5", number=KNOWN)
    assert "A brand new menu." in phone.texts()


def test_a_broken_config_keeps_the_last_good_one(make_phone) -> None:
    phone = make_phone()
    phone.box.config.path.write_text("business: {name: [oops\n")
    summary, _ = phone.call("wait 0.5; press 66; wait 5", number=KNOWN)
    assert summary.path[-1] == "bye"
    assert phone.box.config.last_error


# -- the call log ---------------------------------------------------------------------
def test_the_call_log_has_everything_analytics_need(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 1; wait 3; press 66; wait 5", number=KNOWN,
                            name="ANNE LEE")
    row = phone.store.calls.get(summary.call_id)
    assert row.caller_number == KNOWN and row.caller_name == "ANNE LEE"
    start = int(OPEN.timestamp() * 1000)
    assert row.started_ms == start
    assert row.answered_ms is not None and row.ended_ms > row.answered_ms >= row.started_ms
    assert 4000 <= row.answered_ms - row.started_ms <= 9000  # two US rings (2 s on, 4 s off)
    last_event = phone.store.calls.events(summary.call_id)[-1].t_ms  # the goodbye began
    assert last_event < row.ended_ms - row.answered_ms < last_event + 2000
    assert row.outcome == "handled_in_menu" and row.end_reason == "goodbye"
    events = phone.store.calls.events(summary.call_id)
    nodes = [e.node for e in events if e.kind == "node"]
    assert nodes == ["start", "main", "info", "main", "bye"]
    keys = [(e.node, e.detail["digit"]) for e in events if e.kind == "key"]
    assert keys == [("main", "1"), ("main", "6"), ("main", "6")]
    choice = [e.detail for e in events if e.kind == "choice"]
    assert [c["keys"] for c in choice] == ["1", "66"]
    assert all(a.t_ms <= b.t_ms for a, b in zip(events, events[1:]))


def test_the_call_log_says_where_a_caller_hung_up(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 1; wait 0.5; hangup", number=KNOWN)
    row = phone.store.calls.get(summary.call_id)
    assert row.outcome == "hung_up" and row.end_reason == "caller_hangup:loop_drop"
    last = phone.store.calls.events(summary.call_id)[-1]
    assert last.kind == "caller_hangup" and last.node == "info"


# -- e-mail ---------------------------------------------------------------------------
def test_voicemail_is_emailed_through_the_outbox(make_phone, tmp_path) -> None:
    sink = Sink()
    with smtp_server(sink) as port:
        smtp = {"host": "127.0.0.1", "port": port, "security": "none",
                "sender": "ivrbox@office.example", "timeout_s": 10}
        phone = make_phone({"smtp": smtp, "mailboxes": {"support": {"email": ["ops@x.example"]}}})
        msg = tmp_path / "msg.wav"
        write_wav(msg, voice(2.0))
        phone.call(f"wait 0.5; press 3; waitbeep; wait 0.3; speak {msg}; press #; wait 4",
                   number=KNOWN)
        message = phone.store.messages.list("support")[0]

        async def deliver() -> None:
            for _ in range(200):
                if await phone.box.outbox.deliver_due() and sink.messages():
                    return
                await asyncio.sleep(0.05)

        asyncio.run(deliver())
    (mail,) = sink.messages()
    assert KNOWN in mail["Subject"] and "Support" in mail["Subject"]
    (attachment,) = list(mail.iter_attachments())
    wav = phone.store.data.absolute(message.path).read_bytes()
    assert attachment.get_content() == wav
    assert sink.envelopes[0].rcpt_tos == ["ops@x.example"]


def test_answered_time_is_the_wall_clock_when_the_line_clock_stood_still(make_phone) -> None:
    """A modem's line clock does not run while it rings (QA I6)."""
    phone = make_phone()
    wall = [int(OPEN.timestamp() * 1000)]

    def modem_like(line) -> None:
        phone.box.services.now_ms = lambda: wall[0]
        answer = line.answer

        async def answer_later() -> None:
            wall[0] += 30_000  # the rings took 30 s of wall time
            await answer()

        line.answer = answer_later

    summary, _ = phone.call("wait 0.5; press 66; wait 5", number=KNOWN, setup=modem_like)
    row = phone.store.calls.get(summary.call_id)
    assert row.answered_ms - row.started_ms == 30_000
    assert row.ended_ms - row.answered_ms < 20_000  # event times count from the answer

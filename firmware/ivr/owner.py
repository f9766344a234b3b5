"""The owner's menu by phone, after a correct PIN: messages, greetings, day/night.

API:
    owner_session(ctx, mailbox_id)
    phone_greeting_path(ctx, mailbox_id, kind)   (from greetings.py)
    set_override(ctx, mode) -> phrase key   "closed"/"open" until the hours next change,
                                            "auto" = follow the hours
    messages_in_order(ctx, mailbox_id) -> [Message]   new first, oldest first in each

Keys: 1 hear messages (new first, then saved, oldest first in each; each with caller and
time read out; then 1 again, 2 keep, 3 delete, # next); 3 greetings: then 1 record the
"unavailable" greeting, 2 the "busy" one, 3 a temporary one (plays instead of both until
turned off), 4 turn the temporary one off (offered while it is on), * back. A recording
goes to a temporary file (at least GREETING_MIN_SPEECH_MS of speech; played back, then
1 keep, 2 record again, * cancel); only a kept one replaces the live greeting, by an
atomic rename, and it wins over the config's greeting until the config's is changed
(greetings.py). 7 closed and 8 open, each until the opening hours next change (as the
web page's "Close now"/"Open now"), 9 back to the opening hours; * leave. Silence twice
ends the session, so a forgotten phone never holds the line.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from firmware.dsp.audiofile import read_audio
from firmware.errors import AudioFormatError
from firmware.ivr import readout
from firmware.ivr.activity import QuietDetector
from firmware.ivr.context import CallContext
from firmware.ivr.greetings import (
    drop_phone_greeting,
    keep_phone_greeting,
    phone_greeting_on,
    phone_greeting_path,
)
from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.ivr.phrases import phrase
from firmware.line.base import FRAME_MS, FRAME_SAMPLES
from firmware.settings import next_change
from firmware.store.messages import Message
from firmware.voicemail.recorder import WavRecorder

MENU_WAIT_MS = 8000
MESSAGE_WAIT_MS = 6000
MAX_MENU_ROUNDS = 20
MAX_SILENT_ROUNDS = 2
GREETING_MAX_MS = 60_000
GREETING_SILENCE_MS = 4000
GREETING_MIN_SPEECH_MS = 1000  # less voice than this is a slip of the finger, not a greeting
GREETING_TRIES = 3
GREETING_MENU_KEYS = {"1": "unavailable", "2": "busy", "3": "temporary"}
TEMPORARY_OFF_KEY = "4"
OVERRIDE_KEYS = {"7": "closed", "8": "open", "9": "auto"}  # the TTY menu uses the same keys


async def _say(ctx: CallContext, key: str, **values: object) -> bool:
    text = phrase(key, ctx.language, **values)
    return await ctx.call.play(await ctx.render(text, ctx.language))


def _header(ctx: CallContext, message: Message) -> list[str]:
    lang = ctx.language
    ids = ["message-from"]
    ids += readout.digits(message.caller_number, lang) if message.caller_number else ["unknown-caller"]
    zone = ctx.settings.business.zone
    received = dt.datetime.fromtimestamp(message.received_ms / 1000, tz=dt.timezone.utc).astimezone(zone)
    today = ctx.local_now().date()
    ids += ["received", *readout.day(received.date(), today, lang),
            *readout.time_of_day(received.hour, received.minute, lang)]
    return ids


async def _play_message(ctx: CallContext, message: Message) -> None:
    await ctx.say_words(_header(ctx, message))
    path = ctx.services.voicemail.audio_path(message)
    if path is not None:
        try:
            await ctx.call.play(read_audio(path))
        except AudioFormatError:
            ctx.log("message_unreadable", message=message.id)
    elif message.text:
        await ctx.call.play(await ctx.render(message.text, ctx.language))


def messages_in_order(ctx: CallContext, mailbox_id: str) -> list[Message]:
    listed = sorted(ctx.services.voicemail.list(mailbox_id), key=lambda m: (m.received_ms, m.id))
    return [m for m in listed if not m.heard] + [m for m in listed if m.heard]


def set_override(ctx: CallContext, mode: str) -> str:
    """"closed" or "open" until the opening hours next change (held until switched back
    if they never do), as the web page's buttons set it; "auto" follows the hours again.
    Returns the key of the phrase that tells the owner what was set."""
    kv = ctx.services.store.kv
    if mode == "auto":
        kv.delete(OVERRIDE_KEY)
        ctx.log("override", mode=None)
        return "override_auto"
    change = next_change(ctx.settings.hours, ctx.local_now())
    until_ms = int(change.timestamp() * 1000) if change else None
    kv.set(OVERRIDE_KEY, {"mode": mode, "until_ms": until_ms})
    ctx.log("override", mode=mode, until_ms=until_ms)
    return f"override_{mode}" if until_ms is not None else f"override_{mode}_held"


async def _messages(ctx: CallContext, mailbox_id: str) -> None:
    voicemail = ctx.services.voicemail
    for message in messages_in_order(ctx, mailbox_id):
        while True:  # keys typed ahead (during "message saved") count: no clear_keys here
            await _play_message(ctx, message)
            voicemail.mark_heard(message.id)
            await _say(ctx, "message_menu")
            key = await ctx.call.wait_key(MESSAGE_WAIT_MS)
            if key == "1":
                continue
            if key == "3":
                voicemail.delete(message.id)
                ctx.log("message_deleted", message=message.id)
                await _say(ctx, "message_deleted")
            elif key == "2":
                await _say(ctx, "message_kept")
            break
    await _say(ctx, "no_more_messages")


def _speech_ms(audio: npt.NDArray[np.int16]) -> float:
    """How much of `audio` is voice (frames above the line's tracked noise floor)."""
    quiet = QuietDetector()
    frames = [audio[i:i + FRAME_SAMPLES] for i in range(0, len(audio) - FRAME_SAMPLES + 1,
                                                         FRAME_SAMPLES)]
    return sum(FRAME_MS for frame in frames if not quiet.quiet(frame))


async def _record_greeting(ctx: CallContext, mailbox_id: str, kind: str) -> None:
    """Record to a temporary file; the live greeting changes only when the owner keeps
    the new one after hearing it (a hang-up or cancel leaves the old one)."""
    live = phone_greeting_path(ctx, mailbox_id, kind)
    temp = live.with_name(f"{live.stem}.new{live.suffix}")
    try:
        for _ in range(GREETING_TRIES):
            await _say(ctx, "record_greeting")
            await ctx.call.play(ctx.services.prompts.beep(), barge_in=False)
            recorder = WavRecorder(temp)
            taken = await ctx.call.record(recorder.write, max_ms=GREETING_MAX_MS,
                                          silence_ms=GREETING_SILENCE_MS)
            recorder.finish(trim_end_samples=taken.received - taken.kept).settle()
            if taken.hangup is not None:
                ctx.log("greeting_abandoned", mailbox=mailbox_id, greeting=kind)
                raise taken.hangup
            audio = read_audio(temp)
            speech = _speech_ms(audio)
            if speech < GREETING_MIN_SPEECH_MS:
                ctx.log("greeting_too_short", mailbox=mailbox_id, greeting=kind, speech_ms=int(speech))
                await _say(ctx, "greeting_too_short")
                continue
            await _say(ctx, "greeting_review")
            await ctx.call.play(audio)
            ctx.call.clear_keys()  # only a choice made after hearing it
            await _say(ctx, "greeting_confirm")
            key = await ctx.call.wait_key(MENU_WAIT_MS)
            if key == "1":
                keep_phone_greeting(ctx, mailbox_id, kind, temp)
                ctx.log("greeting_recorded", mailbox=mailbox_id, greeting=kind, ms=int(taken.kept_ms))
                await _say(ctx, "greeting_saved")
                return
            if key != "2":
                break
        ctx.log("greeting_cancelled", mailbox=mailbox_id, greeting=kind)
        await _say(ctx, "greeting_cancelled")
    finally:
        temp.unlink(missing_ok=True)


async def _greetings_menu(ctx: CallContext, mailbox_id: str) -> None:
    """Which greeting to record (or the temporary one to turn off); * or silence: back."""
    temporary_on = phone_greeting_on(ctx, mailbox_id, "temporary")
    if temporary_on:
        await _say(ctx, "temporary_greeting_on")
    await _say(ctx, "greetings_menu")
    key = await ctx.call.wait_key(MENU_WAIT_MS)
    if key is not None and key in GREETING_MENU_KEYS:
        await _record_greeting(ctx, mailbox_id, GREETING_MENU_KEYS[key])
    elif key == TEMPORARY_OFF_KEY and temporary_on:
        drop_phone_greeting(ctx, mailbox_id, "temporary")
        ctx.log("greeting_removed", mailbox=mailbox_id, greeting="temporary")
        await _say(ctx, "temporary_greeting_off")


async def owner_session(ctx: CallContext, mailbox_id: str) -> None:
    new, saved = ctx.services.voicemail.counts(mailbox_id)
    await ctx.say_words(readout.message_count(new, ctx.language, "new"))
    silent = 0
    for _ in range(MAX_MENU_ROUNDS):
        await _say(ctx, "mailbox_menu")
        key = await ctx.call.wait_key(MENU_WAIT_MS)
        if key is None:
            silent += 1
            if silent >= MAX_SILENT_ROUNDS:
                return
            continue
        silent = 0
        if key == "1":
            await _messages(ctx, mailbox_id)
        elif key == "3":
            await _greetings_menu(ctx, mailbox_id)
        elif key in OVERRIDE_KEYS:
            await _say(ctx, set_override(ctx, OVERRIDE_KEYS[key]))
        elif key == "*":
            return

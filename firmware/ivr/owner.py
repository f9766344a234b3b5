"""The owner's menu by phone, after a correct PIN: messages, greeting, day/night.

API:
    owner_session(ctx, mailbox_id)
    phone_greeting_path(ctx, mailbox_id, kind)
    set_night_mode(ctx, night)        7/8: night mode until switched back, or the hours
    messages_in_order(ctx, mailbox_id) -> [Message]   new first, oldest first in each

Keys: 1 hear messages (new first, then saved, oldest first in each; each with caller and time read out;
then 1 again, 2 keep, 3 delete, # next), 3 record the "unavailable" greeting (to a temporary
file; at least GREETING_MIN_SPEECH_MS of speech; played back, then 1 keep, 2 record again,
* cancel; only a kept one replaces the live greeting, by an atomic rename), 7 night
mode (the schedule says closed until switched back), 8 back to the business hours,
* leave. Silence twice ends the session, so a forgotten phone never holds the line.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from firmware.dsp.audiofile import read_audio
from firmware.errors import AudioFormatError
from firmware.ivr import readout
from firmware.ivr.activity import QuietDetector
from firmware.ivr.context import CallContext
from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.ivr.phrases import phrase
from firmware.line.base import FRAME_MS, FRAME_SAMPLES
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


def phone_greeting_path(ctx: CallContext, mailbox: str, kind: str) -> Path:
    """Where a greeting recorded by phone lives (used unless the config names one)."""
    data = ctx.services.store.data
    return data.inside(data.greetings, f"mailbox-{mailbox}-{kind}.wav")


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


def set_night_mode(ctx: CallContext, night: bool) -> None:
    """Night mode holds until switched back; day mode returns to the business hours."""
    if night:
        ctx.services.store.kv.set(OVERRIDE_KEY, {"mode": "closed", "until_ms": None})
    else:
        ctx.services.store.kv.delete(OVERRIDE_KEY)
    ctx.log("override", mode="closed" if night else None)


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


async def _record_greeting(ctx: CallContext, mailbox_id: str) -> None:
    """Record to a temporary file; the live greeting changes only when the owner keeps
    the new one after hearing it (a hang-up or cancel leaves the old one)."""
    live = phone_greeting_path(ctx, mailbox_id, "unavailable")
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
                ctx.log("greeting_abandoned", mailbox=mailbox_id)
                raise taken.hangup
            audio = read_audio(temp)
            speech = _speech_ms(audio)
            if speech < GREETING_MIN_SPEECH_MS:
                ctx.log("greeting_too_short", mailbox=mailbox_id, speech_ms=int(speech))
                await _say(ctx, "greeting_too_short")
                continue
            await _say(ctx, "greeting_review")
            await ctx.call.play(audio)
            ctx.call.clear_keys()  # only a choice made after hearing it
            await _say(ctx, "greeting_confirm")
            key = await ctx.call.wait_key(MENU_WAIT_MS)
            if key == "1":
                os.replace(temp, live)
                ctx.log("greeting_recorded", mailbox=mailbox_id, ms=int(taken.kept_ms))
                await _say(ctx, "greeting_saved")
                return
            if key != "2":
                break
        ctx.log("greeting_cancelled", mailbox=mailbox_id)
        await _say(ctx, "greeting_cancelled")
    finally:
        temp.unlink(missing_ok=True)


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
            await _record_greeting(ctx, mailbox_id)
        elif key == "7":
            set_night_mode(ctx, True)
            await _say(ctx, "night_mode")
        elif key == "8":
            set_night_mode(ctx, False)
            await _say(ctx, "day_mode")
        elif key == "*":
            return

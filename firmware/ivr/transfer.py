"""The forward node: hand the caller to a configured person over one analog line.

API:
    run_forward(ctx, node_id, node) -> next node id | None
    Attempt(result, detail)            result: "accepted", "answered", "busy",
                                       "no_answer", "declined", "no_dial_tone",
                                       "outside_hours", "limit"

How it goes on an analog line (DESIGN.md, "Hook flash and transfer"): flash puts the
caller on hold and gives recall dial tone; we dial the person's *configured* number
(never digits a caller typed: toll fraud), listen for ringback, busy or a voice, and
whisper "press 1 to accept" so that a mobile's own voicemail never takes the call.
The whisper is in the business's default language, whatever the caller chose: the
person answering works in the office's language, not the caller's.
Accepted: on a line with 3-way call transfer we hang up and the exchange joins the two;
on plain 3-way calling we flash to conference and stay until the call ends. Anything
else: flash back to the caller (twice where the first flash would conference) and go
to the fallback, usually voicemail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.dsp.level import rms_dbm0
from firmware.ivr.call import CallEnded, CallTooLong
from firmware.ivr.context import CallContext
from firmware.ivr.hunt import hunt
from firmware.ivr.phrases import phrase
from firmware.line.base import FRAME_SAMPLES, Frame, ms_to_samples
from firmware.settings.flow import ForwardNode
from firmware.settings.hours import is_open

DIAL_TONE_WAIT_MS = 3000  # recall dial tone must come within this after the flash
DIAL_TONE_MIN_MS = 300  # a dial tone heard this long is enough to start dialling
VOICE_DBM0 = -35.0  # louder than this, outside a call-progress tone, is a person
VOICE_MS = 300  # this much voice after ringback means "answered"
VOICE_DECAY = 2  # a non-voice frame takes back half a frame of counted voice
WHISPER_TRIES = 2
ACCEPT_WAIT_MS = 5000
FLASH_GAP_MS = 800  # between the two flashes that drop a third party
CONFERENCE_WATCH_MS = 4 * 60 * 60 * 1000  # the conference's own bound, not limits.max_call_s
CONFERENCE_QUIET_MS = 60_000  # nobody said a word for this long: everyone has left
CONFERENCE_QUIET_DBM0 = -45.0
BACK_SETTLE_MS = 100
ANSWERED = frozenset({"declined"})  # results after which the party is on the line
TONAL_PEAKS = 2  # dual-tone signals
TONAL_POWER_FRACTION = 0.85


def _is_tonal(frame: Frame) -> bool:
    """Ringback and other call-progress tones put nearly all their power in one or two
    narrow peaks; a voice spreads it over many harmonics and formants."""
    x = frame.astype(np.float64) * np.hanning(len(frame))
    power = np.abs(np.fft.rfft(x)) ** 2
    total = float(power.sum())
    if total <= 0.0:
        return False
    kept = 0.0
    rest = power.copy()
    for _ in range(TONAL_PEAKS):
        peak = int(np.argmax(rest))
        lo, hi = max(0, peak - 1), peak + 2
        kept += float(rest[lo:hi].sum())
        rest[lo:hi] = 0.0
    return kept >= TONAL_POWER_FRACTION * total


@dataclass(frozen=True)
class Attempt:
    result: str
    detail: str = ""


async def _wait_dial_tone(ctx: CallContext) -> bool:
    call = ctx.call
    end = call.now + ms_to_samples(DIAL_TONE_WAIT_MS)
    while call.now < end:
        await call.step()
        if any(t.type == "dial" for t in call.tones):
            return True
    return False


async def _ring(ctx: CallContext, number: str, timeout_ms: float) -> Attempt:
    """Dial and listen until busy, a voice, or no answer within `timeout_ms`.

    Only a key whose onset comes after our own dialling (and its echo) has ended can be
    the party's: the caller's type-ahead and our DTMF heard back are not answers."""
    call = ctx.call
    await call.dial(number)
    call.tones.clear()
    end = call.now + ms_to_samples(timeout_ms)
    while call.now < call.dial_end:
        await call.step()
    call.clear_keys()
    voice_run = 0
    while call.now < end:
        frame = await call.step()
        kinds = {t.type for t in call.tones}
        if kinds & {"busy", "reorder", "sit"}:
            return Attempt("busy", ",".join(sorted(kinds)))
        call.drop_keys_before(call.dial_end)
        if call.has_keys():
            return Attempt("answered", "key")
        if any(t.type == "ringback" and t.ended for t in call.tones):
            return Attempt("answered", "ringback_stopped")  # picked up without a word
        if rms_dbm0(frame) > VOICE_DBM0 and not _is_tonal(frame):
            voice_run += FRAME_SAMPLES
            if voice_run >= ms_to_samples(VOICE_MS):
                return Attempt("answered", "voice")
        else:  # a vowel that looks tonal for a frame, or a short pause, only slows it
            voice_run = max(0, voice_run - FRAME_SAMPLES // VOICE_DECAY)
    return Attempt("no_answer")


def party_language(ctx: CallContext) -> str:
    """What the person answering a forward hears: the business's default language (a
    caller who chose English at a Taiwanese office still reaches a Mandarin speaker)."""
    return ctx.settings.business.default_language


async def _whisper(ctx: CallContext, node: ForwardNode) -> Attempt:
    call = ctx.call
    language = party_language(ctx)
    if node.accept_key is None:
        return Attempt("accepted", "no whisper check")
    call.drop_keys_before(call.dial_end)  # only the party's keys, pressed after dialling
    for attempt in range(WHISPER_TRIES):
        if attempt or not call.has_keys():
            call.clear_keys()
        else:  # they pressed before the whisper: take it as their answer
            key = await call.wait_key(0)
            return Attempt("accepted") if key == node.accept_key else Attempt("declined", f"pressed {key}")
        if node.whisper:
            audio = await ctx.prompt_audio(node.whisper, language)
            ctx.name(audio, prompt=node.whisper, language=ctx.prompt_language(node.whisper, language),
                     to="party")
        else:
            text = phrase("whisper", language, key=node.accept_key)
            audio = ctx.name(await ctx.render(text, language), phrase="whisper", language=language,
                             to="party")
        await call.play(audio)
        key = await call.wait_key(ACCEPT_WAIT_MS)
        if key == node.accept_key:
            return Attempt("accepted")
        if key is not None:
            return Attempt("declined", f"pressed {key}")
    return Attempt("declined", "no key: a voicemail or nobody")


async def _back_to_caller(ctx: CallContext, flash_ms: int, party_on_line: bool) -> None:
    """Drop the third party and take the caller off hold.

    With the party still ringing or busy, one flash drops that leg. A party who picked
    up (and declined, or was a voicemail) is on the line: a flash would join them to
    the caller, so flash, wait, and flash again, which drops the newest party."""
    call = ctx.call
    await call.flash(flash_ms)
    if party_on_line:
        await call.pause(FLASH_GAP_MS)
        await call.flash(flash_ms)
    await call.pause(BACK_SETTLE_MS)  # the flashes are on the line before we speak


async def _try(ctx: CallContext, node: ForwardNode, flash_ms: int) -> Attempt:
    person = ctx.settings.people[node.person]
    if person.hours is not None and not is_open(person.hours, ctx.local_now()):
        return Attempt("outside_hours")
    if ctx.forwards >= ctx.settings.limits.max_forwards:
        return Attempt("limit")
    ctx.forwards += 1
    call = ctx.call
    call.consulting(True)
    try:
        await call.flash(flash_ms)
        if not await _wait_dial_tone(ctx):
            await call.flash(flash_ms)  # back to the caller
            return Attempt("no_dial_tone")
        ctx.log("forward_dial", person=node.person)
        attempt = await _ring(ctx, person.number, node.ring_timeout_s * 1000)
        if attempt.result == "answered":
            ctx.log("forward_answered", person=node.person, how=attempt.detail)
            attempt = await _whisper(ctx, node)
        if attempt.result != "accepted":
            await _back_to_caller(ctx, flash_ms, party_on_line=attempt.result in ANSWERED)
        return attempt
    finally:
        call.consulting(False)


async def _watch_conference(ctx: CallContext) -> None:
    """Stay on the line (silent) until a hang-up is heard or nobody talks any more.

    On plain 3-way calling the exchange may not tell the box that both others have
    left, so a long silence ends the watch too. The caller and the person may talk
    past the menu's `limits.max_call_s`: the conference has its own bound, and the
    call's time limit is moved to it (CallTooLong when that runs out too)."""
    call = ctx.call
    call.grace(CONFERENCE_WATCH_MS)
    quiet_since = call.now
    while True:
        frame = await call.step()
        if rms_dbm0(frame) >= CONFERENCE_QUIET_DBM0:
            quiet_since = call.now
        elif call.now - quiet_since >= ms_to_samples(CONFERENCE_QUIET_MS):
            ctx.log("conference_quiet")
            return


async def run_forward(ctx: CallContext, node_id: str, node: ForwardNode) -> str | None:
    if node.prompt:
        await ctx.say(node.prompt, barge_in=False)
    else:
        await ctx.say_phrase("connecting", barge_in=False)
    flash_ms = ctx.settings.line.flash_ms_for(ctx.settings.business.country)
    attempt = await hunt(ctx, node, flash_ms, _try)  # one person, or a hunt list in order
    ctx.last_forward_result = attempt.result
    if attempt.result == "accepted":
        ctx.outcome = "forwarded"
        if ctx.settings.line.transfer == "transfer":
            ctx.end_reason = "transferred"
            return None  # hanging up completes the transfer
        await ctx.call.flash(flash_ms)  # conference all three; stay until it ends
        ctx.end_reason = "conference_ended"
        try:
            await _watch_conference(ctx)
        except CallTooLong:
            ctx.end_reason = "max_call_length"
            ctx.log("max_call_length")
        except CallEnded:
            pass
        return None
    if ctx.outcome == "hung_up":
        ctx.outcome = "not_reached"  # a fallback that takes a message says "voicemail"
    await ctx.say_phrase("not_reached")
    return node.fallback

"""Handlers that store something: voicemail, callback requests, and the owner's mailbox
access by phone.

API:
    run_voicemail(ctx, node_id, node)      greeting (greetings.py), beep, record, save,
                                           e-mail; * in the greeting: the owner's login
    run_callback(ctx, node_id, node)       read back the number, confirm, store (a number
                                           is keyed only if other_key allows; without
                                           caller ID and other_key null: told, then next)
    run_mailbox_login(ctx, node_id, node)  PIN (hashed, locked out after failures),
                                           then the owner's menu (owner.py)
    pin_result(ctx, box_id, pin, ...)      the PIN check both voice and TTY logins use
    store_callback(ctx, node, number, by_tty=False)   keep + notify a confirmed request
    mailbox_by_number(ctx, digits)         the mailbox a caller keyed, if any

A caller who hangs up while recording keeps the message: `Call.record` returns what
was said, the recording is saved and mailed, and only then does the call end.
How the exchange signals a hang-up (learned by `ivrbox calibrate`, store key
HANGUP_SIGNAL_KEY) sets how much a silence is trusted: where the exchange drops loop
current or sends a tone, the recorder hears the caller leave, so a pause is only a pause
and may last PAUSE_TOLERATED_S; where it signals nothing but silence (or is not yet
calibrated) the mailbox's silence_end_s ends the message.
"""

from __future__ import annotations

from firmware.errors import StoreError
from firmware.ivr import greetings, readout
from firmware.ivr.context import CallContext
from firmware.ivr.owner import owner_session
from firmware.ivr.prompts import Audio
from firmware.ivr.tty import announce as announce_tty
from firmware.ivr.phrases import phrase
from firmware.settings.flow import CallbackNode, MailboxLoginNode, VoicemailNode
from firmware.settings.pins import verify_pin

S_TO_MS = 1000.0
GREETING_KEYS = {"operator": "0", "skip": "#", "owner": "*"}  # owner: only with a PIN set
GREETING_LOGIN_ATTEMPTS = 3
GREETING_LOCKOUT_S = 900
MIN_CALLBACK_DIGITS = 3
MAX_CALLBACK_DIGITS = 15
CALLBACK_TRIES = 3
MAILBOX_DIGITS = 8
PIN_DIGITS = 12
FIRST_DIGIT_MS = 8000
INTER_DIGIT_MS = 4000
HANGUP_SIGNAL_KEY = "line.hangup_signal"  # written by `ivrbox calibrate`
SIGNALLED_HANGUPS = frozenset({"loop_drop", "polarity", "modem", "reorder", "busy", "dial"})
PAUSE_TOLERATED_S = 10.0  # a caller thinking mid-message on a line that signals hang-up


def _silence_end_ms(ctx: CallContext, silence_end_s: float) -> float:
    learned = ctx.services.store.kv.get(HANGUP_SIGNAL_KEY)
    if isinstance(learned, dict) and learned.get("kind") in SIGNALLED_HANGUPS:
        return max(silence_end_s, PAUSE_TOLERATED_S) * S_TO_MS
    return silence_end_s * S_TO_MS


async def _greeting_audio(ctx: CallContext, mailbox_id: str, kind: str) -> Audio:
    choice = greetings.choose(ctx, mailbox_id, kind)
    ctx.log("greeting", mailbox=mailbox_id, source=choice.source, slot=choice.slot)
    if choice.prompt:  # logged as a `prompt` event when it starts playing
        return await ctx.prompt_audio(choice.prompt)
    name = ctx.settings.mailboxes[mailbox_id].name
    text = phrase(f"{kind}_greeting", ctx.language, name=name)  # also if the file is unreadable
    return await ctx.render(text, ctx.language, choice.file)


async def _play_greeting(ctx: CallContext, mailbox_id: str, kind: str, keys: str) -> str | None:
    """Play the mailbox greeting; returns the key that ended it, pressed during it or
    typed ahead (a caller who knows to press 0 for the operator need not wait). Of the
    keys typed ahead only `keys` count; during it any key but an ignored `*` (not in
    `keys`) ends it, and after an ignored `*` the greeting goes on where it was."""
    call = ctx.call
    pending = [k for k in call.take_keys() if k in keys]
    if pending:
        return pending[0]
    audio = await _greeting_audio(ctx, mailbox_id, kind)
    pending = [k for k in call.take_keys() if k in keys]  # typed while text-to-speech ran
    if pending:
        return pending[0]
    at = 0
    while at < len(audio):
        started = call.now
        if not await call.play(audio[at:], quiet=at > 0):  # a resumed greeting: logged once
            if call.tty.announce:  # business.announce_tty, as after any spoken prompt
                ctx.log("tty_announced")
                await announce_tty(call)
            return None
        pressed = [k for k in call.take_keys() if k in keys or k != GREETING_KEYS["owner"]]
        if pressed:
            return pressed[0]
        at += call.now - started  # only an ignored "*": on from where it stopped
    return None


def no_notice(ctx: CallContext, message_id: int) -> None:
    """An engine without a notifier (the web page's test call) e-mails nothing: its
    message is marked as notified, or the next start (send_owed) would send it."""
    ctx.services.store.messages.claim_notice(message_id)


async def record_message(ctx: CallContext, mailbox_id: str) -> bool:
    """Beep, record, save; True if a message was kept. Re-raises a hang-up after saving."""
    mailbox = ctx.settings.mailboxes[mailbox_id]
    caller = ctx.caller
    try:
        recorder = ctx.services.voicemail.start_recording(
            mailbox_id, call_id=ctx.call_id,
            caller_number=caller.number if caller else None,
            caller_name=caller.name if caller else None,
        )
    except StoreError as exc:
        ctx.log("record_refused", reason=str(exc))
        await ctx.call.play(await ctx.render(phrase("cannot_record", ctx.language),
                                                        ctx.language))
        return False
    await ctx.call.play(ctx.services.prompts.beep(), barge_in=False)
    ctx.log("recording", mailbox=mailbox_id)
    try:
        taken = await ctx.call.record(
            recorder.write,
            max_ms=mailbox.max_message_s * S_TO_MS,
            silence_ms=_silence_end_ms(ctx, mailbox.silence_end_s),
        )
    except BaseException:  # shutting down mid-message: keep it, listed like any other
        try:
            kept = ctx.services.voicemail.save(recorder.finish())
            if kept is not None and ctx.services.notify is None:
                no_notice(ctx, kept.id)  # else its notice is owed: send_owed at the next start
        except Exception:  # the disk failed too: recovery finds the .part at start-up
            pass
        raise
    finished = recorder.finish(trim_end_samples=taken.received - taken.kept)
    saved = None
    if finished.duration_ms >= mailbox.min_message_s * S_TO_MS:
        saved = ctx.services.voicemail.save(finished)
    else:
        finished.discard()
    if saved is not None:
        ctx.outcome = "voicemail"
        ctx.log("message_saved", mailbox=mailbox_id, message=saved.id,
                ms=finished.duration_ms, ended_by=taken.ended_by)
        if ctx.services.notify is not None:
            ctx.services.notify.voicemail(saved.id, mailbox_id)
        else:
            no_notice(ctx, saved.id)
    else:
        ctx.log("message_dropped", mailbox=mailbox_id, ms=finished.duration_ms)
        if ctx.outcome in ("hung_up", "not_reached"):
            ctx.outcome = "voicemail_no_message"  # never "handled in the menu"
    if taken.hangup is not None:
        raise taken.hangup
    if saved is not None:
        await ctx.call.play(await ctx.render(phrase("message_saved", ctx.language),
                                                        ctx.language))
    return saved is not None


async def run_voicemail(ctx: CallContext, node_id: str, node: VoicemailNode) -> str | None:
    """Greeting, beep, message. `*` during the greeting is the owner's login, only where
    the mailbox has a PIN, and once: after a wrong or abandoned login the caller hears
    the greeting again (its `*` ignored now) and may leave a message."""
    kind = node.greeting
    if kind == "auto":
        kind = "busy" if ctx.last_forward_result == "busy" else "unavailable"
    login = ctx.settings.mailboxes[node.mailbox].pin_hash is not None
    while True:
        keys = GREETING_KEYS["operator"] + GREETING_KEYS["skip"] + (GREETING_KEYS["owner"] if login else "")
        key = await _play_greeting(ctx, node.mailbox, kind, keys)
        if key == GREETING_KEYS["operator"] and ctx.settings.flow.operator:
            ctx.log("operator")
            return ctx.settings.flow.operator
        if key != GREETING_KEYS["owner"] or not login:
            break
        ctx.log("owner_login", mailbox=node.mailbox)
        if await login_and_serve(ctx, node.mailbox, attempts=GREETING_LOGIN_ATTEMPTS,
                                 lockout_s=GREETING_LOCKOUT_S, empty_abandons=True):
            return None
        login = False
        ctx.call.clear_keys()
    await record_message(ctx, node.mailbox)
    return node.next


async def _enter(ctx: CallContext, key: str, max_digits: int, secret: bool = False) -> str:
    ctx.call.secret = secret  # a PIN never reaches the call log, even typed ahead
    try:
        await ctx.call.play(await ctx.render(phrase(key, ctx.language), ctx.language))
        return await ctx.call.collect(max_digits, FIRST_DIGIT_MS, INTER_DIGIT_MS)
    finally:
        ctx.call.secret = False


def mailbox_by_number(ctx: CallContext, digits: str) -> str | None:
    for box_id, box in ctx.settings.mailboxes.items():
        if box.number and box.number == digits:
            return box_id
    return None


def pin_result(ctx: CallContext, box_id: str | None, pin: str, *, attempt: int,
               attempts: int, lockout_s: float, **log: object) -> str:
    """"ok", "locked" or "wrong" for a PIN entered by voice or typed on a TTY: one
    lock-out store (the mailbox's failures count across calls and both ways in), and
    the same call-log events."""
    mailbox = ctx.settings.mailboxes.get(box_id) if box_id else None
    stored = mailbox.pin_hash if mailbox else None
    lock_key = box_id or "unknown-mailbox"
    check = ctx.services.voicemail.check_pin(
        lock_key, pin, lambda entered: stored is not None and verify_pin(entered, stored),
        max_failures=attempts, lockout_ms=int(lockout_s * S_TO_MS),
    )
    if check.ok and box_id is not None:
        ctx.log("pin_ok", mailbox=box_id, **log)
        ctx.outcome = "mailbox_access"
        return "ok"
    if check.locked:
        ctx.log("pin_locked", mailbox=lock_key, **log)
        return "locked"
    ctx.log("pin_wrong", mailbox=lock_key, attempt=attempt, **log)
    return "wrong"


async def login_and_serve(ctx: CallContext, mailbox_id: str | None, *, attempts: int,
                          lockout_s: float, empty_abandons: bool = False) -> bool:
    """Ask for the PIN (and the mailbox number when not known); serve the owner. With
    `empty_abandons`, no PIN at all ends the login without counting as a wrong one."""
    for attempt in range(1, attempts + 1):
        box_id = mailbox_id or mailbox_by_number(ctx, await _enter(ctx, "enter_mailbox", MAILBOX_DIGITS))
        pin = await _enter(ctx, "enter_pin", PIN_DIGITS, secret=True)
        if empty_abandons and not pin:
            ctx.log("login_abandoned", mailbox=box_id)
            return False
        result = pin_result(ctx, box_id, pin, attempt=attempt, attempts=attempts,
                            lockout_s=lockout_s)
        if result == "ok" and box_id is not None:
            await owner_session(ctx, box_id)
            return True
        if result == "locked":
            await ctx.call.play(await ctx.render(phrase("locked", ctx.language),
                                                            ctx.language))
            return False
        await ctx.call.play(await ctx.render(phrase("wrong_pin", ctx.language),
                                                        ctx.language))
    return False


async def run_mailbox_login(ctx: CallContext, node_id: str, node: MailboxLoginNode) -> str | None:
    await ctx.say(node.prompt)
    ok = await login_and_serve(ctx, node.mailbox, attempts=node.attempts, lockout_s=node.lockout_s)
    return node.next if ok else node.fail


async def run_callback(ctx: CallContext, node_id: str, node: CallbackNode) -> str | None:
    number = ctx.caller.number if ctx.caller and ctx.caller.number else None
    say = ctx.render
    await ctx.say(node.prompt)
    if number is None and node.other_key is None:  # null: no keyed numbers, ever
        ctx.log("callback_abandoned", reason="no_number")
        await ctx.call.play(await say(phrase("callback_no_number", ctx.language), ctx.language))
        return node.next
    confirmed = False
    for _ in range(CALLBACK_TRIES):
        if number is None:
            digits = await _enter(ctx, "callback_enter", MAX_CALLBACK_DIGITS)
            if len(digits) < MIN_CALLBACK_DIGITS:
                continue
            number = digits
        await ctx.call.play(await say(phrase("callback_number_is", ctx.language), ctx.language))
        await ctx.say_words(readout.digits(number, ctx.language))
        if node.other_key:
            text = phrase("callback_confirm", ctx.language, confirm=node.confirm_key, other=node.other_key)
        else:
            text = phrase("callback_confirm_only", ctx.language, confirm=node.confirm_key)
        ctx.call.clear_keys()
        await ctx.call.play(await say(text, ctx.language))
        key = await ctx.call.wait_key(FIRST_DIGIT_MS)
        if key == node.confirm_key:
            confirmed = True
            break
        if key is not None and key == node.other_key:
            number = None
    if not confirmed or number is None:
        ctx.log("callback_abandoned")
        return node.next
    store_callback(ctx, node, number)
    if node.done_prompt:
        await ctx.say(node.done_prompt)
    else:
        await ctx.call.play(await say(phrase("callback_thanks", ctx.language), ctx.language))
    return node.next


def store_callback(ctx: CallContext, node: CallbackNode, number: str, *,
                   by_tty: bool = False) -> int:
    """Keep a confirmed request and tell the node's mailbox (e-mail, webhooks); a TTY
    caller's is marked so the owner calls back by TTY or relay."""
    name = ctx.caller.name if ctx.caller else None
    request_id = ctx.services.store.callbacks.request(number, name=name, call_id=ctx.call_id,
                                                      at_ms=ctx.wall_ms(), by_tty=by_tty)
    ctx.log("callback_requested", number=number, **({"tty": True} if by_tty else {}))
    ctx.outcome = "callback_requested"
    if ctx.services.notify is not None:
        ctx.services.notify.callback_requested(request_id, node.notify)
    return request_id

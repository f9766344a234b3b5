"""One turn of a text conversation with a TTY caller: the box sends short lines ending
with "GA" (go ahead), the caller types an answer ending with Enter (CR/LF), "GA" or "#".

API:
    await say(ctx, text, end="GA", private=False)
                                            send (and log) a turn; end="" for a notice;
                                            private: the log keeps only its length
    await answer(ctx, *, max_digits=None, secret=False) -> str
                                            what the caller typed, upper case, without
                                            the turn mark; secret: logged as "x"s only
    await keys(ctx, complete=None) -> str   a choice typed as keys (0-9 * #, the rest
                                            ignored), ending as soon as complete(keys)
    digits(text) -> str                     the digits 0-9 in an answer
    is_yes(text, key) / is_no(text, key)    Y/YES/N/NO, or the node's menu digit

Why a module of its own: the flow's nodes in text (ttynodes.py) and the callback,
mailbox and lookup handlers (ttycallback.py, ttyowner.py, ttylookup.py) all need "ask,
then read one typed line" or "ask, then read a choice",
and a caller must be able to end an answer the ways TTY users do: Enter, "GA", or by
stopping (a pause of TYPING_PAUSE_MS). A number or PIN also ends at its longest length.
Nothing typed here is ever sent back: a PIN is on the caller's own screen only.
"""

from __future__ import annotations

from collections.abc import Callable

from firmware.ivr import tty
from firmware.ivr.context import CallContext

TURN_WAIT_MS = 60_000  # a TTY user reads the text, then types: give a minute
TYPING_PAUSE_MS = 8_000  # a pause this long ends a typed answer without Enter or GA
YES = frozenset({"Y", "YES"})
NO = frozenset({"N", "NO"})


async def say(ctx: CallContext, text: str, end: str = "GA", private: bool = False) -> None:
    shown = tty.lines(text)
    ctx.log("tty_sent", **({"chars": len(shown), "private": True} if private else {"text": shown}))
    await tty.send(ctx.call, text, end)


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def _line_ended(text: str) -> bool:
    """Enter pressed after something was typed (TTYs send CR LF, some only one), or
    "#" typed after a number, as a voice caller ends one with the pound key."""
    return bool(text.strip()) and text[-1] in "\r\n#"


async def answer(ctx: CallContext, *, max_digits: int | None = None,
                 secret: bool = False) -> str:
    """One typed answer: ends with Enter, "GA"/"SK", a pause, or `max_digits` digits."""
    def stop(text: str) -> bool:
        return _line_ended(text) or (max_digits is not None and len(digits(text)) >= max_digits)

    text = tty.strip_marks(await _read(ctx, stop, secret)).upper()
    _log_typed(ctx, text, secret)
    return text


async def keys(ctx: CallContext, complete: Callable[[str], bool] | None = None) -> str:
    """A choice typed as keys, as a voice caller presses them: ends as soon as
    `complete(keys)` says the choice is whole, with "GA"/"SK", or a pause (Enter alone
    does not end it: a menu waits for a whole option)."""
    def stop(text: str) -> bool:
        return complete is not None and complete(tty.digits_in(text))

    typed = tty.digits_in(await _read(ctx, stop))
    _log_typed(ctx, typed)
    return typed


async def _read(ctx: CallContext, stop: Callable[[str], bool], secret: bool = False) -> str:
    """One turn's raw text; while `secret`, the call logs its keys as "x"s too."""
    call = ctx.call
    saved, call.secret = call.secret, secret or call.secret
    try:
        return await tty.read(call, TURN_WAIT_MS, TYPING_PAUSE_MS, stop=stop)
    finally:
        call.secret = saved


def _log_typed(ctx: CallContext, text: str, secret: bool = False) -> None:
    """Log a turn's answer; a secret one (or any while the call is secret) as "x"s."""
    hidden = secret or ctx.call.secret
    ctx.log("tty_typed", keys="x" * len(text) if hidden else text)


def is_yes(text: str, key: str | None = None) -> bool:
    word = text.strip(" .!")
    return word in YES or (key is not None and word == key)


def is_no(text: str, key: str | None = None) -> bool:
    word = text.strip(" .!")
    return word in NO or (key is not None and word == key)

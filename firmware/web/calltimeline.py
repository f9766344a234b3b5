"""One call's timeline in the owner's words: the call log's events (`store.calls.events`)
as rows for the call detail page (/calls/{id}) and its JSON.

API:
    Row(t_ms, kind, node, text, flag="", link=None)   one line of the timeline; `flag`:
                                 "tty" (text telephone), "bad" (a try that failed),
                                 "good", "minor" (detail shown greyed), or ""
    timeline(events, settings, t, message_of) -> list[Row]
    sentence(kind, detail, settings, t) -> str | None   one event's words (test call transcript)
                                 every event the owner can act on, in order; `message_of(id)`
                                 finds a voicemail message (None once it is gone)
    ended_text(call, events, t) -> str    why the call ended, in one sentence
    timeline(..., most=N)        at most N rows of events: the first ones and the last
                                 ones (how it ended), a "clipped" row between saying how
                                 many were left out
    is_tty(events) -> bool       a text telephone was heard on the call

Why apart from routes/calls.py: the engine logs some fifty kinds of event (ivr/*.py,
`ctx.log`); each needs its own sentence, and the route stays small. A kind added to
the engine later shows as its name, never as an error. Private lookup keys arrive
already hashed (ivr/lookup.py `log_key`) and are never shown; PIN keys arrive as "x".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from firmware.ivr.lookup import PRIVATE_KEY_PREFIXES
from firmware.settings import Settings
from firmware.store import Call, CallEvent, Message
from firmware.web.context import N_
from firmware.web.routes.testcall import NODE_TYPES
from firmware.web.usage import HUNT_OUTCOMES, LOOKUP_RESULTS

Translate = Callable[[str], str]
SECRET_DIGIT = "x"  # ivr/call.py: a PIN key
SCHEDULE = {"open": N_("open"), "closed": N_("closed"), "holiday": N_("a holiday or closure")}
CALLER_CLASSES = {"vip": N_("VIP caller"), "known": N_("known caller"), "blocked": N_("blocked number"),
                  "private": N_("number withheld"), "unavailable": N_("no caller ID"),
                  "unknown": N_("caller not in your lists")}
_NO_SPACE = re.compile(r"^not enough free space to record \((?P<kb>\d+) kB left\)")  # voicemail/mailbox.py
QUIET = frozenset({"prompt", "greeting", "key", "recorded", "tone", "tty_announced"})  # shown greyed


@dataclass(frozen=True)
class Row:
    t_ms: int
    kind: str
    node: str | None
    text: str
    flag: str = ""
    link: str | None = None
    link_text: str = ""


def is_tty(events: Iterable[CallEvent]) -> bool:
    return any(e.kind == "tty" for e in events)


class _Names:
    """People, mailboxes and steps by the names the owner gave them."""

    def __init__(self, settings: Settings, t: Translate):
        self.settings, self.t = settings, t

    def person(self, key: Any) -> str:
        person = self.settings.people.get(str(key))
        return (person.name if person is not None and person.name else None) or str(key or "?")

    def mailbox(self, key: Any) -> str:
        box = self.settings.mailboxes.get(str(key))
        return (box.name if box is not None and box.name else None) or str(key or "?")

    def step(self, node: Any) -> str:
        return str(node) if node else self.t("the end of the call")


def _keys(value: Any, t: Translate) -> str:
    text = str(value or "")
    if text and set(text) == {SECRET_DIGIT}:
        return t("{n} hidden keys").format(n=len(text))
    return text or t("nothing")


def _lookup_key(value: Any, t: Translate) -> str:
    text = str(value or "")
    return t("a private number (not kept)") if text.startswith(PRIVATE_KEY_PREFIXES) else (text or "—")


def _attempt(d: dict[str, Any], t: Translate) -> str:
    return t(" (try {n})").format(n=d["attempt"]) if d.get("attempt") else ""


def _menu_text(kind: str, d: dict[str, Any], names: _Names, t: Translate) -> str | None:
    """Steps, keys and choices in the menus."""
    if kind in ("node", "node_entered"):
        label = NODE_TYPES.get(str(d.get("type")))
        return t("Step “{node}” ({type})").format(node=names.step(d.get("_node")),
                                                   type=t(label) if label else d.get("type") or "?")
    if kind == "prompt":
        return t("Played “{prompt}”").format(prompt=d.get("prompt"))
    if kind == "key":
        return t("Caller pressed {key}").format(key=_keys(d.get("digit"), t))
    if kind in ("choice", "extension"):
        return t("Caller chose {keys}: on to “{target}”").format(
            keys=_keys(d.get("keys") or d.get("digits"), t), target=names.step(d.get("target")))
    if kind == "invalid":
        return t("Caller pressed {keys}: not one of the choices").format(keys=_keys(d.get("keys"), t)) \
            + _attempt(d, t)
    if kind == "timeout":
        return t("No key pressed in time") + _attempt(d, t)
    if kind == "retries_exhausted":
        return t("Too many tries: on to “{target}”").format(target=names.step(d.get("target")))
    if kind == "repeat":
        return t("Caller asked to hear the choices again")
    if kind == "operator":
        return t("Caller asked for the operator")
    if kind == "more_time":
        return t("Caller asked for more time")
    if kind == "back":
        if d.get("target"):
            return t("Caller went back to “{target}”").format(target=names.step(d.get("target")))
        return t("Caller pressed back in the first menu: it played again")
    if kind == "language":
        return t("Language: {language}").format(language=d.get("language"))
    if kind == "schedule":
        status = SCHEDULE.get(str(d.get("status")))
        return t("Opening hours: {status}, on to “{target}”").format(
            status=t(status) if status else d.get("status"), target=names.step(d.get("target")))
    if kind == "survey":
        return t("Survey answer: {answer}").format(answer=d.get("answer"))
    if kind == "screen_passed":
        return t("Passed the robot check")
    if kind == "screen_failed":
        return t("Failed the robot check") + _attempt(d, t)
    return None


def _forward_text(kind: str, d: dict[str, Any], names: _Names, t: Translate) -> str | None:
    """Forward attempts (hunt lists) and their outcomes."""
    if kind == "forward_dial":
        return t("Calling {person}").format(person=names.person(d.get("person")))
    if kind == "forward_answered":
        return t("{person} picked up").format(person=names.person(d.get("person")))
    if kind == "forward_result":
        outcome = str(d.get("outcome") or d.get("result") or "")
        label = dict(HUNT_OUTCOMES).get(outcome)
        text = t("{person}: {outcome}").format(person=names.person(d.get("person")),
                                                outcome=t(label) if label else outcome.replace("_", " "))
        if d.get("of") and int(d["of"]) > 1:
            text += t(" (attempt {n} of {of})").format(n=d.get("attempt"), of=d["of"])
        return text
    if kind == "hunt_exhausted":
        return t("Nobody on the list took the call ({n} tried)").format(n=d.get("tried"))
    if kind == "conference_quiet":
        return t("The 3-way call went quiet: the box left it")
    return None


def _message_text(kind: str, d: dict[str, Any], names: _Names, t: Translate) -> str | None:
    """Messages, call-back requests and the mailbox owner's visits by phone."""
    box = names.mailbox(d.get("mailbox"))
    if kind == "recording":
        return t("Recording a message for {mailbox}").format(mailbox=box) if not d.get("tty") \
            else t("Waiting for a typed message for {mailbox}").format(mailbox=box)
    if kind == "greeting":
        return t("Played the greeting of {mailbox}").format(mailbox=box)
    if kind == "recorded":
        return t("Recorded {length}").format(length=_length(d.get("ms")))
    if kind == "message_saved":
        if d.get("tty"):
            return t("Typed message left in {mailbox} ({n} characters)").format(mailbox=box, n=d.get("chars", 0))
        return t("Message left in {mailbox} ({length})").format(mailbox=box, length=_length(d.get("ms")))
    if kind == "message_dropped":
        return t("Nothing to keep: the message was empty or too short")
    if kind == "record_refused":  # the reason is the store's English error (a path in it, maybe)
        if m := _NO_SPACE.match(str(d.get("reason") or "")):
            return t("The message could not be recorded: the box's storage is full ({kb} kB left)").format(kb=m["kb"])
        return t("The message could not be recorded: the box could not save it")
    if kind == "callback_requested":
        return t("Asked to be called back at {number}").format(number=d.get("number"))
    if kind == "callback_abandoned":
        if d.get("reason") == "no_number":
            return t("No call back: the caller's number did not come with the call")
        return t("Started a call-back request but did not finish it")
    if kind == "owner_login":
        return t("Mailbox login for {mailbox}").format(mailbox=box)
    if kind == "pin_ok":
        return t("Correct PIN for {mailbox}").format(mailbox=box)
    if kind == "pin_wrong":
        return t("Wrong PIN") + _attempt(d, t)
    if kind == "pin_locked":
        return t("Too many wrong PINs: the mailbox is locked for a while")
    if kind in ("message_deleted", "message_kept", "message_unreadable"):
        words = {"message_deleted": N_("The owner deleted message {id} by phone"),
                 "message_kept": N_("The owner kept message {id}"),
                 "message_unreadable": N_("Message {id} could not be played")}
        return t(words[kind]).format(id=d.get("message"))
    if kind in ("greeting_recorded", "greeting_too_short", "greeting_abandoned", "greeting_cancelled"):
        words = {"greeting_recorded": N_("The owner recorded a new greeting for {mailbox}"),
                 "greeting_too_short": N_("The new greeting was too short and was not kept"),
                 "greeting_abandoned": N_("The new greeting was not finished"),
                 "greeting_cancelled": N_("The owner kept the old greeting")}
        return t(words[kind]).format(mailbox=box)
    if kind == "override":
        words = {"closed": N_("The owner set the line to closed"),
                 "open": N_("The owner set the line to open")}
        return t(words.get(str(d.get("mode")), N_("The owner set the line back to its opening hours")))
    if kind == "login_abandoned":
        return t("No PIN given: back to the greeting of {mailbox}").format(mailbox=box)
    if kind == "greeting_removed":
        return t("The owner turned off the temporary greeting of {mailbox}").format(mailbox=box)
    return None


def _other_text(kind: str, d: dict[str, Any], t: Translate) -> str | None:
    """Answer, lookups, TTY, and the end of the call."""
    if kind == "answered":
        label = CALLER_CLASSES.get(str(d.get("caller_class")))
        return t("The box answered ({who})").format(who=t(label) if label else d.get("caller_class"))
    if kind == "rejected":
        return t("Refused by your caller rules.")
    if kind == "lookup":
        result = dict((key, label) for key, label, _ in LOOKUP_RESULTS).get(str(d.get("result")))
        return t("Looked up {key}: {result}").format(
            key=_lookup_key(d.get("key"), t), result=t(result) if result else d.get("result")) + _attempt(d, t)
    if kind == "lookup_limit":
        return t("Too many look-ups in one call: no more tries")
    if kind == "lookup_repeat":
        return t("Caller asked to hear the entry again")
    if kind == "lookup_another":
        return t("Caller looked up another number")
    if kind == "tty":
        return t("Text telephone (TTY) heard: the box went on in text")
    if kind == "tty_announced":
        return t("Told TTY callers to press any key (in TTY text)")
    if kind == "tty_sent":
        if d.get("private"):
            return t("The box typed {n} characters (private)").format(n=d.get("chars", 0))
        return t("The box typed: {text}").format(text=" ".join(str(d.get("text", "")).split()))
    if kind == "tty_typed":
        return t("Caller typed: {text}").format(text=_keys(d.get("keys"), t))
    if kind == "tone":
        return t("The exchange played a {tone} tone").format(tone=str(d.get("type", "")).replace("_", " "))
    if kind == "caller_hangup":
        return t("The caller hung up")
    if kind == "ended":
        cause = str(d.get("cause", ""))
        if cause in END_REASONS:  # the page's language, not the engine's word
            return t(END_REASONS[cause])
        return t("The call ended: {why}").format(why=cause.replace("_", " "))
    if kind == "max_call_length":
        return t("The call reached its time limit.")
    if kind == "error":
        return t("A fault in the box ended the call; the details are in the system log.")
    if kind == "prompt_file_failed":
        return t("The recording of “{prompt}” could not be played").format(prompt=d.get("prompt"))
    return None


BAD = frozenset({"invalid", "timeout", "retries_exhausted", "hunt_exhausted", "message_dropped",
                 "record_refused", "pin_wrong", "pin_locked", "lookup_limit", "error", "screen_failed",
                 "max_call_length", "prompt_file_failed", "callback_abandoned"})
GOOD = frozenset({"message_saved", "callback_requested", "screen_passed", "pin_ok"})


def _flag(kind: str, d: dict[str, Any]) -> str:
    if kind.startswith("tty") or d.get("tty"):
        return "tty"
    if kind == "forward_result":
        return "good" if d.get("outcome") == "accepted" or d.get("result") == "accepted" else "bad"
    if kind == "lookup":
        return "good" if d.get("result") == "found" else "bad"
    if kind in BAD:
        return "bad"
    if kind in GOOD:
        return "good"
    return "minor" if kind in QUIET else ""


def _length(ms: Any) -> str:
    seconds = max(0, int(round((ms or 0) / 1000)))
    return f"{seconds // 60}:{seconds % 60:02d}"


def sentence(kind: str, detail: dict[str, Any], settings: Settings, t: Translate) -> str | None:
    """One event in the owner's words, as the timeline says it (None: a kind it does not
    know); the test call's transcript uses it for the kinds it has no words of its own for."""
    d, names = {**detail, "_node": detail.get("node")}, _Names(settings, t)
    return (_menu_text(kind, d, names, t) or _forward_text(kind, d, names, t)
            or _message_text(kind, d, names, t) or _other_text(kind, d, t))


def row_of(event: CallEvent, names: _Names, t: Translate,
           message_of: Callable[[int], Message | None]) -> Row:
    d = {**event.detail, "_node": event.node}
    kind = event.kind
    text = (_menu_text(kind, d, names, t) or _forward_text(kind, d, names, t)
            or _message_text(kind, d, names, t) or _other_text(kind, d, t) or kind.replace("_", " "))
    link, link_text = None, ""
    if kind == "message_saved" and isinstance(d.get("message"), int):
        message = message_of(d["message"])
        if message is None:
            link_text = t("since deleted for good")
        else:
            link = f"/voicemail/{message.id}"
            link_text = t("Listen") if message.path else t("Read it")
            if message.deleted:
                link_text = t("deleted; can still be restored")
    return Row(event.t_ms, kind, event.node, text, _flag(kind, d), link, link_text)


def timeline(events: Iterable[CallEvent], settings: Settings, t: Translate,
             message_of: Callable[[int], Message | None], most: int | None = None) -> list[Row]:
    """A call that ran long (keys pressed for an hour) can log thousands of events: with
    `most`, the rows stop at that many and say how many were left out."""
    names = _Names(settings, t)
    events = list(events)
    if most is None or len(events) <= most:
        return [row_of(e, names, t, message_of) for e in events]
    tail = min(TAIL_EVENTS, most // 2)
    head, rest = events[:most - tail], events[len(events) - tail:]
    gap = Row(head[-1].t_ms if head else 0, "clipped", None,
              t("{n} more events of this call are not shown").format(n=len(events) - len(head) - len(rest)),
              "minor")
    return ([row_of(e, names, t, message_of) for e in head] + [gap]
            + [row_of(e, names, t, message_of) for e in rest])


END_REASONS = {
    "goodbye": N_("The menus came to their end and the box said goodbye."),
    "transferred": N_("Put through to a person; the box hung up."),
    "conference_ended": N_("Put through on a 3-way call; the box stayed on until it ended."),
    "max_call_length": N_("The call reached its time limit."),
    "loop_guard": N_("The call went round the menus too many times; the box ended it."),
    "caller_rules": N_("Refused by your caller rules."),
    "office_picked_up": N_("Someone picked up a phone in the office."),
    "line_lost": N_("The phone line device stopped working during the call."),
    "restart": N_("The box restarted during the call."),
    "missed": N_("Not answered: the caller hung up while it rang."),
    "answered_by_office": N_("Answered on a phone in the office before the box."),
    "ended": N_("The call ended."),
}
TAIL_EVENTS = 50  # of a clipped timeline, the last events kept (how the call ended)


def ended_text(call: Call, events: Iterable[CallEvent], t: Translate) -> str:
    reason = call.end_reason or ""
    if call.ended_ms is None:
        return t("The call is still going on.")
    if reason.startswith("caller_hangup"):
        where = next((e.node for e in reversed(list(events)) if e.kind == "caller_hangup"), None)
        if where:
            return t("The caller hung up at step “{node}”.").format(node=where)
        return t("The caller hung up.")
    if reason.startswith("error"):
        return t("A fault in the box ended the call; the details are in the system log.")
    if reason in END_REASONS:
        return t(END_REASONS[reason])
    return reason.replace("_", " ") or t("No reason was recorded.")

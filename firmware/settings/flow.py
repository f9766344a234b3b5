"""The call flow: node types (one pydantic model each, told apart by `type`) and `Flow`.

Contents: `MenuNode`, `PlayNode`, `HangupNode`, `ScheduleNode`, `LanguageNode`,
`ExtensionNode`, `ForwardNode`, `VoicemailNode`, `CallbackNode`, `SurveyNode`,
`MailboxLoginNode`, `ScreenNode`, `LookupNode`; `Node` (their discriminated union); `Flow` (entry node,
operator node, nodes by id). Every node offers `targets()` (field path -> node id, the
edges of the graph), `silent_targets()` (the edges a caller who presses nothing
follows), and `prompt_refs()` (field path -> prompt id), used by `firmware.settings.graph`.

A target that is empty where the field allows it means "say goodbye and hang up".
A call runs node to node; the engine owns what happens inside a node (play, collect
keys, record), these models only say what to do and where to go next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal, Union

from pydantic import BeforeValidator, Field, model_validator

from firmware.settings.base import (
    Digits,
    DtmfKey,
    FrozenMap,
    Language,
    Model,
    NodeId,
    PromptId,
    Seconds,
    _digits_from_int,
)
from firmware.settings.integrations import HttpUrl as LookupUrl

OptionKeys = Annotated[str, BeforeValidator(_digits_from_int), Field(pattern=r"^[0-9*#]{1,4}$")]
"""A menu choice: 1 to 4 keys (`1`, `12`, `"#"`); longer choices wait for the
inter-key timeout after a shorter one that is also a choice."""

Retries = Annotated[int, Field(ge=1, le=10)]
"""Attempts in total of a menu or extension node (3 = the prompt plays at most 3 times)."""
TableName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")]
"""A lookup table's name (letters, digits, `_`, `-`; starting with a letter)."""
MAX_LOOKUP_DIGITS = 20


class BaseNode(Model):
    """Fields every node has."""

    note: str = Field("", description="a remark for the web page; never spoken")
    terminal: ClassVar[bool] = False  # reaching this node ends the call's path
    _target_fields: ClassVar[tuple[str, ...]] = ()
    _silent_fields: ClassVar[tuple[str, ...]] = ()
    _prompt_fields: ClassVar[tuple[str, ...]] = ()

    def targets(self) -> dict[str, str | None]:
        """Field path -> target node id (None: hang up) for every edge of this node."""
        return {f: getattr(self, f) for f in self._target_fields}

    def silent_targets(self) -> dict[str, str | None]:
        """The edges taken when the caller presses nothing (a subset of `targets`)."""
        return {f: getattr(self, f) for f in self._silent_fields}

    def prompt_refs(self) -> dict[str, str]:
        """Field path -> prompt id for every prompt this node may play."""
        return {f: getattr(self, f) for f in self._prompt_fields if getattr(self, f)}


class MenuNode(BaseNode):
    """Play `prompt`, collect a choice, go to its target. `retries` counts attempts in
    total: each wrong or missing choice uses one; after one that is not the last, the
    caller hears `invalid_prompt`/`timeout_prompt` and the prompt again; after the last,
    the call goes to `final` (so `retries: 1` means no second chance).
    `repeat_key` replays the prompt, `operator_key` goes to `operator` (or the flow's
    operator), `more_time_key` waits `more_time_s` longer; set a key to null to free it.
    `back_key` (off by default) returns to the menu the caller came from on this call
    (the previous menu of the call's path, whatever play or schedule steps lay between);
    in the call's first menu it replays the prompt. It is no edge of the graph: it only
    ever leads to a menu the call has already reached through one."""

    type: Literal["menu"]
    prompt: PromptId
    options: FrozenMap[OptionKeys, NodeId] = Field(description="keys -> target node")
    first_key_timeout_s: Seconds = Field(5, description="wait for the first key after the prompt")
    inter_key_timeout_s: Seconds = Field(2, description="wait between keys of a longer choice")
    invalid_prompt: PromptId | None = None
    timeout_prompt: PromptId | None = None
    retries: Retries | None = Field(
        None, description="attempts in total (not re-tries after the first), 1-10; empty = limits.max_retries")
    final: NodeId = Field(description="after the last retry (must lead to an end)")
    repeat_key: DtmfKey | None = "*"
    operator_key: DtmfKey | None = "0"
    operator: NodeId | None = Field(None, description="target of operator_key; empty = flow.operator")
    more_time_key: DtmfKey | None = "#"
    more_time_s: Seconds = 10
    back_key: DtmfKey | None = Field(
        None, description="go back to the previous menu of the call (first menu: replay); empty = off")

    _silent_fields = ("final",)
    _prompt_fields = ("prompt", "invalid_prompt", "timeout_prompt")

    def targets(self) -> dict[str, str | None]:
        edges: dict[str, str | None] = {f"options.{k}": v for k, v in self.options.items()}
        edges["final"] = self.final
        if self.operator is not None:
            edges["operator"] = self.operator
        return edges

    def special_keys(self) -> dict[str, str | None]:
        """Field -> key of the menu's own actions (None = off); no choice may start with one."""
        return {"repeat_key": self.repeat_key, "operator_key": self.operator_key,
                "more_time_key": self.more_time_key, "back_key": self.back_key}


class PlayNode(BaseNode):
    """Play `prompt` (opening hours, an address), then go to `next`."""

    type: Literal["play"]
    prompt: PromptId
    next: NodeId | None = Field(description="where to go after; null = hang up")
    _target_fields = _silent_fields = ("next",)
    _prompt_fields = ("prompt",)


class HangupNode(BaseNode):
    """Say `prompt` (goodbye), if any, and hang up."""

    type: Literal["hangup"]
    prompt: PromptId | None = None
    terminal = True
    _prompt_fields = ("prompt",)


class ScheduleNode(BaseNode):
    """Branch on the `hours` section: open, closed, or holiday (holidays and temporary
    closures; empty = same as closed). `override` forces one branch (the web page's
    "closed now" switch)."""

    type: Literal["schedule"]
    open: NodeId
    closed: NodeId
    holiday: NodeId | None = Field(None, description="empty = use `closed`")
    override: Literal["open", "closed", "holiday"] | None = None
    _prompt_fields = ()

    def targets(self) -> dict[str, str | None]:
        edges: dict[str, str | None] = {"open": self.open, "closed": self.closed}
        if self.holiday is not None:
            edges["holiday"] = self.holiday
        return edges

    def silent_targets(self) -> dict[str, str | None]:
        return self.targets()

    def branch(self, status: str) -> str:
        """The target for a schedule status ("open", "closed", "holiday")."""
        status = self.override or status
        if status == "open":
            return self.open
        return self.holiday if status == "holiday" and self.holiday else self.closed


class LanguageNode(BaseNode):
    """Play `prompt` ("for English press 1, 中文請按 2"); a key switches the call's language;
    then (or after `timeout_s`, keeping the current language) go to `next`."""

    type: Literal["language"]
    prompt: PromptId
    options: FrozenMap[DtmfKey, Language]
    timeout_s: Seconds = 4
    next: NodeId
    _target_fields = _silent_fields = ("next",)
    _prompt_fields = ("prompt",)


class ExtensionNode(BaseNode):
    """Dial by extension: the caller types an extension from `extensions`; wrong ones
    play `invalid_prompt` and retry, then `final`."""

    type: Literal["extension"]
    prompt: PromptId
    extensions: FrozenMap[Digits, NodeId] = Field(description="extension digits -> target node")
    first_digit_timeout_s: Seconds = 5
    inter_digit_timeout_s: Seconds = Field(3, description="an extension ends after this pause")
    invalid_prompt: PromptId | None = None
    retries: Retries | None = Field(
        None, description="attempts in total (each plays the prompt), 1-10; empty = limits.max_retries")
    final: NodeId
    _silent_fields = ("final",)
    _prompt_fields = ("prompt", "invalid_prompt")

    def targets(self) -> dict[str, str | None]:
        edges: dict[str, str | None] = {f"extensions.{k}": v for k, v in self.extensions.items()}
        edges["final"] = self.final
        return edges


class HuntEntry(Model):
    """One person of a hunt list, with what may differ from the node's defaults.
    Written in full, or as just the person's key."""

    person: str = Field(min_length=1, description="a key of `people`")
    ring_timeout_s: Seconds | None = Field(None, description="empty = the node's ring_timeout_s")
    accept: bool = Field(True, description="ask them to press the node's accept_key; false = "
                                           "a desk phone with no voicemail, taken on answer")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: object) -> object:
        return {"person": value} if isinstance(value, str) else value


class ForwardNode(BaseNode):
    """Forward the call to a configured person (by key in `people`; never a number a
    caller typed), or to a hunt list `people` tried in order with "still trying, please
    hold" between them. The person hears `whisper` and accepts with `accept_key`; no
    answer within `ring_timeout_s`, busy, refused, or outside their hours -> the next
    in the list, then `fallback`."""

    type: Literal["forward"]
    person: str | None = Field(None, min_length=1, description="a key of `people` (or give `people`)")
    people: tuple[HuntEntry, ...] | None = Field(
        None, min_length=1, max_length=10, description="a hunt list: keys of `people`, tried in order")
    prompt: PromptId | None = Field(None, description="told to the caller first (\"connecting you\")")
    whisper: PromptId | None = Field(None, description="told to the person (\"call for sales, press 1\")")
    accept_key: DtmfKey | None = Field("1", description="the person's key to accept; null = no whisper check")
    ring_timeout_s: Seconds = 25
    fallback: NodeId
    terminal = True
    _target_fields = _silent_fields = ("fallback",)
    _prompt_fields = ("prompt", "whisper")

    @model_validator(mode="after")
    def _one_target(self) -> ForwardNode:
        if (self.person is None) == (self.people is None):
            raise ValueError("give exactly one of 'person' or 'people' (a hunt list)")
        return self

    def hunt(self) -> tuple[HuntEntry, ...]:
        """The people to try, in order (one entry for the single `person` form)."""
        if self.people is not None:
            return self.people
        return (HuntEntry(person=self.person or ""),)


class VoicemailNode(BaseNode):
    """Play the mailbox's greeting (`greeting` kind; `auto` = busy after a busy forward),
    record after the beep, then go to `next` (empty: goodbye and hang up)."""

    type: Literal["voicemail"]
    mailbox: str = Field(min_length=1, description="a key of `mailboxes`")
    greeting: Literal["auto", "unavailable", "busy"] = "auto"
    next: NodeId | None = None
    terminal = True
    _target_fields = _silent_fields = ("next",)


class CallbackNode(BaseNode):
    """Offer a call back: read back the caller-ID number and confirm with `confirm_key`,
    or (if allowed) type another number; the request is e-mailed to `notify`'s
    recipients. Then `next`. The box itself never dials the number."""

    type: Literal["callback"]
    prompt: PromptId = Field(description="explains and reads back the number")
    confirm_key: DtmfKey = "1"
    other_key: DtmfKey | None = Field("2", description="type another number; null = not allowed")
    done_prompt: PromptId | None = None
    notify: str = Field(min_length=1, description="a key of `mailboxes` whose e-mail gets the request")
    next: NodeId | None = None
    _target_fields = _silent_fields = ("next",)
    _prompt_fields = ("prompt", "done_prompt")


class SurveyNode(BaseNode):
    """Ask `question`, record one key out of `answers` in the call log, then `next`."""

    type: Literal["survey"]
    question: PromptId
    answers: str = Field("12345", pattern=r"^[0-9*#]{1,12}$", description="accepted keys")
    timeout_s: Seconds = 6
    thanks_prompt: PromptId | None = None
    next: NodeId | None = None
    _target_fields = _silent_fields = ("next",)
    _prompt_fields = ("question", "thanks_prompt")


class MailboxLoginNode(BaseNode):
    """The owner's access: mailbox number (unless `mailbox` is set) and PIN; after
    `attempts` wrong PINs the mailbox is locked for `lockout_s` and the call goes to
    `fail`. After the owner's session, `next`."""

    type: Literal["mailbox_login"]
    mailbox: str | None = Field(None, description="a key of `mailboxes`; empty = ask for its number")
    prompt: PromptId
    attempts: int = Field(3, ge=1, le=10)
    lockout_s: Seconds = 900
    next: NodeId | None = None
    fail: NodeId | None = None
    terminal = True
    _target_fields = ("next", "fail")
    _silent_fields = ("fail",)
    _prompt_fields = ("prompt",)


class ScreenNode(BaseNode):
    """Robocall screen: "press 5 to be connected". The right key within `timeout_s` goes
    to `next`; after `attempts` tries, `fail` (empty: hang up)."""

    type: Literal["screen"]
    prompt: PromptId
    key: DtmfKey = "5"
    timeout_s: Seconds = 6
    attempts: int = Field(2, ge=1, le=5)
    next: NodeId
    fail: NodeId | None = None
    _target_fields = ("next", "fail")
    _silent_fields = ("fail",)
    _prompt_fields = ("prompt",)


class LookupNode(BaseNode):
    """Information by phone: the caller keys a number (order, booking, ticket), ending
    with `#` or a pause; the box reads back the matching entry from the owner's `table`
    (kept on the page) or from `url` (an HTTP endpoint answering JSON), then offers
    `repeat_key`, `another_key`, `operator_key`; `done_key` or silence goes to `next`.
    Lookups per call are capped by `attempts` (no guessing keys by brute force); when
    the source fails, or the attempts are used up, the call goes to `fallback`."""

    type: Literal["lookup"]
    prompt: PromptId = Field(description="asks for the number (\"key your order number, then pound\")")
    table: TableName | None = Field(None, description="the owner's lookup table (on the page)")
    url: LookupUrl | None = Field(None, description="or: GET this address with the key; JSON {\"text\": ...}")
    private: bool = Field(False, description="keys are personal: the call log keeps only a hash")
    min_digits: int = Field(1, ge=1, le=MAX_LOOKUP_DIGITS)
    max_digits: int = Field(12, ge=1, le=MAX_LOOKUP_DIGITS)
    first_digit_timeout_s: Seconds = 6
    inter_digit_timeout_s: Seconds = Field(3, description="the number ends after this pause (or #)")
    attempts: int = Field(3, ge=1, le=10, description="lookups allowed in one call")
    timeout_s: float = Field(2, gt=0, le=10, description="url: give up on the endpoint after this long")
    cache_s: float = Field(60, ge=0, le=3600, description="url: reuse an answer this long")
    found_prompt: PromptId | None = Field(None, description="said before the entry; empty = built-in")
    not_found_prompt: PromptId | None = Field(None, description="empty = built-in")
    repeat_key: DtmfKey | None = "1"
    another_key: DtmfKey | None = "2"
    operator_key: DtmfKey | None = "0"
    done_key: DtmfKey | None = "#"
    operator: NodeId | None = Field(None, description="target of operator_key; empty = flow.operator")
    choice_timeout_s: Seconds = Field(5, description="wait for a key after the entry")
    next: NodeId | None = Field(None, description="after the caller is done; null = goodbye")
    fallback: NodeId | None = Field(None, description="source failed or attempts used up; null = goodbye")
    _silent_fields = ("next", "fallback")
    _prompt_fields = ("prompt", "found_prompt", "not_found_prompt")

    @model_validator(mode="after")
    def _one_source(self) -> LookupNode:
        problems = []  # both at once: one mistake never hides another
        if (self.table is None) == (self.url is None):
            problems.append("give exactly one of 'table' (the owner's list) or 'url' (an endpoint)")
        if self.min_digits > self.max_digits:
            problems.append("min_digits must not be more than max_digits")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def targets(self) -> dict[str, str | None]:
        edges: dict[str, str | None] = {"next": self.next, "fallback": self.fallback}
        if self.operator is not None:
            edges["operator"] = self.operator
        return edges

    def menu_keys(self) -> dict[str, str | None]:
        """Field -> key of the choices offered after an entry (None = not offered)."""
        return {"repeat_key": self.repeat_key, "another_key": self.another_key,
                "operator_key": self.operator_key, "done_key": self.done_key}


Node = Annotated[
    Union[
        MenuNode, PlayNode, HangupNode, ScheduleNode, LanguageNode, ExtensionNode,
        ForwardNode, VoicemailNode, CallbackNode, SurveyNode, MailboxLoginNode, ScreenNode,
        LookupNode,
    ],
    Field(discriminator="type"),
]
NODE_TYPES: tuple[str, ...] = (
    "menu", "play", "hangup", "schedule", "language", "extension",
    "forward", "voicemail", "callback", "survey", "mailbox_login", "screen", "lookup",
)


class Flow(Model):
    """The call flow: calls start at `entry` (after any caller-rule routing)."""

    entry: NodeId
    operator: NodeId | None = Field(None, description="default target of every menu's operator key")
    nodes: FrozenMap[NodeId, Node] = Field(description="node id -> node")

    def node(self, node_id: str) -> BaseNode:
        return self.nodes[node_id]  # type: ignore[return-value]

    def all_nodes(self) -> Mapping[str, BaseNode]:
        return self.nodes  # type: ignore[return-value]


"""Integrations: webhooks (signed JSON POSTs) and the messenger presets built on them.

Contents: `Webhook` (one receiver: `generic` URL with a secret, or a `line` / `telegram`
preset with a token and a target), `EVENTS` / `EventName` (what a hook may receive),
`PRESETS`, `PageUrl` (the owner's page address, for links in notifications).

A hook is described here only; `firmware.notify.webhook` delivers it through the outbox
and `firmware.notify.presets` shapes the messenger requests.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from firmware.settings.base import Language, Model

EventName = Literal["call_ended", "voicemail", "callback", "survey", "tty_message"]
"""What happens on a call that a hook can be told about (`test` is sent on request only)."""
EVENTS: tuple[str, ...] = ("call_ended", "voicemail", "callback", "survey", "tty_message")
PRESETS: tuple[str, ...] = ("generic", "line", "telegram")

MIN_SECRET_LENGTH = 16  # HMAC keys shorter than this are guessable
MAX_HOOK_TIMEOUT_S = 30
LINE_TARGET = re.compile(r"^[UCR][0-9a-f]{32}$")  # user, group or room id
TELEGRAM_TOKEN = re.compile(r"^[0-9]{3,}:[A-Za-z0-9_-]{20,}$")
TELEGRAM_CHAT = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"'{value}' is not an http:// or https:// address")
    if parts.username or parts.password:
        raise ValueError("put no user name or password in the address: use `secret` (generic) "
                         "or `token` (presets)")
    return value


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
"""An http:// or https:// address (https is what receivers on the Internet should use)."""


def _page_url(value: str) -> str:
    return _check_http_url(value).rstrip("/")


PageUrl = Annotated[str, AfterValidator(_page_url)]
"""The owner's page as people reach it, e.g. http://ivrbox.local:8080 (no trailing /)."""


def _id_from_int(value: object) -> object:
    """YAML reads a Telegram chat id such as -100123 as an int; we keep text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class Webhook(Model):
    """One receiver of call events.

    `generic`: a JSON POST to `url`, signed with `secret` (see config/README.md for the
    headers and how to verify them). `line`: a LINE Messaging API push message to
    `target` (a user, group or room id) with the channel access token in `token`.
    `telegram`: a bot `sendMessage` to the chat id `target` with the bot `token`.
    Messenger texts are written in `language` (empty = the business's default).
    """

    preset: Literal["generic", "line", "telegram"] = Field("generic", description="generic, line or telegram")
    url: HttpUrl | None = Field(None, description="generic: where the JSON is POSTed")
    secret: str | None = Field(
        None, min_length=MIN_SECRET_LENGTH, repr=False,
        description="generic: HMAC-SHA256 key the receiver checks the signature with",
    )
    token: str | None = Field(None, min_length=1, repr=False,
                              description="line: channel access token; telegram: bot token")
    target: Annotated[str | None, BeforeValidator(_id_from_int)] = Field(
        None, description="line: user/group/room id; telegram: chat id or @channel")
    events: tuple[EventName, ...] = Field((), description="events to send; empty = all of them")
    enabled: bool = Field(True, description="false keeps the hook configured but sends nothing")
    language: Language | None = Field(None, description="messenger text language; empty = business default")
    timeout_s: Annotated[float, Field(gt=0, le=MAX_HOOK_TIMEOUT_S)] = Field(
        10, description="each attempt gives up after this long (then the outbox retries)")
    api_base: HttpUrl | None = Field(
        None, description="presets: the service's address (default its public API); for a proxy or tests")

    @model_validator(mode="after")
    def _fields_for_preset(self) -> Webhook:
        if self.preset == "generic":
            missing = [f for f in ("url", "secret") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"a generic webhook needs {' and '.join(missing)}")
            stray = [f for f in ("token", "target", "api_base") if getattr(self, f) is not None]
            if stray:
                raise ValueError(f"{', '.join(stray)} belong to the line/telegram presets, not generic")
            return self
        missing = [f for f in ("token", "target") if getattr(self, f) is None]
        if missing:
            raise ValueError(f"the {self.preset} preset needs {' and '.join(missing)}")
        if self.url is not None or self.secret is not None:
            raise ValueError(f"the {self.preset} preset sends to {self.preset}'s own API: "
                             "leave out url and secret (api_base overrides the address)")
        if self.preset == "line" and not LINE_TARGET.match(self.target or ""):
            raise ValueError(f"target '{self.target}' is not a LINE user, group or room id "
                             "(U, C or R followed by 32 hex digits)")
        if self.preset == "telegram":
            if not TELEGRAM_TOKEN.match(self.token or ""):
                raise ValueError("token is not a Telegram bot token (digits, ':', then the key "
                                 "@BotFather gave)")
            if not TELEGRAM_CHAT.match(self.target or ""):
                raise ValueError(f"target '{self.target}' is not a Telegram chat id "
                                 "(a number such as -1001234567890, or @channelname)")
        return self

    def wants(self, event: str) -> bool:
        """True if this hook is on and subscribed to `event` (`test` always goes)."""
        return self.enabled and (event == "test" or not self.events or event in self.events)


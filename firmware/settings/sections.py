"""The config's sections other than `hours` and `flow`.

Contents: `Business`, `LineConfig`, `Prompt`, `Greeting`, `TemporaryGreeting`,
`Greetings`, `Mailbox`, `Person`, `Smtp`, `VipRoute`, `CallerRules`, `Limits`, and the
per-country defaults `COUNTRY_DEFAULTS` (`CountryDefaults`: flash length, caller-ID
standards to try).

Each field's docstring (its `description`) is the reference an installer reads in
config/README.md; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from firmware.settings.base import (
    CallerClass,
    Country,
    DataFile,
    Dialable,
    Email,
    FrozenMap,
    Language,
    Model,
    NodeId,
    NumberPattern,
    PromptId,
    Seconds,
    empty_map,
)
from firmware.settings.devices import check_board, check_device
from firmware.settings.hours import Hours
from firmware.settings.pins import is_pin_hash


@dataclass(frozen=True)
class CountryDefaults:
    """What the country of the line implies. Tone plans and ring cadences live in
    `firmware.dsp.tones` and the line backends, keyed by the same country code."""

    flash_ms: int  # hook-flash length used unless `line.flash_ms` overrides it
    caller_id: tuple[str, ...]  # standards to try, most likely first


# Flash lengths are typical exchange values, not law: an installer whose exchange wants
# another length sets `line.flash_ms`. Taiwan's caller-ID sources conflict, so all three
# standards are tried there (DESIGN.md, "Caller ID").
COUNTRY_DEFAULTS: dict[str, CountryDefaults] = {
    "us": CountryDefaults(flash_ms=600, caller_id=("bell202",)),
    "tw": CountryDefaults(flash_ms=600, caller_id=("bell202", "v23", "dtmf")),
    "cn": CountryDefaults(flash_ms=600, caller_id=("bell202", "dtmf")),
    "uk": CountryDefaults(flash_ms=100, caller_id=("v23",)),
    "de": CountryDefaults(flash_ms=90, caller_id=("v23", "dtmf")),
    "jp": CountryDefaults(flash_ms=500, caller_id=("ntt",)),
}


class Business(Model):
    """Who answers, where, and in which languages."""

    name: str = Field(min_length=1, max_length=80, description="the business's name, as shown on the web page")
    timezone: str = Field(description="IANA time zone of the business, e.g. Asia/Taipei; hours are read in it")
    country: Country = Field(description="country of the phone line: tones, ring cadence, flash, caller ID")
    languages: tuple[Language, ...] = Field(
        ("en",), min_length=1, description="languages callers can choose; every prompt needs each of them"
    )
    default_language: Language = Field("en", description="language a call starts in")
    announce_tty: bool = Field(False, description="after the first spoken prompt, tell TTY (text "
                               "telephone) users in Baudot to press any key")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{name}' is not an IANA time zone (e.g. Asia/Taipei, America/New_York)") from None
        return name

    @field_validator("languages")
    @classmethod
    def _unique(cls, langs: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(langs)) != len(langs):
            raise ValueError("a language is listed twice")
        return langs

    @model_validator(mode="after")
    def _default_is_offered(self) -> Business:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language '{self.default_language}' is not in languages")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The business's time zone, for `when.astimezone(business.zone)`."""
        return ZoneInfo(self.timezone)


AnswerAction = Literal["answer", "ignore", "reject"]
"""`answer` after the rings; `ignore` lets it ring (a person may pick up); `reject`
answers and hangs up at once."""

DEFAULT_ANSWER: dict[str, str] = {
    "vip": "answer", "known": "answer", "unknown": "answer",
    "private": "answer", "unavailable": "answer", "blocked": "reject",
}


class LineConfig(Model):
    """The phone line and how the box answers it."""

    backend: Literal["sim", "modem", "fxo"] = Field(
        "sim", description="sim (no hardware), modem (USB voice modem) or fxo (FXO board)"
    )
    device: str | None = Field(
        None, description="modem: serial port (/dev/ttyACM0); fxo: sound card (hw:1); sim: unused"
    )
    board: str = Field(
        "ivrbox-fxo-ref", min_length=1,
        description="fxo: the board's pin map, a name from hw/pinmaps (hw/pinmaps/<name>.yaml)",
    )
    rings: int = Field(2, ge=1, le=15, description="rings before answering (caller ID arrives after ring 1)")
    flash_ms: int | None = Field(
        None, ge=50, le=1500, description="hook-flash length in ms; empty = the country's default"
    )
    caller_id: Literal["auto", "bell202", "v23", "dtmf", "ntt", "none"] = Field(
        "auto", description="caller-ID standard; auto = the country's"
    )
    transfer: Literal["transfer", "conference"] = Field(
        "transfer",
        description="transfer: the line has 3-way call transfer and the box hangs up after "
        "connecting; conference: plain 3-way calling, the box stays on until one side hangs up",
    )
    answer: FrozenMap[CallerClass, AnswerAction] = Field(
        default_factory=empty_map,
        description="per caller class: answer, ignore (let it ring) or reject; unlisted classes "
        "use answer, except blocked which uses reject",
    )

    @field_validator("device")
    @classmethod
    def _device_fits(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_device(info.data.get("backend"), value)

    @field_validator("board")
    @classmethod
    def _known_board(cls, value: str) -> str:
        return check_board(value)

    @model_validator(mode="after")
    def _device_needed(self) -> LineConfig:
        if self.backend != "sim" and not self.device:
            raise ValueError(f"backend '{self.backend}' needs 'device'")
        return self

    def action_for(self, caller_class: str) -> str:
        """What to do with a call of this class (`answer`, `ignore` or `reject`)."""
        return self.answer.get(caller_class, DEFAULT_ANSWER[caller_class])  # type: ignore[call-overload]

    def flash_ms_for(self, country: str) -> int:
        return self.flash_ms if self.flash_ms is not None else COUNTRY_DEFAULTS[country].flash_ms

    def caller_id_for(self, country: str) -> tuple[str, ...]:
        if self.caller_id == "none":
            return ()
        return COUNTRY_DEFAULTS[country].caller_id if self.caller_id == "auto" else (self.caller_id,)


def _spoken(text: str) -> str:
    if not text.strip():
        raise ValueError("the text is blank, so callers would hear silence: write what the box "
                         "should say, or leave this language out")
    return text


SpokenText = Annotated[str, AfterValidator(_spoken)]
"""Text for text-to-speech: something to say, not only spaces."""


class Prompt(Model):
    """What the box says: a text per language (spoken by text-to-speech), or a recorded
    file per language (8 kHz mono WAV, relative to the data dir) that takes precedence."""

    en: SpokenText | None = Field(None, min_length=1, description="English text")
    zh_TW: SpokenText | None = Field(None, alias="zh-TW", min_length=1, description="Traditional Chinese text")
    file: FrozenMap[Language, DataFile] = Field(
        default_factory=empty_map, description="language -> recording (.wav, relative to the data dir)")

    def text(self, language: str) -> str | None:
        return {"en": self.en, "zh-TW": self.zh_TW}.get(language)

    def has(self, language: str) -> bool:
        """True if this prompt can be played in `language` (text or recording)."""
        return self.text(language) is not None or language in self.file


class Greeting(Model):
    """A mailbox greeting: a prompt id or a recorded file; empty = the built-in greeting."""

    prompt: PromptId | None = None
    file: DataFile | None = Field(None, description="recorded greeting (.wav, relative to the data dir)")

    @property
    def is_set(self) -> bool:
        return bool(self.prompt or self.file)

    @model_validator(mode="after")
    def _one_source(self) -> Greeting:
        if self.prompt and self.file:
            raise ValueError("give 'prompt' or 'file', not both")
        return self


class TemporaryGreeting(Greeting):
    """A greeting ("away until Monday") that replaces the others until `until` (local time)."""

    until: dt.datetime = Field(description="local date-time at which it expires")

    @field_validator("until")
    @classmethod
    def _local_time(cls, until: dt.datetime) -> dt.datetime:
        if until.tzinfo is not None:  # `Greetings.active` compares wall-clock times
            raise ValueError("write 'until' as local time at the business, without an offset")
        return until


class Greetings(Model):
    unavailable: Greeting = Field(default_factory=Greeting, description="when nobody can answer")
    busy: Greeting = Field(default_factory=Greeting,
                           description="when the forward found the line busy; empty = the unavailable one")
    temporary: TemporaryGreeting | None = Field(None, description="overrides both until it expires")

    def temporary_on(self, local_now: dt.datetime) -> bool:
        t = self.temporary
        return t is not None and local_now.replace(tzinfo=None) < t.until.replace(tzinfo=None)

    def active(self, kind: Literal["unavailable", "busy"], local_now: dt.datetime) -> Greeting:
        """The greeting to play now: the temporary one while it has not expired; a busy
        greeting left empty is the unavailable one (the owner's words, not a built-in)."""
        if self.temporary is not None and self.temporary_on(local_now):
            return self.temporary
        return self.busy if kind == "busy" and self.busy.is_set else self.unavailable


class Mailbox(Model):
    """A voicemail box. Messages are e-mailed (WAV attached) to `email`."""

    name: str = Field(min_length=1, description="who it belongs to, as spoken and shown")
    number: str | None = Field(
        None, pattern=r"^[0-9]{1,8}$", description="digits a caller types to reach it at a mailbox login"
    )
    pin_hash: str | None = Field(None, description="scrypt hash of the owner's PIN: `ivrbox config hash-pin`")
    email: tuple[Email, ...] = Field((), description="recipients of new messages")
    greetings: Greetings = Field(default_factory=Greetings)
    max_message_s: Seconds = Field(180, description="recording stops after this long")
    min_message_s: float = Field(2, ge=0, le=60, description="shorter recordings are dropped as hang-ups")
    silence_end_s: Seconds = Field(6, description="this much silence ends a recording")

    @field_validator("pin_hash")
    @classmethod
    def _hashed(cls, value: str | None) -> str | None:
        if value is not None and not is_pin_hash(value):
            raise ValueError("not a PIN hash: run `ivrbox config hash-pin` and paste its output")
        return value

    @model_validator(mode="after")
    def _lengths(self) -> Mailbox:
        if self.min_message_s >= self.max_message_s:
            raise ValueError("min_message_s must be shorter than max_message_s")
        return self


class Person(Model):
    """Someone calls may be forwarded to. Forwarding dials only these numbers: a caller
    never supplies a number to dial. Written in full, or as just the number."""

    name: str | None = Field(None, description="spoken/shown name; the key is used if empty")
    number: Dialable = Field(description="as dialled from this line (area code, no '+')")
    hours: Hours | None = Field(None, description="when forwarding may ring them; empty = always")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return {"number": value}
        return value


class Smtp(Model):
    """The mail server that sends voicemail and notifications."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field("starttls", description="tls = implicit TLS (port 465)")
    username: str | None = None
    password: str | None = Field(None, repr=False, description="kept in clear in this file: protect it (mode 600)")
    sender: Email = Field(description="From: address")
    timeout_s: Seconds = 30
    attach_as: Literal["wav", "mp3", "opus"] = Field(
        "wav", description="voicemail recordings in e-mails: wav plays everywhere; mp3 and "
                           "opus are about 1/8 and 1/10 the size (WAV if the box cannot write them)")


class VipRoute(Model):
    """Callers matching `match` skip the greeting and go straight to `target`."""

    match: NumberPattern
    target: NodeId
    name: str = ""


class CallerRules(Model):
    """Who is answered how, from caller ID. Order of precedence: block, vip, allow."""

    allow: tuple[NumberPattern, ...] = Field((), description="known callers (people's numbers are known too)")
    block: tuple[NumberPattern, ...] = Field((), description="blocked callers (see line.answer)")
    vip: tuple[VipRoute, ...] = ()
    screen: tuple[CallerClass, ...] = Field(
        (), description="classes that must pass `screen_node` (a robocall check) first"
    )
    screen_node: NodeId | None = Field(None, description="a `screen` node; needed if `screen` is set")
    rings: FrozenMap[CallerClass, Annotated[int, Field(ge=1, le=15)]] = Field(
        default_factory=empty_map, description="rings before answering per class; others use line.rings"
    )

    @model_validator(mode="after")
    def _screen_has_node(self) -> CallerRules:
        if self.screen and self.screen_node is None:
            raise ValueError("'screen' lists classes but 'screen_node' is empty")
        return self


class Limits(Model):
    """Bounds that keep a confused caller or a robot from holding the line."""

    max_call_s: Seconds = Field(900, description="a call is ended (politely) after this long")
    max_retries: int = Field(3, ge=1, le=10, description="default `retries` (attempts in total) of menus and extension nodes that do not set their own")
    max_forwards: int = Field(3, ge=1, le=10, description="forwards tried in one call")

"""Webhooks: call events as signed JSON POSTs (or LINE / Telegram messages), via the outbox.

API:
    WEBHOOK_KIND                                  the outbox job kind
    make_event(kind, settings, data, occurred_ms) -> dict      the JSON every hook gets
    enqueue_event(outbox, settings, event) -> [job id]         one job per hook that wants it
    WebhookSender(settings_provider, clock_ms=None)            the outbox handler
    await send_test_event(hook, settings, clock_ms=None) -> TestResult
                                                  the page's "send test event" (not queued)
    build_request(hook, event, delivery_id, timestamp_s, language) -> HttpRequest
    sign(secret, timestamp_s, body) -> "sha256=<hex>"
    verify_signature(secret, body, timestamp, signature, now_s, tolerance_s=300) -> bool
    await post(request, timeout_s) -> HttpResponse  (urllib in a worker thread, bounded)

Signing (generic hooks): `X-Ivrbox-Timestamp` is the attempt's Unix time in seconds and
`X-Ivrbox-Signature` is `sha256=` + hex HMAC-SHA256, keyed with the hook's secret, over
`<timestamp>.<raw body>`. A receiver recomputes it over the bytes it received, compares
in constant time, and refuses timestamps more than 5 minutes from its clock, so a
captured request cannot be replayed later. `X-Ivrbox-Delivery` stays the same across
retries of one delivery: receivers de-duplicate on it (delivery is at-least-once).

Outcomes: 2xx delivered; 4xx other than 408 and 429 is permanent (the receiver refuses
this request; retrying cannot help; LINE's 409 means an earlier try already went through
and counts as delivered); anything else, a timeout or a network error is retried by the
outbox with backoff, so nothing is lost while the network is down.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from firmware.errors import UsageError
from firmware.notify.outbox import DeliveryFailed
from firmware.notify.presets import line_request, render_text, telegram_request
from firmware.settings import Settings
from firmware.settings.integrations import Webhook

log = logging.getLogger(__name__)

WEBHOOK_KIND = "webhook"
SIGNATURE_HEADER = "X-Ivrbox-Signature"
TIMESTAMP_HEADER = "X-Ivrbox-Timestamp"
EVENT_HEADER = "X-Ivrbox-Event"
DELIVERY_HEADER = "X-Ivrbox-Delivery"
USER_AGENT = "ivrbox-webhook/1"
REPLAY_WINDOW_S = 300  # receivers refuse signatures older (or newer) than this
MAX_RESPONSE_CHARS = 2000  # of a response body kept for the page and the outbox error
THREAD_GRACE_S = 1.0  # the worker thread's own socket timeout fires first; this is a backstop
RETRYABLE_4XX = frozenset({408, 429})


@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: str
    elapsed_ms: int


@dataclass(frozen=True)
class TestResult:
    ok: bool
    status: int | None  # None: no answer (timeout, refused, DNS)
    body: str
    error: str | None
    elapsed_ms: int


class OutboxLike(Protocol):
    handlers: dict[str, Any]

    def enqueue(self, kind: str, payload: dict[str, Any], delay_ms: int = 0) -> int: ...


# -- signing ---------------------------------------------------------------------------

def sign(secret: str, timestamp_s: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_s}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, body: bytes, timestamp: str | None, signature: str | None,
                     now_s: float, tolerance_s: float = REPLAY_WINDOW_S) -> bool:
    """What a receiver does: right key, untouched body, and a fresh timestamp."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now_s - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


# -- events ----------------------------------------------------------------------------

def make_event(kind: str, settings: Settings, data: dict[str, Any], occurred_ms: int) -> dict[str, Any]:
    """The document every hook receives (generic hooks get it as is)."""
    when = dt.datetime.fromtimestamp(occurred_ms / 1000, tz=dt.timezone.utc)
    local = when.astimezone(settings.business.zone)
    return {"event": kind, "id": uuid.uuid4().hex, "occurred_ms": int(occurred_ms),
            "occurred_at": local.isoformat(timespec="seconds"),
            "business": settings.business.name, "data": data}


def enqueue_event(outbox: OutboxLike, settings: Settings, event: dict[str, Any]) -> list[int]:
    """One outbox job per enabled hook subscribed to this event; [] if none wants it."""
    if WEBHOOK_KIND not in outbox.handlers:
        return []
    return [outbox.enqueue(WEBHOOK_KIND, {"hook": name, "delivery": str(uuid.uuid4()), "event": event})
            for name, hook in settings.webhooks.items() if hook.wants(event["event"])]


def build_request(hook: Webhook, event: dict[str, Any], delivery_id: str, timestamp_s: int,
                  language: str) -> HttpRequest:
    if hook.preset == "line":
        url, headers, body = line_request(hook, render_text(event, language), delivery_id)
    elif hook.preset == "telegram":
        url, headers, body = telegram_request(hook, render_text(event, language))
    else:
        body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode("utf-8")
        url = hook.url or ""
        headers = {"Content-Type": "application/json", EVENT_HEADER: str(event["event"]),
                   DELIVERY_HEADER: delivery_id, TIMESTAMP_HEADER: str(timestamp_s),
                   SIGNATURE_HEADER: sign(hook.secret or "", timestamp_s, body)}
    headers["User-Agent"] = USER_AGENT
    return HttpRequest(url, headers, body)


# -- HTTP ------------------------------------------------------------------------------

def _post_blocking(request: HttpRequest, timeout_s: float) -> HttpResponse:
    started = time.monotonic()
    req = urllib.request.Request(request.url, data=request.body, headers=request.headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - http(s) only
            status, raw = resp.status, resp.read(MAX_RESPONSE_CHARS * 4)
    except urllib.error.HTTPError as err:  # a status outside 2xx still is an answer
        status, raw = err.code, err.read(MAX_RESPONSE_CHARS * 4) if err.fp else b""
    elapsed = int((time.monotonic() - started) * 1000)
    return HttpResponse(status, raw.decode("utf-8", "replace")[:MAX_RESPONSE_CHARS], elapsed)


async def post(request: HttpRequest, timeout_s: float) -> HttpResponse:
    """POST in a worker thread; raises TimeoutError or OSError when there is no answer."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(_post_blocking, request, timeout_s),
                                      timeout_s + THREAD_GRACE_S)
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise TimeoutError(f"no answer within {timeout_s:g} s") from None
        raise OSError(f"cannot reach {request.url.split('/')[2]}: {reason}") from None
    except (TimeoutError, asyncio.TimeoutError):
        raise TimeoutError(f"no answer within {timeout_s:g} s") from None


def outcome(status: int, preset: str) -> str:
    """"done", "retry" or "permanent" for an HTTP status."""
    if 200 <= status < 300 or (preset == "line" and status == 409):
        return "done"
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return "permanent"
    return "retry"


def _language(hook: Webhook, settings: Settings) -> str:
    return hook.language or settings.business.default_language


class WebhookSender:
    """Outbox handler for WEBHOOK_KIND: reads the hook's current settings at delivery, so
    a changed secret or token applies to queued jobs and a removed hook stops them."""

    def __init__(self, settings: Callable[[], Settings], clock_ms: Callable[[], int] | None = None):
        self.settings = settings
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))

    async def __call__(self, payload: dict[str, Any]) -> None:
        settings = self.settings()
        name = str(payload.get("hook"))
        hook = settings.webhooks.get(name)
        if hook is None or not hook.enabled:
            raise DeliveryFailed(f"webhook '{name}' is no longer configured or is disabled",
                                 permanent=True)
        request = build_request(hook, payload["event"], str(payload["delivery"]),
                                self.clock_ms() // 1000, _language(hook, settings))
        try:
            response = await post(request, hook.timeout_s)
        except (TimeoutError, OSError) as exc:
            raise DeliveryFailed(f"webhook '{name}': {exc}") from None
        verdict = outcome(response.status, hook.preset)
        if verdict != "done":
            raise DeliveryFailed(f"webhook '{name}': HTTP {response.status} {response.body[:200]}",
                                 permanent=verdict == "permanent")


async def send_test_event(hook: Webhook, settings: Settings,
                          clock_ms: Callable[[], int] | None = None) -> TestResult:
    """Send a `test` event now (not through the outbox) and report what the receiver said."""
    if hook is None:
        raise UsageError("no webhook to test")
    now_ms = (clock_ms or (lambda: int(time.time() * 1000)))()
    event = make_event("test", settings, {"message": "ivrbox test event"}, now_ms)
    request = build_request(hook, event, str(uuid.uuid4()), now_ms // 1000, _language(hook, settings))
    started = time.monotonic()
    try:
        response = await post(request, hook.timeout_s)
    except (TimeoutError, OSError) as exc:
        return TestResult(False, None, "", str(exc), int((time.monotonic() - started) * 1000))
    ok = outcome(response.status, hook.preset) == "done"
    return TestResult(ok, response.status, response.body,
                      None if ok else f"HTTP {response.status}", response.elapsed_ms)

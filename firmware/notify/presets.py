"""Messenger presets: call events as short texts, and the exact requests LINE and Telegram take.

API:
    render_text(event, language) -> str        one line or two, in "en" or "zh-TW"
    line_request(hook, text, retry_key) -> (url, headers, body)
        LINE Messaging API push message: POST {api_base}/v2/bot/message/push,
        `Authorization: Bearer <channel access token>`, JSON {"to", "messages": [{"type":
        "text", "text"}]}, and `X-Line-Retry-Key` (a UUID kept across our retries, so LINE
        answers 409 instead of sending a duplicate)
    telegram_request(hook, text) -> (url, headers, body)
        Telegram Bot API: POST {api_base}/bot<token>/sendMessage, JSON {"chat_id", "text"}
    LINE_API, TELEGRAM_API (default bases; `hook.api_base` overrides, for a proxy or tests)

`event` is the dict `webhook.make_event` builds (`event`, `business`, `data`, ...).
"""

from __future__ import annotations

import json
from typing import Any

from firmware.settings.integrations import Webhook

LINE_API = "https://api.line.me"
TELEGRAM_API = "https://api.telegram.org"
LINE_MAX_TEXT = 5000  # characters in one LINE text message
TELEGRAM_MAX_TEXT = 4096  # characters in one Telegram message
JSON_TYPE = "application/json"

TEMPLATES: dict[str, dict[str, str]] = {
    "call_ended": {
        "en": "Call from {caller} ended after {duration}: {outcome}. Path: {path}.",
        "zh-TW": "{caller}的來電已結束，通話 {duration}，結果：{outcome}。路徑：{path}。",
    },
    "voicemail": {
        "en": "New voicemail for {mailbox} from {caller}, {duration}.{link}",
        "zh-TW": "{mailbox}有新留言，來自{caller}，長度 {duration}。{link}",
    },
    "tty_message": {
        "en": "Text-telephone (TTY) message for {mailbox} from {caller}: {text}{link}",
        "zh-TW": "{mailbox}收到文字電話（TTY）留言，來自{caller}：{text}{link}",
    },
    "callback": {
        "en": "{caller} asks to be called back at {number}.",
        "zh-TW": "{caller}請求回電，號碼：{number}。",
    },
    "callback_tty": {  # a callback asked for from a text telephone (data "tty": true)
        "en": "{caller} asks to be called back at {number} by text telephone (TTY) or a relay service.",
        "zh-TW": "{caller}請求以文字電話（TTY）或轉接服務回電，號碼：{number}。",
    },
    "survey": {
        "en": "Survey '{survey}': a caller ({caller}) answered {answer}.",
        "zh-TW": "問卷「{survey}」：來電者（{caller}）回答 {answer}。",
    },
    "test": {
        "en": "Test message from your phone attendant: this notification works.",
        "zh-TW": "電話總機的測試訊息：這個通知設定正常。",
    },
}
LINK = {"en": " Listen: {url}", "zh-TW": "收聽：{url}"}
UNKNOWN_CALLER = {"en": "an unknown caller", "zh-TW": "未顯示號碼的來電者"}
OUTCOMES: dict[str, dict[str, str]] = {
    "voicemail": {"en": "left a message", "zh-TW": "已留言"},
    "forwarded": {"en": "put through to a person", "zh-TW": "已轉接給專人"},
    "handled_in_menu": {"en": "handled by the menu", "zh-TW": "由語音選單處理"},
    "callback_requested": {"en": "asked for a call back", "zh-TW": "請求回電"},
    "hung_up": {"en": "hung up", "zh-TW": "來電者掛斷"},
    "missed": {"en": "missed", "zh-TW": "未接"},
    "answered_by_office": {"en": "picked up in the office", "zh-TW": "由辦公室接聽"},
    "office_picked_up": {"en": "picked up in the office", "zh-TW": "由辦公室接聽"},
    "rejected": {"en": "rejected by the caller rules", "zh-TW": "依來電規則拒接"},
    "screened_out": {"en": "screened out", "zh-TW": "已過濾"},
    "mailbox_access": {"en": "owner's mailbox access", "zh-TW": "信箱管理"},
    "voicemail_no_message": {"en": "reached the mailbox but left no message", "zh-TW": "進入語音信箱但未留言"},
    "not_reached": {"en": "nobody could take the call", "zh-TW": "無人接聽轉接"},
    "error": {"en": "ended by a fault of the box", "zh-TW": "系統故障中斷"},
    "interrupted": {"en": "cut off when the box restarted", "zh-TW": "總機重新啟動時中斷"},
}


def _caller(data: dict[str, Any], language: str) -> str:
    caller = data.get("caller") or {}
    number, name = caller.get("number"), caller.get("name")
    if number and name:
        return f"{number} ({name})" if language == "en" else f"{number}（{name}）"
    return number or name or UNKNOWN_CALLER[language]


def _duration(seconds: Any) -> str:
    total = int(round(float(seconds or 0)))
    return f"{total // 60}:{total % 60:02d}"


def render_text(event: dict[str, Any], language: str) -> str:
    """The event as a message a person reads on a phone, prefixed with the business."""
    language = language if language in LINK else "en"
    kind = str(event.get("event"))
    data = event.get("data") or {}
    url = data.get("url")
    values = {
        "caller": _caller(data, language),
        "duration": _duration(data.get("duration_s")),
        "outcome": OUTCOMES.get(str(data.get("outcome")), {}).get(language, str(data.get("outcome"))),
        "path": " > ".join(data.get("path") or []) or "-",
        "mailbox": data.get("mailbox_name") or data.get("mailbox") or "",
        "link": LINK[language].format(url=url) if url else "",
        "text": data.get("text") or "",
        "number": data.get("number") or "",
        "survey": data.get("survey") or "",
        "answer": data.get("answer") or "",
    }
    if kind == "callback" and data.get("tty"):
        kind = "callback_tty"
    template = TEMPLATES.get(kind, {}).get(language) or f"{kind}: {json.dumps(data, ensure_ascii=False)}"
    business = event.get("business")
    text = template.format(**values)
    return f"[{business}] {text}" if business else text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _base(hook: Webhook, default: str) -> str:
    return (hook.api_base or default).rstrip("/")


def line_request(hook: Webhook, text: str, retry_key: str) -> tuple[str, dict[str, str], bytes]:
    body = {"to": hook.target, "messages": [{"type": "text", "text": _clip(text, LINE_MAX_TEXT)}]}
    headers = {"Content-Type": JSON_TYPE, "Authorization": f"Bearer {hook.token}",
               "X-Line-Retry-Key": retry_key}
    return (f"{_base(hook, LINE_API)}/v2/bot/message/push", headers,
            json.dumps(body, ensure_ascii=False).encode("utf-8"))


def telegram_request(hook: Webhook, text: str) -> tuple[str, dict[str, str], bytes]:
    target = hook.target or ""
    chat: int | str = int(target) if target.lstrip("-").isdigit() else target  # Integer or @name
    body = {"chat_id": chat, "text": _clip(text, TELEGRAM_MAX_TEXT)}
    return (f"{_base(hook, TELEGRAM_API)}/bot{hook.token}/sendMessage", {"Content-Type": JSON_TYPE},
            json.dumps(body, ensure_ascii=False).encode("utf-8"))

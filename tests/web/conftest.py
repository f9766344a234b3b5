"""Fixtures for the web page: a fresh data dir with the default config, the app on it,
and TestClients before and after the first-run setup."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from firmware.appliance import DEFAULT_CONFIG, ConfigSource, find_audio_dir
from firmware.ivr.prompts import Prompts, TextToSpeech
from firmware.store import Store
from firmware.voicemail.mailbox import MailboxPolicy, Voicemail
from firmware.web import LineState, WebServices, create_app

PASSWORD = "correct horse battery"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # argon2id, cheap for tests
NOW_MS = 1_780_000_000_000  # 2026-05-28, a Thursday


class Clock:
    def __init__(self, ms: int = NOW_MS):
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def make_services(data: Path, clock: Clock | None = None, **extra) -> WebServices:
    config_path = data / "config" / "current.yaml"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    if not config_path.exists():
        shutil.copyfile(DEFAULT_CONFIG, config_path)
    source = ConfigSource(config_path, fallback=None)
    store = Store(data, clock_ms=clock)
    voicemail = Voicemail(store, MailboxPolicy(min_message_ms=0))
    prompts = Prompts(TextToSpeech(store.data.tts_cache), find_audio_dir())
    kwargs = {"clock_ms": clock} if clock else {}
    extra.setdefault("password_hasher", FAST_HASHER)
    return WebServices(store=store, voicemail=voicemail, prompts=prompts, config_path=config_path,
                       settings=source.current, config_error=lambda: source.last_error,
                       **kwargs, **extra)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(tmp_path: Path, clock: Clock) -> Iterator[WebServices]:
    s = make_services(tmp_path / "data", clock)
    yield s
    s.store.close()


@pytest.fixture
def fresh(services: WebServices) -> TestClient:
    """A client on a box that has not been set up yet."""
    return TestClient(create_app(services), base_url="http://ivrbox.local")


def csrf_of(client: TestClient, html: str | None = None) -> str:
    if html is not None:
        m = re.search(r'name="csrf" value="([^"]+)"', html)
        assert m, "no CSRF field in the page"
        return m.group(1)
    return client.get("/api/session").json()["csrf"]


def do_setup(client: TestClient, **overrides: str) -> None:
    page = client.get("/setup")
    form = {"csrf": csrf_of(client, page.text), "password": PASSWORD, "password2": PASSWORD,
            "business": "Lin Dental", "timezone": "Asia/Taipei", "country": "tw", "language": "en",
            **overrides}
    r = client.post("/setup", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text


@pytest.fixture
def client(fresh: TestClient) -> TestClient:
    """Set up and logged in."""
    do_setup(fresh)
    return fresh


def post(client: TestClient, url: str, data: dict | None = None, **kw):
    """A form POST with the page's CSRF token, not following the redirect."""
    form = {"csrf": csrf_of(client), **(data or {})}
    return client.post(url, data=form, follow_redirects=False, **kw)

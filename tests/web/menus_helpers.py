"""Shared by the menus/hours/history tests: a call into the published flow on a SimLine."""

from __future__ import annotations

import asyncio

from firmware.appliance import ConfigSource
from firmware.line.sim import SimCaller, SimLine, parse_script
from firmware.web.services import WebServices, default_engine_factory


async def call_published(services: WebServices, script: str):
    """One call (keys as DTMF audio) into the config the page published; returns the summary."""
    source = ConfigSource(services.config_path, fallback=None)
    settings = source.current()
    line = SimLine(country=settings.business.country)
    engine = default_engine_factory(services)(line, source.current, lambda kind, detail: None)
    caller = SimCaller(parse_script(script))
    await line.open()
    try:
        line.incoming(caller)
        return await engine.handle_call()
    finally:
        await line.close()


def call(services: WebServices, script: str):
    return asyncio.run(call_published(services, script))

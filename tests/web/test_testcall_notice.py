"""A message left in the page's test call is never e-mailed: the test call's engine has
no notifier, and its message must not stay 'notice owed' (messages.notified_ms) either,
or the next start of the engine (Box.recover -> send_owed) e-mails and webhooks every
test message the owner ever left. Real call: DTMF and speech on the simulated line."""

from __future__ import annotations

from firmware.appliance import Box, ConfigSource
from firmware.line.sim import SimParty
from firmware.web.services import WebServices
from tests.web.test_call_detail import (RECEPTION_NO, SALES_NO, call,  # noqa: F401
                                        office_open, to_sales_then_message)


def test_a_test_call_message_is_not_owed_a_notice(services: WebServices, office_open) -> None:  # noqa: F811
    summary = call(services, to_sales_then_message(),
                   {SALES_NO: SimParty.busy(), RECEPTION_NO: SimParty.no_answer()})
    assert len(services.voicemail.list("general")) == 1
    assert summary.outcome == "voicemail"
    assert services.store.messages.unnotified() == []
    # the engine starting on the same data dir sends nothing for it
    box = Box(services.store.data.root, ConfigSource(services.config_path, fallback=None))
    try:
        assert box.notifier.send_owed() == 0
        assert box.store.jobs.next_due_ms() is None  # no e-mail, no webhook queued
    finally:
        box.close()

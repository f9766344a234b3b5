"""A message's notice is owed until claimed (migration 6): claimed once only, and the
messages of a box updated from an older version count as notified, so the update sends
no old notices again."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.store import Store
from firmware.store.db import Database
from firmware.store.messages import Messages
from firmware.store.schema import MIGRATIONS


def test_a_saved_message_owes_its_notice_until_claimed_once(tmp_path: Path) -> None:
    store = Store(tmp_path, clock_ms=lambda: 5_000)
    try:
        first = store.messages.add("general", text="call me", received_ms=1_000)
        second = store.messages.add("sales", text="and me", received_ms=2_000)
        assert [m.id for m in store.messages.unnotified()] == [first.id, second.id]
        assert store.messages.claim_notice(first.id) is True
        assert store.messages.claim_notice(first.id) is False  # a second sender gets nothing
        assert store.messages.get(first.id).notified_ms == 5_000
        assert [m.id for m in store.messages.unnotified()] == [second.id]
        with pytest.raises(RuntimeError), store.db.write():  # queuing the notice failed:
            assert store.messages.claim_notice(second.id, at_ms=6_000)  # the claim goes too
            raise RuntimeError("the notice could not be queued")
        assert [m.id for m in store.messages.unnotified()] == [second.id]
        assert store.messages.claim_notice(404) is False
    finally:
        store.close()


def test_messages_from_before_the_update_count_as_notified(tmp_path: Path) -> None:
    path = tmp_path / "ivrbox.db"
    old = Database(path, migrations=MIGRATIONS[:5])
    Messages(old).add("general", text="from last year", received_ms=1_000)
    old.close()
    new = Database(path)
    try:
        (message,) = Messages(new).list()
        assert message.notified_ms == 1_000 and Messages(new).unnotified() == []
        assert Messages(new).add("general", text="new").notified_ms is None
    finally:
        new.close()

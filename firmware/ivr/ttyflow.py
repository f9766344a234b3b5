"""Every node type's handler in text, for a TTY caller (what `session.py` switches to).

API:
    TEXT_HANDLERS[node_type] -> async handler(ctx, node_id, node) -> next node id | None

The talking nodes are in ttynodes.py; the callback, mailbox login and lookup in text
have modules of their own (ttycallback.py, ttyowner.py, ttylookup.py) because each
reuses its spoken node's storage, PIN lock-out or lookup logic.
"""

from __future__ import annotations

from typing import Any

from firmware.ivr import ttycallback, ttylookup, ttyowner
from firmware.ivr.ttynodes import TEXT_HANDLERS as TALKING

TEXT_HANDLERS: dict[str, Any] = {
    **TALKING,
    "callback": ttycallback.run_callback,
    "mailbox_login": ttyowner.run_mailbox_login,
    "lookup": ttylookup.run_lookup,
}

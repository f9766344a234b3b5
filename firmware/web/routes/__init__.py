"""One module per page; `ROUTERS` is the order `create_app` includes them in."""

from __future__ import annotations

from firmware.web.routes import account, callbacks, calls, dashboard, voicemail

ROUTERS = [account.router, dashboard.router, voicemail.router, calls.router, callbacks.router]

"""One module per page; `ROUTERS` is the order `create_app` includes them in."""

from __future__ import annotations

from firmware.web.routes import account, callbacks, calls, dashboard, greetings, settings_page, voicemail

ROUTERS = [account.router, dashboard.router, voicemail.router, calls.router, callbacks.router,
           greetings.router, settings_page.router]

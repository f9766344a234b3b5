"""One module per page; `ROUTERS` is the order `create_app` includes them in."""

from __future__ import annotations

from firmware.web.routes import account, callbacks, calls, dashboard, greetings, settings_page, voicemail

ROUTERS = [account.router, dashboard.router, voicemail.router, calls.router, callbacks.router,
           greetings.router, settings_page.router]

from firmware.web.routes import (  # noqa: E402 - test call, settings sections, analytics
    analytics, settings_backup, settings_line, settings_people, settings_system, testcall)

ROUTERS += [testcall.router, settings_line.router, settings_people.router, settings_backup.router,
            settings_system.router, analytics.router]

from firmware.web.routes import history, menus  # noqa: E402 - menus, hours & holidays, history

ROUTERS += [menus.router, history.router]

from firmware.web.routes import hours  # noqa: E402

ROUTERS += [hours.router]

from firmware.web.routes import settings_lines  # noqa: E402 - adding and removing lines

ROUTERS += [settings_lines.router]

from firmware.web.routes import lookups, settings_integrations  # noqa: E402 - webhooks, lookup tables
from firmware.web.routes import settings_deliveries  # noqa: E402 - failed deliveries, send again

ROUTERS += [settings_integrations.router, settings_deliveries.router, lookups.router]

from firmware.web.routes import mailbox_greetings  # noqa: E402 - what each mailbox plays now

ROUTERS += [mailbox_greetings.router]

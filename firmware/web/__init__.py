"""The owner's web page (issue 5): server-rendered pages plus a JSON API over the box.

API:
    create_app(services) -> FastAPI        the app factory (firmware.web.app)
    serve(app, host, port)                 run it with uvicorn inside a running loop
    WebServices, LineState, SelfTestResult what the appliance hands in (firmware.web.services)

Layout: `app` (factory, gate, error handling), `context` (sessions, CSRF, rendering),
`auth` (argon2 passwords, sessions), `configs` (draft -> publish -> rollback), `i18n`,
`fmt` (times, sizes), `forms`, `routes/` (one module per page), `templates/`, `static/`.
"""

from __future__ import annotations

from firmware.web.app import create_app, serve
from firmware.web.services import LineState, SelfTestResult, WebServices

__all__ = ["LineState", "SelfTestResult", "WebServices", "create_app", "serve"]

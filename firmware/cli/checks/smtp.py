"""Check that the configured mail server answers: connect, EHLO, STARTTLS if configured.

API:
    check_smtp(config: SmtpConfig | None, timeout_s=SMTP_TIMEOUT_S) -> Check   (blocking)

It neither logs in nor sends: a wrong password shows on the web page's "send a test
e-mail", which reports the server's words. What this catches is the installer's usual
trouble: no route to the server, a port blocked by the office router, or TLS refused.
"""

from __future__ import annotations

import smtplib
import socket
import ssl

from firmware.cli.checks import Check, failed, passed, unknown
from firmware.notify.email import SmtpConfig

SMTP_TIMEOUT_S = 10.0


def check_smtp(config: SmtpConfig | None, timeout_s: float = SMTP_TIMEOUT_S) -> Check:
    name = "mail server"
    if config is None:
        return unknown(name, "not configured: messages are not e-mailed",
                       "add the smtp section on the web page (Settings) to e-mail messages")
    where = f"{config.host}:{config.port}"
    helo = socket.gethostname() or "ivrbox"
    context = ssl.create_default_context(cafile=config.ca_file)
    try:
        if config.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, local_hostname=helo,
                                                  timeout=timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(config.host, config.port, local_hostname=helo,
                                timeout=timeout_s)
        with smtp:
            code, _ = smtp.ehlo()
            if code != 250:
                return failed(name, f"{where} answered EHLO with {code}",
                              "check host and port: this may not be a mail server")
            if config.security == "starttls":
                if not smtp.has_extn("starttls"):
                    return failed(name, f"{where} does not offer STARTTLS",
                                  "set smtp.security to the server's mode (tls for port "
                                  "465, starttls for 587, none only on a trusted LAN)")
                smtp.starttls(context=context)
                smtp.ehlo()
    except ssl.SSLError as exc:
        return failed(name, f"secure connection to {where} failed: {exc.reason or exc}",
                      "check smtp.security (tls = port 465, starttls = port 587)")
    except (smtplib.SMTPException, OSError) as exc:
        text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return failed(name, f"cannot reach {where}: {text}",
                      "check the host name and port, and that the office network lets the "
                      "box out on that port (some providers block 25; use 587)")
    return passed(name, f"{where} answers ({config.security})")

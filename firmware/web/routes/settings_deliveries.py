"""Settings -> Integrations: failed webhook deliveries, and sending them again.

Pages: POST /settings/integrations/{name}/resend (job = one delivery's id; no job = every
undelivered one of this hook) -> 303 to /settings/integrations?resent=<ids>#hook-<name>;
the page then shows each of those deliveries as it is now (delivered, will retry at ...,
failed again), so a reload shows the worker's progress too.
API: POST /api/settings/webhooks/{name}/resend  {"job": id} or {} -> {"deliveries": [...]}.

"Undelivered" is the outbox's dead webhook jobs and the pending ones that failed at least
once (waiting for their next retry). Sending again (`Outbox.send_again`) keeps the job's
payload -- the same event body and delivery id (`X-Ivrbox-Delivery`, so a receiver that
got it after all de-duplicates) -- and signs it as every attempt is signed: a fresh
`X-Ivrbox-Timestamp` and its HMAC, since receivers refuse timestamps older than five
minutes. Its count of attempts starts again from 0: the owner has usually fixed the
receiver, and a count left at the give-up limit would mean a single try with no retries.
A hook that was removed or turned off is refused: its worker would drop the job at once.

A delivery being sent right now (the engine's worker holds its lease) is not listed and not
sent again: the receiver would get it twice at once. Pressing "send again" on it says so.
"Send all again" takes every undelivered job of the hook, not only the SHOWN_PER_HOOK
listed (the page says how many more there are): the page's outbox tries the oldest
SEND_AGAIN_NOW itself and leaves the rest due now for the worker, or, once one fails,
waiting for that one's retry time.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from firmware.notify.webhook import WEBHOOK_KIND
from firmware.store import Job
from firmware.web.context import N_, Refused, WebContext
from firmware.web.forms import form_values

router = APIRouter()

SHOWN_PER_HOOK = 20  # undelivered jobs listed per hook ("send all again" sends every one)
MAX_RESENT_SHOWN = 50  # ids read back from the redirect's query
_BEING_SENT = N_("That delivery is being sent right now. Reload the page in a minute to see whether it arrived.")


def _web(request: Request) -> WebContext:
    return request.app.state.web


def delivery_row(job: Job, now_ms: int) -> dict[str, Any]:
    """One delivery as the page and the API show it. `state`: "failed" (dead), "retrying"
    (failed, next try at `due_ms`), "queued" (due now, waiting for the worker), "sending"
    (an attempt is under way right now), "delivered"."""
    if job.state == "done":
        state = "delivered"
    elif job.state == "dead":
        state = "failed"
    elif job.leased(now_ms):
        state = "sending"
    else:
        state = "retrying" if job.due_ms > now_ms else "queued"
    event = job.payload.get("event") or {}
    return {"id": job.id, "hook": str(job.payload.get("hook")), "event": event.get("event", "?"),
            "state": state, "attempts": job.attempts, "error": job.last_error or "",
            "at_ms": job.done_ms or job.created_ms, "due_ms": job.due_ms if job.state == "pending" else None}


def undelivered(web: WebContext) -> dict[str, list[dict[str, Any]]]:
    """The newest SHOWN_PER_HOOK undelivered webhook jobs of each configured hook."""
    now = web.services.clock_ms()
    jobs = web.services.store.jobs
    out: dict[str, list[dict[str, Any]]] = {}
    for name in web.settings().webhooks:
        rows = jobs.undelivered(WEBHOOK_KIND, now_ms=now, limit=SHOWN_PER_HOOK, match={"hook": name})
        if rows:
            out[name] = [delivery_row(job, now) for job in rows]
    return out


def undelivered_totals(web: WebContext) -> dict[str, int]:
    """How many undelivered webhook jobs each hook has, listed or not."""
    return web.services.store.jobs.undelivered_counts(WEBHOOK_KIND, "hook", now_ms=web.services.clock_ms())


def resent_rows(web: WebContext, ids_text: str | None) -> list[dict[str, Any]]:
    """The deliveries named in `?resent=3,4`, as they are now."""
    ids = [int(part) for part in (ids_text or "").split(",")[:MAX_RESENT_SHOWN] if part.strip().isdigit()]
    jobs = [web.services.store.jobs.get(i) for i in ids]
    now = web.services.clock_ms()
    return [delivery_row(j, now) for j in jobs if j is not None and j.kind == WEBHOOK_KIND]


async def send_again(web: WebContext, name: str, job_id: int | None) -> list[Job]:
    """Send one undelivered job of hook `name` again, or every one of them (oldest first)."""
    hook = web.settings().webhooks.get(name)
    if hook is None:
        raise Refused(404, N_("That webhook no longer exists."))
    if not hook.enabled:
        raise Refused(409, N_("This webhook is off. Turn it on and save, then send again."))
    jobs = web.services.store.jobs
    now = web.services.clock_ms()
    if job_id is not None:
        job = jobs.get(job_id)
        if job is None or job.kind != WEBHOOK_KIND or job.payload.get("hook") != name:
            raise Refused(404, N_("That delivery is no longer waiting to be sent."))
        if job.leased(now):
            raise Refused(409, _BEING_SENT)
        if not (job.state == "dead" or (job.state == "pending" and job.last_error is not None)):
            raise Refused(404, N_("That delivery is no longer waiting to be sent."))
        waiting = [job_id]
    else:
        waiting = [j.id for j in jobs.undelivered(WEBHOOK_KIND, now_ms=now, limit=None, match={"hook": name})]
    waiting.reverse()  # oldest first, as they happened
    outbox = web.services.outbox
    if outbox is not None:
        sent = list(await outbox.send_again(waiting))
    else:
        sent = [job for job in (jobs.get(i) for i in waiting if jobs.requeue(i, now, now_ms=now)) if job is not None]
    if job_id is not None and not sent:  # the worker began an attempt since the checks above
        raise Refused(409, _BEING_SENT)
    return sent


def _job_id(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise Refused(404, N_("That delivery is no longer waiting to be sent."))
    return int(text)


@router.post("/settings/integrations/{name}/resend", include_in_schema=False)
async def resend_form(request: Request, name: str) -> Response:
    web = _web(request)
    job = _job_id((await form_values(request, ("job",)))["job"])
    sent = await send_again(web, name, job)
    ids = ",".join(str(j.id) for j in sent[:MAX_RESENT_SHOWN])
    return RedirectResponse(f"/settings/integrations?resent={ids}#hook-{name}", status_code=303)


@router.post("/api/settings/webhooks/{name}/resend", tags=["settings"],
             summary="Send a failed delivery (or all of a hook's) again now")
async def api_resend(request: Request, name: str) -> Response:
    web = _web(request)
    body: Any = {}
    if (await request.body()).strip():
        try:
            body = await request.json()
        except ValueError:
            raise Refused(422, N_("job must be a delivery's id (a number).")) from None
    job = body.get("job") if isinstance(body, dict) else None
    if job is not None and (not isinstance(job, int) or isinstance(job, bool)):
        raise Refused(422, N_("job must be a delivery's id (a number)."))
    sent = await send_again(web, name, job)
    now = web.services.clock_ms()
    return JSONResponse({"deliveries": [delivery_row(j, now) for j in sent]})

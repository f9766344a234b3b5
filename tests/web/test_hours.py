"""Hours & holidays: weekly ranges (several a day), holidays, closures, temporary greetings
with expiry; problems beside their rows; a draft until published."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from firmware.settings import load, status
from firmware.web.configs import text_data
from firmware.web.routes.hours import weekly_of
from tests.web.conftest import post

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def form(**changes) -> dict:
    """The hours form as the page sends it for the default config, with changes."""
    data: dict = {}
    for d in DAYS:
        weekday = d not in ("sat", "sun")
        data[f"w_{d}_start"] = ["09:00", "13:00", ""] if weekday else [""]
        data[f"w_{d}_end"] = ["12:00", "18:00", ""] if weekday else [""]
    data.update(h_name=["New Year", "", ""], h_from=["2000-01-01", "", ""], h_to=["", "", ""],
                h_annual=["annual", "once", "once"], c_name=[""], c_from=[""], c_to=[""],
                tg_general_prompt="", tg_general_until="", tg_support_prompt="", tg_support_until="")
    data.update(changes)
    return data


def draft(services) -> dict:
    return text_data(services.store.kv.get("web.config_draft"))


def test_page_shows_the_weekly_ranges_and_holidays(client: TestClient) -> None:
    page = client.get("/hours").text
    assert page.count('name="w_mon_start" value="09:00"') == 1
    assert 'name="w_fri_end" value="18:00"' in page
    assert "National Day" in page and 'value="2000-10-10"' in page
    assert page.count('name="w_sat_start"') == 1  # closed: one empty range offered


def test_weekly_ranges_are_saved_grouped(client: TestClient, services) -> None:
    r = post(client, "/hours", form(w_sat_start=["10:00", ""], w_sat_end=["14:00", ""],
                                    w_wed_start=["09:00", ""], w_wed_end=["12:00", ""]))
    assert r.status_code == 303 and r.headers["location"] == "/hours?notice=draft_saved"
    weekly = draft(services)["hours"]["weekly"]
    assert weekly == {"mon-tue": ["09:00-12:00", "13:00-18:00"], "wed": ["09:00-12:00"],
                      "thu-fri": ["09:00-12:00", "13:00-18:00"], "sat": ["10:00-14:00"]}
    assert weekly_of({"mon": ["22:00-02:00"], "sun": ["22:00-02:00"]}) == {"mon": ["22:00-02:00"], "sun": ["22:00-02:00"]}
    assert "Unpublished changes" in client.get("/hours").text


def test_holidays_closures_and_publish(client: TestClient, services) -> None:
    post(client, "/hours", form(h_name=["New Year", "Lunar New Year", ""], h_from=["2000-01-01", "2027-02-05", ""],
                                h_to=["", "2027-02-10", ""], h_annual=["annual", "once", "once"],
                                c_name=["Stocktaking"], c_from=["2027-03-05T13:00"], c_to=["2027-03-05T18:00"]))
    hours = draft(services)["hours"]
    assert hours["holidays"] == [{"name": "New Year", "date": "2000-01-01", "annual": True},
                                 {"name": "Lunar New Year", "from": "2027-02-05", "to": "2027-02-10"}]
    assert hours["closures"] == [{"name": "Stocktaking", "from": "2027-03-05T13:00", "to": "2027-03-05T18:00"}]
    assert post(client, "/draft/publish", {"note": "new year", "back": "/hours"}).status_code == 303
    settings = load(services.config_path)
    zone = settings.business.zone
    assert status(settings.hours, dt.datetime(2027, 2, 8, 10, 0, tzinfo=zone)) == "holiday"
    assert status(settings.hours, dt.datetime(2027, 3, 5, 14, 0, tzinfo=zone)) == "holiday"
    assert status(settings.hours, dt.datetime(2027, 3, 5, 10, 0, tzinfo=zone)) == "open"
    assert status(settings.hours, dt.datetime(2028, 1, 1, 10, 0, tzinfo=zone)) == "holiday"


def test_temporary_greeting_with_expiry(client: TestClient, services) -> None:
    post(client, "/hours", form(**{"tg_general_text_en": "We are away until Monday.",
                                   "tg_general_text_zh-TW": "我們週一回來。", "tg_general_until": "2026-06-01T09:00"}))
    data = draft(services)
    assert data["prompts"]["temporary_general"] == {"en": "We are away until Monday.", "zh-TW": "我們週一回來。"}
    assert data["mailboxes"]["general"]["greetings"]["temporary"] == {"prompt": "temporary_general",
                                                                       "until": "2026-06-01T09:00"}
    assert "Active" in client.get("/hours").text  # the test clock is 2026-05-28
    post(client, "/draft/publish", {"note": "away"})
    box = load(services.config_path).mailboxes["general"]
    assert box.greetings.active("unavailable", dt.datetime(2026, 5, 30, 12, 0)).prompt == "temporary_general"
    assert box.greetings.active("unavailable", dt.datetime(2026, 6, 1, 9, 0)).prompt == "leave_message"
    # clearing it
    post(client, "/hours", form(tg_general_prompt="", tg_general_until=""))
    assert "temporary" not in draft(services)["mailboxes"]["general"]["greetings"]


def test_problems_beside_their_rows(client: TestClient, services) -> None:
    r = post(client, "/hours", form(w_mon_start=["09:00", "13:00", "20:00"], w_mon_end=["12:00", "18:00", ""]))
    assert r.status_code == 422 and "Give both times, or neither." in r.text
    assert services.store.kv.get("web.config_draft") is None
    post(client, "/hours", form(h_name=["Trip", "", ""], h_from=["2027-05-10", "", ""], h_to=["2027-05-01", "", ""],
                                h_annual=["once", "once", "once"], tg_general_prompt="goodbye"))
    page = client.get("/hours").text
    assert re.search(r'data-err="h-0"[^>]*>([^<]*)<', page).group(1) == "The last day is before the first day."
    assert re.search(r'data-err="tg-general"[^>]*>([^<]*)<', page).group(1) == "Required."
    assert post(client, "/draft/publish", {"note": "x"}).status_code == 422


def test_api_hours(client: TestClient) -> None:
    csrf = client.get("/api/session").json()["csrf"]
    r = client.put("/api/hours", json={"hours": {"weekly": {"mon-sun": ["00:00-24:00"]}}}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["problems"] == []
    assert client.get("/api/hours").json()["hours"] == {"weekly": {"mon-sun": ["00:00-24:00"]}}

"""Lookup tables on the page: list with counts, paged entries, add/change/delete an entry,
replace by CSV/XLSX upload or pasted rows (every problem by row, nothing replaced on
error), size-bounded uploads, drop a table; login and CSRF on every route."""

from __future__ import annotations

import html as htmllib
import io
import re

from fastapi.testclient import TestClient

from firmware.store.lookup_import import MAX_UPLOAD_BYTES
from firmware.store.lookups import LookupEntry
from firmware.web.context import LANG_COOKIE
from tests.web.conftest import csrf_of, post


def field_error(html: str, name: str) -> str:
    m = re.search(rf'id="err-{re.escape(name)}" role="alert">([^<]*)<', html)
    return htmllib.unescape(m.group(1)) if m else ""


def problems(html: str) -> list[str]:
    block = html.split('id="problems"')[1].split("</div>")[0] if 'id="problems"' in html else ""
    return [htmllib.unescape(p) for p in re.findall(r"<li>([^<]*)</li>", block)]


def upload(client: TestClient, url: str, name: str, data: bytes, **fields):
    return client.post(url, data={"csrf": csrf_of(client), **fields}, files={"file": (name, data)},
                       follow_redirects=False)


def seed(services, table: str = "orders", n: int = 3) -> None:
    services.store.lookups.replace(table, [LookupEntry(str(1000 + i), {"": f"Order {i} shipped"}) for i in range(n)])


def test_routes_need_login_and_csrf(client: TestClient, services) -> None:
    seed(services)
    for url in ("/lookups/upload", "/lookups/orders/replace", "/lookups/orders/entry", "/lookups/orders/delete",
                "/lookups/orders/drop"):
        r = client.post(url, data={"table": "x", "key": "1000", "text": "1000,hi"}, follow_redirects=False)
        assert r.status_code == 403, url
    assert services.store.lookups.tables() == {"orders": 3}
    client.cookies.clear()
    for url in ("/lookups", "/lookups/orders"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), url
    assert client.get("/api/lookups").status_code == 401


def test_paste_creates_a_table_and_problems_are_listed_by_row(client: TestClient, services) -> None:
    assert "No tables yet" in client.get("/lookups").text
    bad = "key,text,valid_until\n12345,Shipped,2027-12-31\nabc,Oops,\n12345,Again,\n777,,\n888,Late,tomorrow\n"
    r = post(client, "/lookups/upload", {"table": "orders", "text": bad})
    assert r.status_code == 422
    rows = problems(r.text)
    assert [p.split(":")[0] for p in rows] == ["row 3", "row 4", "row 5", "row 6"]
    assert "digits only" in rows[0] and "also on row 2" in rows[1] and "no text" in rows[2] and "valid_until" in rows[3]
    assert services.store.lookups.tables() == {}  # nothing stored
    r = post(client, "/lookups/upload", {"table": "9 bad", "text": "123,Hi"})
    assert r.status_code == 422 and "starts with a letter" in field_error(r.text, "table")
    r = post(client, "/lookups/upload", {"table": "orders", "text": ""})
    assert r.status_code == 422 and "Choose a file or paste rows" in problems(r.text)[0]
    r = post(client, "/lookups/upload", {"table": "orders", "text": "12-345\tShipped today\n678\t已出貨\t2027-01-31 18:00\n"})
    assert r.status_code == 303 and r.headers["location"] == "/lookups/orders?notice=table_saved"
    assert services.store.lookups.find("orders", "12345").text_for("en") == "Shipped today"
    assert services.store.lookups.find("orders", "678").valid_until == "2027-01-31T18:00"
    page = client.get("/lookups").text
    assert 'href="/lookups/orders"' in page and ">2<" in page


def test_replace_by_upload_csv_big5_and_xlsx(client: TestClient, services) -> None:
    import openpyxl

    seed(services)
    csv_big5 = "key,text_zh-TW,text_en\n555,您的維修單已完成,Your repair is done\n".encode("cp950")
    r = upload(client, "/lookups/orders/replace", "orders.csv", csv_big5)
    assert r.status_code == 303
    assert services.store.lookups.tables() == {"orders": 1}
    assert services.store.lookups.find("orders", "555").text_for("zh-TW") == "您的維修單已完成"

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["key", "text", "valid_until"])
    sheet.append([1234567, "Booking confirmed", None])
    sheet.append(["x1", "bad key", None])
    buf = io.BytesIO()
    book.save(buf)
    r = upload(client, "/lookups/orders/replace", "bookings.xlsx", buf.getvalue())
    assert r.status_code == 422 and problems(r.text)[0].startswith("row 3:")
    assert services.store.lookups.tables() == {"orders": 1}  # the old table is untouched
    sheet.delete_rows(3)
    buf = io.BytesIO()
    book.save(buf)
    r = upload(client, "/lookups/orders/replace", "bookings.xlsx", buf.getvalue())
    assert r.status_code == 303 and services.store.lookups.find("orders", "1234567") is not None

    r = upload(client, "/lookups/orders/replace", "table.pdf", b"%PDF-1.4")
    assert r.status_code == 422 and "upload a .csv" in problems(r.text)[0]
    r = upload(client, "/lookups/orders/replace", "huge.csv", b"1,a\n" * (MAX_UPLOAD_BYTES // 4 + 1))
    assert r.status_code == 422 and "larger than" in problems(r.text)[0]
    assert services.store.lookups.tables() == {"orders": 1}
    assert post(client, "/lookups/nope/replace", {"text": "1,a"}).status_code == 404


def test_entries_are_paged_and_edited_one_by_one(client: TestClient, services) -> None:
    seed(services, n=120)
    first = client.get("/lookups/orders").text
    assert "120 entries" in first and "Page 1 of 3" in first and "1000" in first and ">1050<" not in first
    third = client.get("/lookups/orders?page=3").text
    assert "Page 3 of 3" in third and "1119" in third and "1000<" not in third
    assert client.get("/lookups/nope").status_code == 404

    r = post(client, "/lookups/orders/entry", {"key": "12a", "text": "", "valid_until": "soon"})
    assert r.status_code == 422
    assert "digits only" in field_error(r.text, "key") and "every language" in field_error(r.text, "text")
    r = post(client, "/lookups/orders/entry", {"key": "42", "text_en": "Ready", "valid_until": "31/12/2027"})
    assert r.status_code == 422 and "2027-12-31" in field_error(r.text, "valid_until")
    assert services.store.lookups.find("orders", "42") is None
    r = post(client, "/lookups/orders/entry", {"key": "4-2", "text_en": "Ready for pickup", "text_zh": "可以取件",
                                               "valid_until": "2027-12-31"})
    assert r.status_code == 303
    entry = services.store.lookups.find("orders", "42")
    assert dict(entry.texts) == {"en": "Ready for pickup", "zh-TW": "可以取件"} and entry.valid_until == "2027-12-31"
    edit = client.get("/lookups/orders?edit=42").text.split('id="entry"')[1]
    assert 'value="42"' in edit and "Ready for pickup" in edit and "可以取件" in edit
    r = post(client, "/lookups/orders/entry", {"key": "42", "text": "Picked up"})  # a change, not a copy
    assert r.status_code == 303 and dict(services.store.lookups.find("orders", "42").texts) == {"": "Picked up"}
    assert services.store.lookups.tables()["orders"] == 121

    r = post(client, "/lookups/orders/delete", {"key": "42"})
    assert r.status_code == 303 and services.store.lookups.find("orders", "42") is None
    assert post(client, "/lookups/orders/delete", {"key": "42"}).status_code == 404


def test_drop_a_table_and_the_api(client: TestClient, services) -> None:
    seed(services)
    seed(services, "tickets", 2)
    api = client.get("/api/lookups").json()
    assert api["tables"] == {"orders": 3, "tickets": 2}
    entries = client.get("/api/lookups/orders?limit=2&offset=1").json()
    assert entries["count"] == 3 and [e["key"] for e in entries["entries"]] == ["1001", "1002"]
    r = post(client, "/lookups/orders/drop")
    assert r.status_code == 303 and services.store.lookups.tables() == {"tickets": 2}
    assert post(client, "/lookups/orders/drop").status_code == 404
    assert client.get("/api/lookups/orders").status_code == 404


def test_steps_reading_a_table_are_shown(client: TestClient, services) -> None:
    def add_lookup(data):
        nodes = data["flow"]["nodes"]
        prompt = next(iter(data["prompts"]))
        nodes["order_status"] = {"type": "lookup", "prompt": prompt, "table": "orders", "next": data["flow"]["entry"]}
        first = next(n for n in nodes.values() if n.get("type") == "menu")
        first.setdefault("options", {})["7"] = "order_status"

    client.app.state.web.publisher.edit(add_lookup, "lookup step")
    page = client.get("/lookups").text
    assert "has no entries" in page and "order_status" in page
    seed(services)
    page = client.get("/lookups").text
    assert "has no entries" not in page and "order_status" in page.split('href="/lookups/orders"')[1]
    assert client.get("/api/lookups").json()["used_by"] == {"orders": ["order_status"]}


def test_refused_pasted_rows_are_shown_again_to_fix(client: TestClient, services) -> None:
    """A refused paste stays in the box (the owner fixes row 3, not pastes everything
    anew), on the new-table form and on a table's replace form; nothing is stored."""
    bad = "key,text\n12,Your cake is ready.\nabc,bad key row\n"
    r = post(client, "/lookups/upload", {"table": "orders", "text": bad})
    assert r.status_code == 422 and problems(r.text)[0].startswith("row 3")
    box = re.search(r'<textarea name="text" rows="5" class="mono"[^>]*>([^<]*)</textarea>', r.text).group(1)
    assert htmllib.unescape(box) == bad and 'value="orders"' in r.text
    assert services.store.lookups.tables() == {}
    seed(services)
    r = post(client, "/lookups/orders/replace", {"text": "<b>x</b>,oops\n"})
    assert r.status_code == 422
    box = re.search(r'<textarea name="text" rows="5" class="mono"[^>]*>([^<]*)</textarea>', r.text).group(1)
    assert box == "&lt;b&gt;x&lt;/b&gt;,oops\n"  # shown again, escaped
    assert services.store.lookups.tables() == {"orders": 3}


def test_row_problems_are_said_in_the_page_language(client: TestClient, services) -> None:
    """The importer's problems by row read in Chinese on a zh-TW page (English unchanged)."""
    bad = "key,text,valid_until\nabc,Oops,\n12,Shipped,\n12,Again,\n888,Late,tomorrow\n"
    english = problems(post(client, "/lookups/upload", {"table": "orders", "text": bad}).text)
    assert english[0] == "row 2: key 'abc' must be digits only (callers key it on a phone)"
    client.cookies.set(LANG_COOKIE, "zh-TW")
    r = post(client, "/lookups/upload", {"table": "orders", "text": bad})
    said = problems(r.text)
    assert said[:2] == ["第 2 列：號碼「abc」只能是數字（來電者要用電話按鍵輸入）", "第 4 列：號碼 12 也出現在第 3 列"]
    assert said[2].startswith("第 5 列：有效期限（valid_until）「tomorrow」")
    r = upload(client, "/lookups/upload", "orders.pdf", b"%PDF-1.4", table="orders")
    assert problems(r.text) == ["「orders.pdf」：請上傳 .csv、.tsv、.txt 或 .xlsx 檔"]
    assert services.store.lookups.tables() == {}

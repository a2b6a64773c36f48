"""If-Modified-Since on the CRM reads that Zoho's v8 spec lists it for, and the data's timeline."""

from datetime import datetime, timedelta, timezone

import pytest
import requests

JSON = "application/json;charset=UTF-8"
FIELDS = "Deal_Name,Modified_Time"


def since(days=0, seconds=0, tz=timezone.utc):
    """An If-Modified-Since value relative to the caller's own clock, as a client would send it."""
    return (datetime.now(tz) - timedelta(days=days, seconds=seconds)).replace(microsecond=0).isoformat()


def header(value):
    return {"If-Modified-Since": value}


def moment(text):
    return datetime.fromisoformat(text).timestamp()


def all_deals(api):
    return api.get("/Deals", fields=FIELDS).json()["data"]


def assert_not_modified(response):
    assert response.status_code == 304, response.text
    assert response.content == b""
    assert "Content-Type" not in response.headers and "Content-Length" not in response.headers


def test_list_returns_exactly_the_records_modified_after_it(api):
    cutoff = since(days=7)
    response = api.get("/Deals", headers=header(cutoff), fields=FIELDS)
    assert response.status_code == 200 and response.headers["Content-Type"] == JSON
    rows = response.json()["data"]
    expected = [d["id"] for d in all_deals(api) if moment(d["Modified_Time"]) > moment(cutoff)]
    assert [r["id"] for r in rows] == expected  # same order as without the header: id descending
    assert response.json()["info"]["count"] == len(rows)


def test_last_week_is_a_sensible_subset_of_sixty_deals(api):
    rows = api.get("/Deals", headers=header(since(days=7)), fields=FIELDS).json()["data"]
    assert 6 <= len(rows) <= 36  # some, not all: open deals are worked on, closed ones went quiet
    day = api.get("/Deals", headers=header(since(days=1)), fields=FIELDS).json()["data"]
    assert 0 < len(day) < len(rows)


def test_nothing_modified_since_is_304_with_no_body(zoho, api):
    before = zoho.credits.used()
    assert_not_modified(api.get("/Deals", headers=header(since()), fields=FIELDS))
    assert zoho.credits.used() - before == 1  # one call, one credit, even when nothing changed
    assert zoho.counters()["crm"]["GET /crm/v8/Deals"] == 1


def test_the_boundary_is_strictly_after(api):
    newest = max(all_deals(api), key=lambda d: moment(d["Modified_Time"]))
    assert_not_modified(api.get("/Deals", headers=header(newest["Modified_Time"]), fields=FIELDS))
    just_before = datetime.fromisoformat(newest["Modified_Time"]) - timedelta(seconds=1)
    rows = api.get("/Deals", headers=header(just_before.isoformat()), fields=FIELDS).json()["data"]
    assert newest["id"] in [r["id"] for r in rows]


def test_any_offset_names_the_same_instant(api):
    utc = since(days=3)
    kolkata = datetime.fromisoformat(utc).astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    zulu = utc.replace("+00:00", "Z")
    results = [api.get("/Deals", headers=header(value), fields=FIELDS).json()["data"] for value in (utc, kolkata, zulu)]
    assert results[0] and results[0] == results[1] == results[2]


@pytest.mark.parametrize("value", ["yesterday", "2026-11-24", "2026-11-24T10:00:00", "Tue, 24 Nov 2026 10:00:00 GMT",
                                   "", "2026-13-01T00:00:00+00:00"])
def test_a_malformed_header_is_invalid_data(api, value):
    response = api.get("/Deals", headers=header(value), fields=FIELDS)
    assert response.status_code == 400 and response.headers["Content-Type"] == JSON
    body = response.json()
    assert body["code"] == "INVALID_DATA" and body["status"] == "error"
    assert body["details"] == {"header_name": "If-Modified-Since", "expected_data_type": "datetime"}
    assert "ISO 8601" in body["message"]


def test_a_malformed_header_can_be_ignored_by_option(make_zoho, api_for):
    api = api_for(make_zoho(malformed_if_modified_since="ignore"))
    response = api.get("/Deals", headers=header("Tue, 24 Nov 2026 10:00:00 GMT"), fields=FIELDS)
    assert response.status_code == 200 and len(response.json()["data"]) == 60


def test_the_option_is_checked(make_zoho):
    with pytest.raises(ValueError, match="malformed_if_modified_since"):
        make_zoho(malformed_if_modified_since="maybe")


def test_it_combines_with_other_filters_and_sorting(zoho, api):
    cutoff = since(days=14)
    mine = api.get("/Deals", headers=header(cutoff), fields="Owner,Modified_Time", cvid="5725767000000087003")
    rows = mine.json()["data"]
    assert rows and all(r["Owner"]["id"] == zoho.org.current_user["id"] for r in rows)
    assert all(moment(r["Modified_Time"]) > moment(cutoff) for r in rows)
    newest_first = api.get("/Deals", headers=header(cutoff), fields=FIELDS, sort_by="Modified_Time").json()["data"]
    times = [moment(r["Modified_Time"]) for r in newest_first]
    assert times == sorted(times, reverse=True) and len(newest_first) > len(rows)
    old_ids = [zoho.org.deals.id(i) for i in (50, 55) if zoho.org.deals.modified_ts(i) <= moment(cutoff)]
    assert old_ids
    assert_not_modified(api.get("/Deals", headers=header(cutoff), fields=FIELDS, ids=",".join(old_ids)))


def test_pages_through_the_changed_records_with_tokens_bound_to_the_header(make_zoho, api_for):
    zoho = make_zoho(deals=5000)
    api = api_for(zoho)
    cutoff = since(days=7)
    expected = len(zoho.orderings.modified_after(zoho.org.deals, moment(cutoff)))
    assert 200 < expected < 1000
    params, seen = {"fields": FIELDS, "per_page": 200}, []
    for _ in range(10):
        body = api.get("/Deals", headers=header(cutoff), **params).json()
        seen += [r["id"] for r in body["data"]]
        if not body["info"]["more_records"]:
            break
        params["page_token"] = body["info"]["next_page_token"]
    assert len(seen) == len(set(seen)) == expected
    token = api.get("/Deals", headers=header(cutoff), fields=FIELDS, per_page=200).json()["info"]["next_page_token"]
    unbound = api.get("/Deals", fields=FIELDS, per_page=200, page_token=token)
    assert unbound.status_code == 400 and unbound.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"


def test_one_record(zoho, api):
    oakland = zoho.org.deals.record(0)
    path = f"/Deals/{oakland['id']}"
    assert_not_modified(api.get(path, headers=header(oakland["Modified_Time"])))
    earlier = (datetime.fromisoformat(oakland["Modified_Time"]) - timedelta(seconds=1)).isoformat()
    response = api.get(path, headers=header(earlier))
    assert response.status_code == 200 and response.json()["data"][0]["id"] == oakland["id"]
    assert api.get("/Deals/5725767000000000001", headers=header(earlier)).status_code == 204  # no such record
    assert api.get(path, headers=header("soon")).status_code == 400


def test_related_notes_and_all_notes(zoho, api):
    notes = api.get(f"/Deals/{zoho.org.deals.id(3)}/Notes", fields="Note_Title,Modified_Time").json()["data"]
    assert len(notes) == 3
    times = sorted(moment(n["Modified_Time"]) for n in notes)
    between = datetime.fromtimestamp(times[0], timezone.utc).isoformat()  # only the two later notes changed
    newer = api.get(f"/Deals/{zoho.org.deals.id(3)}/Notes", headers=header(between), fields="Modified_Time").json()
    assert [moment(n["Modified_Time"]) for n in newer["data"]] == times[1:]
    assert_not_modified(api.get(f"/Deals/{zoho.org.deals.id(3)}/Notes", headers=header(since()), fields="Note_Title"))
    everything = api.get("/Notes", fields="Modified_Time", per_page=200).json()["data"]
    cutoff = since(days=20)
    recent = api.get("/Notes", headers=header(cutoff), fields="Modified_Time", per_page=200).json()["data"]
    assert [n["id"] for n in recent] == [n["id"] for n in everything if moment(n["Modified_Time"]) > moment(cutoff)]
    assert 0 < len(recent) < len(everything)


def test_users(api):
    everyone = api.get("/users", type="AllUsers").json()["users"]
    cutoff = since(days=7)
    recent = api.get("/users", headers=header(cutoff), type="AllUsers").json()["users"]
    assert [u["id"] for u in recent] == [u["id"] for u in everyone if moment(u["Modified_Time"]) > moment(cutoff)]
    assert 0 < len(recent) < len(everyone)
    assert_not_modified(api.get("/users", headers=header(since()), type="AllUsers"))
    quiet = next(u for u in everyone if moment(u["Modified_Time"]) <= moment(cutoff))
    assert_not_modified(api.get(f"/users/{quiet['id']}", headers=header(cutoff)))
    assert api.get(f"/users/{recent[0]['id']}", headers=header(cutoff)).status_code == 200


def test_search_and_coql_do_not_take_it(api):
    """Zoho's v8 spec lists the header for Get Records, related records and users, not for these."""
    now = header(since())
    plain = api.get("/Deals/search", word="Oakland", fields="Deal_Name").json()
    assert api.get("/Deals/search", headers=now, word="Oakland", fields="Deal_Name").json() == plain
    query = {"select_query": "select Deal_Name from Deals where id is not null limit 5"}
    response = api.session.post(api.base + "/coql", json=query, timeout=10,
                                headers={"Authorization": f"Zoho-oauthtoken {api.access_token}", **now})
    assert response.status_code == 200 and len(response.json()["data"]) == 5


def test_the_header_is_checked_after_authentication_and_scope(zoho, api_for):
    api = api_for(zoho, ["ZohoCRM.modules.contacts.READ"])
    response = api.get("/Deals", headers=header("garbage"), fields=FIELDS)
    assert response.status_code == 401 and response.json()["code"] == "OAUTH_SCOPE_MISMATCH"


def test_a_touched_record_shows_up_as_changed(zoho, api):
    quiet = next(i for i in range(59, 0, -1) if zoho.org.deals.record(i)["Stage"].startswith("Closed"))
    deal_id = zoho.org.deals.id(quiet)
    cutoff = since(seconds=1)
    assert_not_modified(api.get("/Deals", headers=header(cutoff), fields=FIELDS))
    zoho.clock.advance(600)  # ten minutes later, on the stand-in clock, someone edits the deal
    touched = requests.post(zoho.base_url + "/_sandbox/touch", json={"module": "deals", "id": deal_id}, timeout=10)
    assert touched.status_code == 200
    body = touched.json()
    assert (body["module"], body["id"]) == ("Deals", deal_id)
    assert moment(body["Modified_Time"]) == int(zoho.clock.now())
    changed = api.get("/Deals", headers=header(cutoff), fields=FIELDS).json()["data"]
    assert [(r["id"], r["Modified_Time"]) for r in changed] == [(deal_id, body["Modified_Time"])]
    newest = api.get("/Deals", fields=FIELDS, sort_by="Modified_Time", per_page=1).json()["data"]
    assert newest[0]["id"] == deal_id
    record = api.get(f"/Deals/{deal_id}", headers=header(cutoff)).json()["data"][0]
    assert record["Modified_Time"] == record["Change_Log_Time__s"] == body["Modified_Time"]
    assert record["Stage"] == zoho.org.deals.record(quiet)["Stage"]  # nothing else moved


def test_touching_a_note_shows_in_its_related_list(zoho, api):
    note = zoho.org.notes.indices_of(zoho.org.deals, 1)[0]
    path = f"/Deals/{zoho.org.deals.id(1)}/Notes"
    cutoff = since(seconds=1)
    assert_not_modified(api.get(path, headers=header(cutoff), fields="Note_Title"))
    zoho.clock.advance(60)
    zoho.touch_record("Notes", zoho.org.notes.id(note))
    rows = api.get(path, headers=header(cutoff), fields="Note_Title").json()["data"]
    assert [r["id"] for r in rows] == [zoho.org.notes.id(note)]


@pytest.mark.parametrize("body, message", [
    ({"module": "Widgets", "id": "1"}, "unknown module 'Widgets'"),
    ({"module": "Deals", "id": "5725767000000000001"}, "no Deals record has the id"),
    ({"module": "Deals"}, "id is required"),
    ({"id": "1"}, "module is required"),
])
def test_touch_refuses_what_does_not_exist(zoho, body, message):
    response = requests.post(zoho.base_url + "/_sandbox/touch", json=body, timeout=10)
    assert response.status_code == 400 and message in response.json()["message"]

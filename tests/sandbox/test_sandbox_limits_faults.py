"""API credit budget, concurrency caps, and every injectable fault kind."""

import http.client
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests


def error_code(response, status):
    assert response.status_code == status, response.text
    return response.json()["code"]


# -- credits --------------------------------------------------------------------------------

def test_credits_header_from_half_the_budget_then_429_until_the_window_rolls(make_zoho, api_for, grant):
    zoho = make_zoho(daily_credits=10)
    api = api_for(zoho)
    headers = [api.get("/Deals", fields="Deal_Name").headers.get("X-API-CREDITS-REMAINING") for _ in range(10)]
    assert headers == [None, None, None, None, "5", "4", "3", "2", "1", "0"]
    refused = api.get("/Deals", fields="Deal_Name")
    assert error_code(refused, 429) == "TOO_MANY_REQUESTS" and refused.headers["X-API-CREDITS-REMAINING"] == "0"
    zoho.clock.advance(86399)
    api.access_token = grant(zoho)["access_token"]
    assert api.get("/Deals", fields="Deal_Name").status_code == 429  # still inside the rolling 24 h
    zoho.clock.advance(1)
    response = api.get("/Deals", fields="Deal_Name")
    assert response.status_code == 200 and "X-API-CREDITS-REMAINING" not in response.headers


def test_unauthenticated_calls_cost_nothing(make_zoho):
    zoho = make_zoho(daily_credits=2)
    for _ in range(5):
        requests.get(zoho.api_domain() + "/crm/v8/Deals", params={"fields": "Deal_Name"}, timeout=10)
    assert zoho.credits.used() == 0


# -- concurrency ----------------------------------------------------------------------------

def hold_slots(zoho, api, template, path, count, **params):
    """Start `count` calls that sleep inside the stand-in; return their threads once all are in."""
    zoho.inject_fault(template, "delay", count=count, delay=0.6)
    threads = [threading.Thread(target=api.get if path else api.coql, args=(path or params["query"],),
                                kwargs={} if not path else params) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while zoho.counters()["crm"].get(template, 0) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # let them take their slots
    return threads


def test_calls_beyond_the_concurrency_cap_get_429(make_zoho, api_for):
    zoho = make_zoho(concurrency=2)
    api = api_for(zoho)
    threads = hold_slots(zoho, api, "GET /crm/v8/Deals", "/Deals", 2, fields="Deal_Name")
    refused = api_for(zoho).get("/org")
    for thread in threads:
        thread.join()
    assert error_code(refused, 429) == "TOO_MANY_REQUESTS"
    assert api.get("/org").status_code == 200


def test_heavy_calls_have_their_own_cap(make_zoho, api_for):
    zoho = make_zoho(sub_concurrency=1)
    api = api_for(zoho)
    query = "select Deal_Name from Deals where id is not null"
    threads = hold_slots(zoho, api, "POST /crm/v8/coql", None, 1, query=query)
    second_coql = api_for(zoho).coql(query)
    sorted_list = api_for(zoho).get("/Deals", fields="Deal_Name", sort_by="Modified_Time")
    plain_list = api_for(zoho).get("/Deals", fields="Deal_Name")
    for thread in threads:
        thread.join()
    assert error_code(second_coql, 429) == "TOO_MANY_REQUESTS"
    assert error_code(sorted_list, 429) == "TOO_MANY_REQUESTS"
    assert plain_list.status_code == 200


# -- faults ---------------------------------------------------------------------------------

def test_status_500_on_crm_is_zoho_internal_error_for_count_calls(zoho, api):
    zoho.inject_fault("crm", "status_500", count=2)
    assert error_code(api.get("/Deals", fields="Deal_Name"), 500) == "INTERNAL_ERROR"
    assert error_code(api.get("/Contacts", fields="Email"), 500) == "INTERNAL_ERROR"
    assert api.get("/Deals", fields="Deal_Name").status_code == 200
    assert zoho.counters()["crm"]["GET /crm/v8/Deals"] == 2  # faulted calls are counted too


def test_status_429_on_crm_is_zoho_too_many_requests(zoho, api):
    zoho.inject_fault("GET /crm/v8/Deals", "status_429", count=1)
    assert error_code(api.get("/Deals", fields="Deal_Name"), 429) == "TOO_MANY_REQUESTS"
    assert api.get("/Deals", fields="Deal_Name").status_code == 200


@pytest.mark.parametrize("kind, status", [("status_429", 429), ("status_500", 500), ("status_502", 502),
                                          ("status_503", 503)])
def test_status_faults_on_the_token_endpoint_are_html(zoho, post_token, grant, kind, status):
    refresh_token = grant(zoho)["refresh_token"]
    zoho.inject_fault("token", kind, count=1)
    response = post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token)
    assert response.status_code == status and response.headers["Content-Type"].startswith("text/html")
    assert "access_token" in post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token).json()


def test_gateway_faults_on_crm_are_html(zoho, api):
    zoho.inject_fault("GET /crm/v8/Deals", "status_503", count=1)
    response = api.get("/Deals", fields="Deal_Name")
    assert response.status_code == 503 and response.headers["Content-Type"].startswith("text/html")


def test_a_template_target_only_hits_that_endpoint(zoho, api):
    zoho.inject_fault("GET /crm/v8/Deals/{id}", "status_500")
    assert api.get("/Deals", fields="Deal_Name").status_code == 200
    assert api.get(f"/Deals/{zoho.org.deals.id(0)}").status_code == 500
    assert api.get(f"/Deals/{zoho.org.deals.id(1)}").status_code == 500  # no count: until cleared
    zoho.clear_faults()
    assert api.get(f"/Deals/{zoho.org.deals.id(1)}").status_code == 200


def test_delay_fault_slows_the_call(zoho, api):
    zoho.inject_fault("crm", "delay", delay=0.3, count=1)
    started = time.monotonic()
    assert api.get("/Deals", fields="Deal_Name").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api.get("/Deals", fields="Deal_Name")
    assert time.monotonic() - started < 0.3


def test_reset_drops_the_connection_before_the_server_acts(zoho, post_token, grant):
    refresh_token = grant(zoho)["refresh_token"]
    zoho.inject_fault("token", "reset", count=1)
    with pytest.raises(requests.ConnectionError):
        post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token)
    assert zoho.live_tokens()[zoho.client["client_id"]]["access_tokens"] == 1  # nothing was minted
    entry = zoho.request_log()[-1]
    assert entry["fault"] == "reset" and entry["status"] is None


def test_truncated_sends_valid_headers_and_half_the_json(zoho, api):
    zoho.inject_fault("GET /crm/v8/Deals", "truncated", count=1)
    url = urlsplit(api.base + "/Deals?fields=Deal_Name")
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = {"Authorization": f"Zoho-oauthtoken {api.access_token}"}
    connection.request("GET", f"{url.path}?{url.query}", headers=headers)
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "application/json;charset=UTF-8"
    length = int(response.getheader("Content-Length"))
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    assert len(cut.value.partial) == length // 2 and cut.value.partial.startswith(b'{"data":[')
    connection.close()
    zoho.inject_fault("GET /crm/v8/Deals", "truncated", count=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        api.get("/Deals", fields="Deal_Name")


def test_access_denied_fault_is_the_token_throttle_body(zoho, post_token, grant):
    refresh_token = grant(zoho)["refresh_token"]
    zoho.inject_fault("token", "access_denied", count=1)
    body = post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token).json()
    assert body["error"] == "Access Denied" and "access_token" not in body
    assert zoho.counters()["token_errors"]["Access Denied"] == 1
    with pytest.raises(ValueError):
        zoho.inject_fault("crm", "access_denied")


def test_revoke_target(zoho, grant):
    refresh_token = grant(zoho)["refresh_token"]
    zoho.inject_fault("revoke", "status_500", count=1)
    url = zoho.accounts_url() + "/oauth/v2/token/revoke"
    assert requests.post(url, data={"token": refresh_token}, timeout=10).status_code == 500
    assert requests.post(url, data={"token": refresh_token}, timeout=10).json() == {"status": "success"}


def test_rate_faults_are_seeded(make_zoho, api_for):
    outcomes = []
    for _ in range(2):
        zoho = make_zoho(seed=7)
        api = api_for(zoho)
        zoho.inject_fault("crm", "status_500", rate=0.5)
        outcomes.append([api.get("/org").status_code for _ in range(40)])
    assert outcomes[0] == outcomes[1]
    assert 8 <= outcomes[0].count(500) <= 32 and set(outcomes[0]) == {200, 500}


@pytest.mark.parametrize("rate, status", [(0.0, 200), (1.0, 500)])
def test_rate_bounds(zoho, api, rate, status):
    zoho.inject_fault("crm", "status_500", rate=rate)
    assert {api.get("/org").status_code for _ in range(5)} == {status}


@pytest.mark.parametrize("kwargs", [
    {"target": "crm", "kind": "explode"},
    {"target": "everything", "kind": "status_500"},
    {"target": "crm", "kind": "delay"},
    {"target": "crm", "kind": "status_500", "rate": 1.5},
    {"target": "crm", "kind": "status_500", "count": 0},
])
def test_invalid_faults_are_refused(zoho, kwargs):
    with pytest.raises(ValueError):
        zoho.inject_fault(**kwargs)

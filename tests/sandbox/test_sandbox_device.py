"""The stand-in's device flow (reference §2.5): initiation, polling, the verification page, the
scripted browser, the control endpoints, and the limits of §4. Time moves on the stand-in clock."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from zoho_sandbox import SandboxError
from zoho_sandbox.config import KNOWN_DATA_CENTERS

JSON = "application/json;charset=UTF-8"
TOKEN_SHAPE = re.compile(r"^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$")
USER_CODE_SHAPE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
SCOPES = "ZohoCRM.modules.deals.READ,ZohoCRM.modules.contacts.READ,ZohoCRM.modules.notes.READ"
REPO = Path(__file__).resolve().parents[2]


def start(sandbox, dc=None, transport="params", **params):
    """POST /oauth/v3/device/code; parameters in the query string (Zoho's examples) or a form body."""
    query = {"client_id": sandbox.client["client_id"], "grant_type": "device_request", "scope": SCOPES,
             "access_type": "offline", **params}
    query = {k: v for k, v in query.items() if v is not None}
    return requests.post(sandbox.accounts_url(dc) + "/oauth/v3/device/code", **{transport: query}, timeout=10)


def flow(sandbox, dc=None, **params):
    body = start(sandbox, dc, **params).json()
    assert "device_code" in body, body
    return body


def poll(sandbox, device_code, dc=None, transport="data", **params):
    """POST /oauth/v3/device/token as a device would."""
    form = {"client_id": sandbox.client["client_id"], "client_secret": sandbox.client["client_secret"],
            "grant_type": "device_token", "code": device_code, **params}
    form = {k: v for k, v in form.items() if v is not None}
    return requests.post(sandbox.accounts_url(dc) + "/oauth/v3/device/token", **{transport: form}, timeout=10)


def answer(response, status=200):
    assert response.status_code == status and response.headers["Content-Type"] == JSON, response.text
    return response.json()


def crm_status(sandbox, body, dc=None):
    response = requests.get(sandbox.api_domain(dc) + "/crm/v8/Deals", params={"fields": "Deal_Name"}, timeout=10,
                            headers={"Authorization": "Zoho-oauthtoken " + body["access_token"]})
    return response.status_code


def approved_tokens(sandbox, dc=None, **params):
    """A whole flow at one DC: start, approve, wait the 30 s on the stand-in clock, poll."""
    body = flow(sandbox, dc, **params)
    sandbox.approve_device(body["user_code"])
    sandbox.clock.advance(30)
    return answer(poll(sandbox, body["device_code"], dc))


# -- initiation ---------------------------------------------------------------------------------

def test_initiation_answers_the_documented_fields(zoho):
    response = start(zoho)
    body = answer(response)
    assert set(body) == {"user_code", "device_code", "verification_url", "expires_in", "interval",
                         "verification_uri_complete"}
    assert USER_CODE_SHAPE.match(body["user_code"]) and TOKEN_SHAPE.match(body["device_code"])
    assert body["verification_url"] == zoho.accounts_url() + "/oauth/v3/device"
    assert body["verification_uri_complete"] == body["verification_url"] + "?user_code=" + body["user_code"]
    assert (body["expires_in"], body["interval"]) == (300, 5)  # seconds; interval as seen in the wild
    assert response.headers["Cache-Control"] == "no-store"
    assert zoho.counters()["device"]["code"] == 1
    assert [f["status"] for f in zoho.device_flows()] == ["pending"]


@pytest.mark.parametrize("transport", ["params", "data", "files"])
def test_initiation_takes_the_query_string_or_a_form_body(zoho, transport):
    if transport == "files":  # multipart/form-data
        query = {"client_id": zoho.client["client_id"], "grant_type": "device_request", "scope": SCOPES}
        response = requests.post(zoho.accounts_url() + "/oauth/v3/device/code", timeout=10,
                                 files={k: (None, v) for k, v in query.items()})
    else:
        response = start(zoho, transport=transport)
    assert "device_code" in answer(response)


def test_milliseconds_when_configured_still_five_minutes_of_stand_in_time(make_zoho):
    zoho = make_zoho(device_units="milliseconds")
    body = flow(zoho)
    assert (body["expires_in"], body["interval"]) == (300_000, 5000)
    zoho.clock.advance(299)
    zoho.approve_device(body["user_code"])
    late = flow(zoho)
    zoho.clock.advance(300)
    assert answer(poll(zoho, late["device_code"])) == {"error": "expired"}


def test_verification_uri_complete_can_be_left_out(make_zoho):
    body = flow(make_zoho(device_verification_uri_complete=False))
    assert "verification_uri_complete" not in body and body["verification_url"]


@pytest.mark.parametrize("params, error", [
    ({"client_id": "1000.UNKNOWN"}, "invalid_client"),
    ({"client_id": None}, "invalid_client"),
    ({"grant_type": None}, "unsupported_grant_type"),
    ({"grant_type": "device_token"}, "unsupported_grant_type"),
    ({"scope": None}, "invalid_scope"),
    ({"scope": "ZohoCRM.modules.deals.READ ZohoCRM.modules.notes.READ"}, "invalid_scope"),  # space-separated
])
def test_bad_initiations_are_refused_and_start_nothing(zoho, params, error):
    assert answer(start(zoho, **params)) == {"error": error}
    assert zoho.device_flows() == []
    assert zoho.counters()["device_errors"] == {error: 1}


def test_get_is_refused(zoho):
    response = requests.get(zoho.accounts_url() + "/oauth/v3/device/code", timeout=10,
                            params={"client_id": zoho.client["client_id"], "grant_type": "device_request",
                                    "scope": SCOPES})
    assert answer(response) == {"error": "invalid_request"}


def test_errors_can_be_http_400_as_in_rfc_8628(make_zoho):
    zoho = make_zoho(device_error_status=400)
    assert answer(start(zoho, client_id="1000.UNKNOWN"), 400) == {"error": "invalid_client"}
    body = flow(zoho)
    assert answer(poll(zoho, body["device_code"]), 400) == {"error": "authorization_pending"}
    zoho.approve_device(body["user_code"])
    zoho.clock.advance(30)
    assert "access_token" in answer(poll(zoho, body["device_code"]), 200)


def test_a_device_code_counts_toward_the_grant_code_window(zoho):
    for _ in range(5):
        zoho.self_client_code(["ZohoCRM.org.READ"])
    for _ in range(5):
        flow(zoho)
    assert answer(start(zoho)) == {"error": "access_denied"}  # the 11th grant of the client in 10 minutes
    assert len(zoho.device_flows()) == 5
    zoho.clock.advance(600)
    assert "device_code" in answer(start(zoho))


# -- polling ------------------------------------------------------------------------------------

def test_pending_then_tokens_once_approved(zoho):
    body = flow(zoho)
    assert answer(poll(zoho, body["device_code"])) == {"error": "authorization_pending"}
    zoho.clock.advance(30)
    zoho.approve_device(body["user_code"])
    tokens = answer(poll(zoho, body["device_code"]))
    assert set(tokens) == {"access_token", "refresh_token", "scope", "api_domain", "token_type", "expires_in"}
    assert TOKEN_SHAPE.match(tokens["access_token"]) and TOKEN_SHAPE.match(tokens["refresh_token"])
    assert (tokens["expires_in"], tokens["token_type"]) == (3600, "Bearer")  # seconds, like a code exchange
    assert tokens["api_domain"] == zoho.api_domain() and tokens["scope"] == SCOPES.replace(",", " ")
    assert crm_status(zoho, tokens) == 200
    refreshed = requests.post(zoho.accounts_url() + "/oauth/v2/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **{
            k: zoho.client[k] for k in ("client_id", "client_secret")}}).json()
    assert "access_token" in refreshed
    counters = zoho.counters()
    assert counters["device"] == {"code": 1, "token": 2, "page": 0, "approved": 1, "denied": 0, "issued": 1}
    assert counters["device_errors"] == {"authorization_pending": 1}


def test_a_device_code_gives_tokens_once(zoho):
    body = flow(zoho)
    zoho.approve_device(body["user_code"])
    assert "access_token" in answer(poll(zoho, body["device_code"]))
    zoho.clock.advance(30)
    assert answer(poll(zoho, body["device_code"])) == {"error": "invalid_code"}


def test_two_polls_within_thirty_seconds_of_stand_in_time_draw_slow_down(zoho):
    device_code = flow(zoho)["device_code"]
    assert answer(poll(zoho, device_code)) == {"error": "authorization_pending"}
    zoho.clock.advance(29.5)
    assert answer(poll(zoho, device_code)) == {"error": "slow_down"}
    zoho.clock.advance(29.5)  # 59 s after the first poll, but 29.5 s after the last one
    assert answer(poll(zoho, device_code)) == {"error": "slow_down"}
    zoho.clock.advance(30)
    assert answer(poll(zoho, device_code)) == {"error": "authorization_pending"}
    assert zoho.counters()["device_errors"] == {"authorization_pending": 2, "slow_down": 2}
    assert zoho.device_flows()[0]["polls"] == 4


def test_the_clock_control_paces_polls_from_another_process(zoho):
    device_code = flow(zoho)["device_code"]
    for _ in range(4):
        assert answer(poll(zoho, device_code)) == {"error": "authorization_pending"}
        requests.post(zoho.base_url + "/_sandbox/clock", json={"advance": 30}, timeout=10)
    assert "slow_down" not in zoho.counters()["device_errors"]


def test_without_offline_there_is_no_refresh_token(zoho):
    tokens = approved_tokens(zoho, access_type=None)
    assert "access_token" in tokens and "refresh_token" not in tokens
    assert crm_status(zoho, tokens) == 200


def test_a_refresh_token_on_the_first_consent_only_unless_prompt_consent(zoho):
    assert "refresh_token" in approved_tokens(zoho)
    assert "refresh_token" not in approved_tokens(zoho)  # the user already consented for this client
    assert "refresh_token" in approved_tokens(zoho, prompt="consent")


def test_denial_is_access_denied_for_good(zoho):
    body = flow(zoho)
    zoho.deny_device(body["user_code"])
    assert answer(poll(zoho, body["device_code"])) == {"error": "access_denied"}
    zoho.clock.advance(30)
    assert answer(poll(zoho, body["device_code"])) == {"error": "access_denied"}
    assert zoho.counters()["device"]["denied"] == 1


def test_the_code_expires_after_five_minutes_of_stand_in_time(zoho):
    waiting, approved_late = flow(zoho), flow(zoho)
    zoho.clock.advance(299)
    assert answer(poll(zoho, waiting["device_code"])) == {"error": "authorization_pending"}
    zoho.approve_device(approved_late["user_code"])
    zoho.clock.advance(1)
    assert answer(poll(zoho, waiting["device_code"])) == {"error": "expired"}
    assert answer(poll(zoho, approved_late["device_code"])) == {"error": "expired"}  # not collected in time
    with pytest.raises(SandboxError, match="expired"):
        zoho.approve_device(waiting["user_code"])
    assert zoho.counters()["device_errors"] == {"authorization_pending": 1, "expired": 2}


def test_other_dc_sends_the_device_to_the_users_data_center(make_zoho):
    zoho = make_zoho(data_centers=("us", "eu", "in"), user_dc="eu")
    body = flow(zoho, "us")
    assert answer(poll(zoho, body["device_code"], "eu")) == {"error": "invalid_client"}  # not approved yet
    zoho.approve_device(body["user_code"])
    assert answer(poll(zoho, body["device_code"], "us")) == {"error": "other_dc", "user_location": "eu"}
    zoho.clock.advance(30)
    assert answer(poll(zoho, body["device_code"], "in")) == {"error": "invalid_client"}
    tokens = answer(poll(zoho, body["device_code"], "eu"))
    assert tokens["api_domain"] == zoho.api_domain("eu") and "refresh_token" in tokens
    assert crm_status(zoho, tokens, "eu") == 200 and crm_status(zoho, tokens, "us") == 401
    assert zoho.device_flows()[0]["user_dc"] == "eu"
    assert zoho.counters()["device_errors"]["other_dc"] == 1


def test_every_data_center_plays_the_flow(make_zoho):
    zoho = make_zoho(data_centers=KNOWN_DATA_CENTERS, user_dc="us")
    for dc in KNOWN_DATA_CENTERS:
        body = flow(zoho, dc)
        assert body["verification_url"] == zoho.accounts_url(dc) + "/oauth/v3/device"
        zoho.approve_device(body["user_code"])
        if dc != "us":
            assert answer(poll(zoho, body["device_code"], dc)) == {"error": "other_dc", "user_location": "us"}
            zoho.clock.advance(30)
        assert answer(poll(zoho, body["device_code"], "us"))["api_domain"] == zoho.api_domain("us")
        zoho.clock.advance(60)  # stay within 10 grant codes per 10 minutes


@pytest.mark.parametrize("dc", KNOWN_DATA_CENTERS)
def test_each_data_center_alone_gives_its_own_tokens(make_zoho, dc):
    zoho = make_zoho(data_centers=(dc,))
    tokens = approved_tokens(zoho, dc)
    assert tokens["api_domain"] == zoho.api_domain(dc) and crm_status(zoho, tokens, dc) == 200


@pytest.mark.parametrize("overrides, error", [
    ({"client_id": "1000.UNKNOWN"}, "invalid_client"),
    ({"client_secret": "wrong"}, "invalid_client_secret"),
    ({"client_secret": None}, "invalid_client_secret"),
    ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ({"code": "1000.abc.def"}, "invalid_code"),
    ({"code": None}, "invalid_code"),
])
def test_bad_polls_are_refused_like_code_exchanges(zoho, overrides, error):
    body = flow(zoho)
    zoho.approve_device(body["user_code"])
    assert answer(poll(zoho, body["device_code"], **overrides)) == {"error": error}
    assert zoho.device_flows()[0]["polls"] == 0  # a refused request is not a poll of that device code
    assert "access_token" in answer(poll(zoho, body["device_code"]))


def test_polls_take_the_query_string_or_http_basic(zoho):
    body = flow(zoho)
    zoho.approve_device(body["user_code"])
    assert "access_token" in answer(poll(zoho, body["device_code"], transport="params"))
    other = flow(zoho)
    zoho.approve_device(other["user_code"])
    response = requests.post(zoho.accounts_url() + "/oauth/v3/device/token", timeout=10,
                             auth=(zoho.client["client_id"], zoho.client["client_secret"]),
                             data={"grant_type": "device_token", "code": other["device_code"]})
    assert "access_token" in answer(response)


def test_a_poll_by_get_is_refused(zoho):
    body = flow(zoho)
    response = requests.get(zoho.accounts_url() + "/oauth/v3/device/token", timeout=10, params={
        "client_id": zoho.client["client_id"], "client_secret": zoho.client["client_secret"],
        "grant_type": "device_token", "code": body["device_code"]})
    assert answer(response) == {"error": "invalid_request"}


def test_device_refresh_tokens_count_toward_twenty_per_user_and_evict_the_oldest(zoho, grant):
    first = grant(zoho)  # a refresh token from a Self Client code
    for number in range(19):
        if number % 9 == 8:
            zoho.clock.advance(600)  # stay under the grant-code limit
        grant(zoho)
    zoho.clock.advance(600)
    tokens = approved_tokens(zoho, prompt="consent")  # the 21st refresh token for this user and client
    assert "refresh_token" in tokens
    evicted = requests.post(zoho.accounts_url() + "/oauth/v2/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        **{k: zoho.client[k] for k in ("client_id", "client_secret")}}).json()
    assert evicted == {"error": "invalid_code"}
    assert crm_status(zoho, first) == 401
    assert zoho.live_tokens()[zoho.client["client_id"]]["refresh_tokens"] == 20


# -- the verification page and the scripted browser -----------------------------------------

def test_a_person_types_the_code_on_the_verification_page(zoho):
    body = flow(zoho)
    entry = requests.get(body["verification_url"], timeout=10)
    assert entry.status_code == 200 and entry.headers["Content-Type"].startswith("text/html")
    assert 'name="user_code"' in entry.text
    consent = requests.post(body["verification_url"], data={"user_code": body["user_code"]}, timeout=10)
    assert consent.status_code == 200
    assert "Minnie CRM Integration" in consent.text and body["user_code"] in consent.text
    assert all(scope in consent.text for scope in SCOPES.split(","))
    assert 'value="approve"' in consent.text and 'value="deny"' in consent.text
    done = requests.post(body["verification_url"] + "/consent", timeout=10,
                         data={"user_code": body["user_code"], "action": "approve"})
    assert done.status_code == 200 and "<h1>Access Granted</h1>" in done.text
    assert zoho.device_flows()[0]["status"] == "approved"
    assert zoho.counters()["device"]["page"] == 2


def test_the_scripted_browser_approves_a_typed_code_in_any_case(zoho):
    body = flow(zoho)
    typed = body["user_code"].lower().replace("-", " ")
    assert zoho.enter_user_code(body["verification_url"], typed) == "approved"
    zoho.clock.advance(30)
    assert "access_token" in answer(poll(zoho, body["device_code"]))


def test_the_scripted_browser_opens_verification_uri_complete_and_denies(zoho):
    body = flow(zoho)
    assert zoho.enter_user_code(body["verification_uri_complete"], approve=False) == "denied"
    assert answer(poll(zoho, body["device_code"])) == {"error": "access_denied"}


@pytest.mark.parametrize("situation, title", [
    ("unknown", "Invalid Code"), ("expired", "Code Expired"), ("used", "Code Already Used")])
def test_the_page_refuses_codes_it_cannot_take(zoho, situation, title):
    body = flow(zoho)
    code = body["user_code"]
    if situation == "unknown":
        code = "BBBB-BBBB" if code != "BBBB-BBBB" else "CCCC-CCCC"
    elif situation == "expired":
        zoho.clock.advance(300)
    else:
        zoho.approve_device(code)
    page = requests.get(body["verification_url"], params={"user_code": code}, timeout=10)
    assert page.status_code == 400 and f"<h1>{title}</h1>" in page.text
    consent = requests.post(body["verification_url"] + "/consent", data={"user_code": code, "action": "approve"},
                            timeout=10)
    assert consent.status_code == 400 and f"<h1>{title}</h1>" in consent.text
    with pytest.raises(SandboxError, match=f"verification page answered 400: {title}"):
        zoho.enter_user_code(body["verification_url"], code)
    assert zoho.device_flows()[0]["status"] == ("approved" if situation == "used" else "pending")


def browser_cli(*args):
    return subprocess.run([sys.executable, "-m", "zoho_sandbox.browser", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=30)


def test_the_scripted_browser_from_the_command_line(zoho):
    body = flow(zoho)
    approved = browser_cli("--device", body["verification_url"], "--user-code", body["user_code"])
    assert (approved.returncode, approved.stdout) == (0, "approved\n")
    other = flow(zoho)
    denied = browser_cli("--device", other["verification_uri_complete"], "--deny")
    assert (denied.returncode, denied.stdout) == (0, "denied\n")
    again = browser_cli("--device", body["verification_url"], "--user-code", body["user_code"])
    assert again.returncode == 1 and "verification page answered 400: Code Already Used" in again.stderr
    misuse = browser_cli(body["verification_url"], "--user-code", body["user_code"])
    assert misuse.returncode == 2 and "--user-code needs --device" in misuse.stderr
    assert [f["status"] for f in zoho.device_flows()] == ["approved", "denied"]


# -- control endpoints and secrets ------------------------------------------------------------

def control(sandbox, method, path, **kwargs):
    return requests.request(method, sandbox.base_url + "/_sandbox" + path, timeout=10, **kwargs)


def test_control_endpoints_list_approve_and_deny_without_html(zoho):
    first, second = flow(zoho), flow(zoho)
    listed = control(zoho, "GET", "/device")
    assert listed.status_code == 200
    assert [f["user_code"] for f in listed.json()] == [first["user_code"], second["user_code"]]
    assert set(listed.json()[0]) == {"user_code", "status", "client_id", "dc", "user_dc", "scopes", "offline",
                                     "expires_at", "polls", "last_poll"}
    assert first["device_code"] not in listed.text and second["device_code"] not in listed.text
    approved = control(zoho, "POST", "/device/approve", json={"user_code": first["user_code"]})
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["user_dc"]) == ("approved", "us")
    denied = control(zoho, "POST", "/device/deny", data={"user_code": second["user_code"]})
    assert denied.json()["status"] == "denied"
    twice = control(zoho, "POST", "/device/approve", json={"user_code": first["user_code"]})
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"
    assert "already approved" in twice.json()["message"]
    assert control(zoho, "POST", "/device/approve", json={}).json()["message"] == "user_code is required"
    assert "no device flow" in control(zoho, "POST", "/device/deny", json={"user_code": "XXXX"}).json()["message"]
    assert "access_token" in answer(poll(zoho, first["device_code"]))


def test_device_codes_are_secrets_never_logged(tmp_path, make_zoho):
    log_file = tmp_path / "requests.jsonl"
    zoho = make_zoho(log_file=str(log_file))
    body = flow(zoho)
    poll(zoho, body["device_code"])
    zoho.clock.advance(30)
    poll(zoho, body["device_code"], transport="params")  # in the query string too
    requests.post(zoho.accounts_url() + "/oauth/v3/device/token", timeout=10,  # under a name a client might use
                  data={"device_code": body["device_code"], "grant_type": "device_token"})
    zoho.enter_user_code(body["verification_url"], body["user_code"])
    zoho.clock.advance(30)
    tokens = answer(poll(zoho, body["device_code"]))
    secrets = zoho.secret_values()
    assert {body["device_code"], tokens["access_token"], tokens["refresh_token"]} <= secrets
    for text in (json.dumps(zoho.request_log()), log_file.read_text(), control(zoho, "GET", "/requests").text):
        assert not [s for s in secrets if s in text]
    device_polls = [e for e in zoho.request_log() if e["path"] == "/oauth/v3/device/token"]
    assert len(device_polls) == 4 and all(e["params"].get("code", "[REDACTED]") == "[REDACTED]" for e in device_polls)
    assert device_polls[2]["params"]["device_code"] == "[REDACTED]"
    assert any(e["params"].get("user_code") == body["user_code"] for e in zoho.request_log())  # shown, not secret


def test_faults_reach_the_device_endpoints(zoho):
    body = flow(zoho)
    zoho.inject_fault("device", "status_503", count=1)
    outage = poll(zoho, body["device_code"])
    assert outage.status_code == 503 and outage.headers["Content-Type"].startswith("text/html")
    assert answer(poll(zoho, body["device_code"])) == {"error": "authorization_pending"}  # the 503 was no poll
    zoho.inject_fault("POST /oauth/v3/device/code", "reset", count=1)
    with pytest.raises(requests.ConnectionError):
        start(zoho)
    assert len(zoho.device_flows()) == 1
    assert zoho.counters()["device"]["code"] == 2  # it arrived, as Zoho's side would have seen


def test_the_device_options_are_checked(make_zoho):
    for options, name in (({"device_units": "minutes"}, "device_units"), ({"device_error_status": 401},
                          "device_error_status"), ({"device_poll_interval": 0}, "device_poll_interval")):
        with pytest.raises(ValueError, match=name):
            make_zoho(**options)

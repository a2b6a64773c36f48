"""Control endpoints, the command line, and the redacted request log."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def control(sandbox, method, path, **kwargs):
    return requests.request(method, sandbox.base_url + "/_sandbox" + path, timeout=10, **kwargs)


def test_client_endpoint_describes_every_dc(make_zoho):
    zoho = make_zoho(data_centers=("us", "eu"), user_dc="eu")
    body = control(zoho, "GET", "/client").json()
    assert {k: body[k] for k in ("client_id", "client_secret", "redirect_uri")} == zoho.client
    assert body["accounts_url"] == zoho.accounts_url("eu") and body["api_domain"] == zoho.api_domain("eu")
    assert body["data_centers"] == {dc: {"accounts_url": zoho.accounts_url(dc), "api_domain": zoho.api_domain(dc)}
                                    for dc in ("us", "eu")}


def test_self_client_code_over_http_exchanges(zoho, post_token):
    scope = "ZohoCRM.modules.deals.READ,ZohoCRM.org.READ"
    code = control(zoho, "POST", "/self-client-code", data={"scope": scope}).json()["code"]
    body = post_token(zoho, grant_type="authorization_code", code=code).json()
    assert body["scope"] == "ZohoCRM.modules.deals.READ ZohoCRM.org.READ"


def test_self_client_code_errors_over_http(zoho):
    assert control(zoho, "POST", "/self-client-code", data={"scope": ""}).status_code == 400
    assert control(zoho, "POST", "/self-client-code", data={"scope": "ZohoCRM.org.READ", "dc": "eu"}).status_code == 400
    for _ in range(10):
        control(zoho, "POST", "/self-client-code", data={"scope": "ZohoCRM.org.READ"})
    refused = control(zoho, "POST", "/self-client-code", data={"scope": "ZohoCRM.org.READ"})
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"


def test_clock_endpoint_expires_codes(zoho, post_token):
    code = zoho.self_client_code(["ZohoCRM.org.READ"])
    before = control(zoho, "GET", "/clock").json()["now"]
    after = control(zoho, "POST", "/clock", json={"advance": 181}).json()["now"]
    assert after - before >= 181
    assert post_token(zoho, grant_type="authorization_code", code=code).json() == {"error": "invalid_code"}
    assert control(zoho, "POST", "/clock", json={"advance": -5}).status_code == 400


def test_faults_endpoint(zoho, api):
    added = control(zoho, "POST", "/faults", json={"target": "GET /crm/v8/Deals", "kind": "status_500", "count": 1})
    assert added.json()["fault"]["kind"] == "status_500"
    assert control(zoho, "GET", "/faults").json()[0]["target"] == "GET /crm/v8/Deals"
    assert api.get("/Deals", fields="Deal_Name").status_code == 500
    control(zoho, "POST", "/faults", data={"target": "crm", "kind": "status_503"})
    assert control(zoho, "DELETE", "/faults").status_code == 200
    assert api.get("/Deals", fields="Deal_Name").status_code == 200
    assert control(zoho, "POST", "/faults", json={"target": "crm", "kind": "nope"}).status_code == 400


def test_counters_tokens_and_revoke_all_endpoints(zoho, api):
    api.get("/Deals", fields="Deal_Name")
    api.get(f"/Deals/{zoho.org.deals.id(3)}")
    counters = control(zoho, "GET", "/counters").json()
    device = {"code": 0, "token": 0, "page": 0, "approved": 0, "denied": 0, "issued": 0}
    assert counters == {"token": {"authorization_code": 1, "refresh_token": 0}, "token_errors": {}, "revoke": 0,
                        "auth": 0, "device": device, "device_errors": {},
                        "crm": {"GET /crm/v8/Deals": 1, "GET /crm/v8/Deals/{id}": 1}}
    client_id = zoho.client["client_id"]
    assert control(zoho, "GET", "/tokens").json() == {client_id: {"refresh_tokens": 1, "access_tokens": 1}}
    control(zoho, "POST", "/revoke-all")
    assert control(zoho, "GET", "/tokens").json() == {client_id: {"refresh_tokens": 0, "access_tokens": 0}}
    assert api.get("/Deals", fields="Deal_Name").status_code == 401


def test_unknown_control_path_is_404(zoho):
    assert control(zoho, "GET", "/nothing").status_code == 404


def test_request_log_never_holds_a_secret(zoho, grant, post_token, api_for):
    body = grant(zoho)
    post_token(zoho, grant_type="refresh_token", refresh_token=body["refresh_token"])
    basic = (zoho.client["client_id"], zoho.client["client_secret"])
    requests.post(zoho.accounts_url() + "/oauth/v2/token", auth=basic, timeout=10,
                  params={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    api_for(zoho).get("/Deals", fields="Deal_Name")
    requests.post(zoho.accounts_url() + "/oauth/v2/token/revoke", data={"token": body["access_token"]}, timeout=10)
    log = zoho.request_log()
    over_http = control(zoho, "GET", "/requests").json()
    assert over_http == log
    text = json.dumps(log)
    secrets = zoho.secret_values()
    assert body["refresh_token"] in secrets and zoho.client["client_secret"] in secrets
    assert not [s for s in secrets if s in text]
    assert [e["path"] for e in log][:2] == ["/oauth/v2/token", "/oauth/v2/token"]
    assert log[0]["params"]["code"] == "[REDACTED]" and log[0]["params"]["client_secret"] == "[REDACTED]"
    assert log[0]["params"]["grant_type"] == "authorization_code" and log[0]["dc"] == "us"
    assert log[2]["authorization"] == "Basic [REDACTED]"
    assert any(e.get("authorization") == "Zoho-oauthtoken [REDACTED]" and e["status"] == 200 for e in log)


def run_cli(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "zoho_sandbox", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_its_url_first_and_stops_cleanly(tmp_path, signum):
    ready, log_file = tmp_path / "ready", tmp_path / "requests.jsonl"
    process = run_cli("--port", "0", "--data-centers", "us,eu", "--deals", "100000", "--non-admin",
                      "--ready-file", str(ready), "--log-file", str(log_file))
    try:
        first = process.stdout.readline().strip()
        assert first.startswith("Zoho sandbox listening on http://127.0.0.1:")
        base = first.rsplit(" ", 1)[1]
        assert ready.read_text().strip() == base
        client = requests.get(base + "/_sandbox/client", timeout=10).json()
        code = requests.post(base + "/_sandbox/self-client-code", timeout=10,
                             data={"scope": "ZohoCRM.modules.ALL", "dc": "eu"}).json()["code"]
        token = requests.post(client["data_centers"]["eu"]["accounts_url"] + "/oauth/v2/token", timeout=10,
                              data={"grant_type": "authorization_code", "code": code, "client_id": client["client_id"],
                                    "client_secret": client["client_secret"]}).json()
        headers = {"Authorization": "Zoho-oauthtoken " + token["access_token"]}
        api = token["api_domain"] + "/crm/v8"
        deals = requests.get(api + "/Deals", params={"fields": "Deal_Name", "ids": "5725767000399300026"},
                             headers=headers, timeout=10).json()
        assert deals["data"][0]["id"] == "5725767000399300026"  # deal index 99,999 exists
        notes = requests.get(api + "/Notes", params={"fields": "Note_Title"}, headers=headers, timeout=10)
        assert notes.status_code == 403
    finally:
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [e["status"] for e in entries] == [200, 200, 403]
    assert client["client_secret"] not in log_file.read_text()


def test_cli_rejects_bad_options():
    process = run_cli("--data-centers", "us,mars")
    assert process.wait(timeout=10) == 2 and "unknown data center" in process.stderr.read()
    process.stdout.close()
    process.stderr.close()


def test_cli_sets_any_other_option(tmp_path):
    ready = tmp_path / "ready"
    process = run_cli("--set", "device_units=milliseconds", "--set", "device_verification_uri_complete=false",
                      "--ready-file", str(ready))
    try:
        base = process.stdout.readline().strip().rsplit(" ", 1)[1]
        client = requests.get(base + "/_sandbox/client", timeout=10).json()
        body = requests.post(client["accounts_url"] + "/oauth/v3/device/code", timeout=10, params={
            "client_id": client["client_id"], "grant_type": "device_request", "scope": "ZohoCRM.org.READ"}).json()
        assert (body["expires_in"], body["interval"]) == (300_000, 5000) and "verification_uri_complete" not in body
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


def test_cli_access_token_lifetime_sets_expires_in(tmp_path):
    ready = tmp_path / "ready"
    process = run_cli("--port", "0", "--access-token-lifetime", "900", "--ready-file", str(ready))
    try:
        base = process.stdout.readline().strip().rsplit(" ", 1)[1]
        client = requests.get(base + "/_sandbox/client", timeout=10).json()
        code = requests.post(base + "/_sandbox/self-client-code", timeout=10,
                             data={"scope": "ZohoCRM.modules.deals.READ"}).json()["code"]
        token = requests.post(client["accounts_url"] + "/oauth/v2/token", timeout=10,
                              data={"grant_type": "authorization_code", "code": code, "client_id": client["client_id"],
                                    "client_secret": client["client_secret"]}).json()
        assert token["expires_in"] == 900
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize("option, message", [
    ("nope=1", "expected NAME=VALUE with NAME one of"),
    ("device_units", "expected NAME=VALUE"),
    ("deals=5", "use --deals for deals"),
    ("device_poll_interval=soon", "device_poll_interval is a number"),
    ("device_verification_uri_complete=maybe", "is true or false"),
    ("device_units=minutes", "device_units must be 'seconds' or 'milliseconds'"),
])
def test_cli_rejects_bad_set_options(option, message):
    process = run_cli("--set", option)
    assert process.wait(timeout=10) == 2 and message in process.stderr.read()
    process.stdout.close()
    process.stderr.close()


def test_cli_rejects_a_lifetime_that_is_not_positive():
    process = run_cli("--access-token-lifetime", "0")
    assert process.wait(timeout=10) == 2 and "access_token_lifetime must be positive" in process.stderr.read()
    process.stdout.close()
    process.stderr.close()

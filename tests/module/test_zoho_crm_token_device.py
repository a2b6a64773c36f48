"""The zoho_crm_token module's device flow (flow=device), in-process against the Zoho stand-in.

Time: this process's time.time() and time.sleep() are replaced by a clock the test moves (the
stand-in, in this process too, reads the same time.time()): a wait of 30 s between polls passes at
once, and the stand-in, which answers slow_down to two polls of one device code less than 30 s
apart on its clock, counts them honestly. Hooks run at each wait, as a person acting meanwhile.
"""

import json
import os
import stat
import time

import pytest

import zoho_crm_oauth as oauth
from module_harness import ModuleRunner, write_client_file

REAL_TIME, REAL_SLEEP = time.time, time.sleep


class MovedClock:
    """time.time() plus an offset; time.sleep() of a second or more moves the offset instead of
    waiting (shorter sleeps, the lock's retries, stay real) and then calls the hooks."""

    def __init__(self):
        self.offset = 0.0
        self.waits = []
        self.hooks = []

    def time(self):
        return REAL_TIME() + self.offset

    def sleep(self, seconds):
        if seconds < 1:
            REAL_SLEEP(seconds)
            return
        self.waits.append(seconds)
        self.offset += seconds
        for hook in list(self.hooks):
            hook(len(self.waits))

    def at_wait(self, number, action):
        """Run action() once, at the number-th wait."""
        def hook(count):
            if count == number:
                action()
        self.hooks.append(hook)


@pytest.fixture
def clock(monkeypatch):
    moved = MovedClock()
    monkeypatch.setattr(time, "time", moved.time)
    monkeypatch.setattr(time, "sleep", moved.sleep)
    return moved


def pending_path(run):
    return run.token_path.parent / oauth.DEVICE_FLOW_FILENAME


def device_polls(zoho):
    """(stand-in time, dc) of every poll the stand-in logged."""
    return [(entry["time"], entry["dc"]) for entry in zoho.request_log() if entry["path"] == oauth.DEVICE_TOKEN_PATH]


def assert_polls_30_s_apart(zoho):
    times = [when for when, _dc in device_polls(zoho)]
    assert times and all(later - earlier >= oauth.DEVICE_POLL_GAP for earlier, later in zip(times, times[1:])), times
    assert zoho.counters()["device_errors"].get("slow_down", 0) == 0


def assert_no_secret(run, zoho):
    text = "\n".join(run.outputs)
    secrets = {secret for secret in zoho.secret_values() if secret}
    assert any(secret.startswith("1000.") for secret in secrets)
    leaked = [secret[:10] for secret in secrets if secret in text]
    assert not leaked, leaked


# ---- starting ----------------------------------------------------------------------------------

def test_the_first_call_starts_a_flow_and_returns_what_a_person_needs(run, zoho, clock):
    result = run(flow="device")
    assert result["changed"] and result["authorization_required"] and not result.get("failed")
    flow = result["device_flow"]
    assert set(flow) == {"user_code", "verification_url", "verification_uri_complete", "expires_at", "expires_in",
                         "accounts_server", "scopes", "polls"}
    assert flow["verification_url"] == zoho.accounts_url() + "/oauth/v3/device"
    assert flow["verification_uri_complete"] == flow["verification_url"] + "?user_code=" + flow["user_code"]
    assert 290 <= flow["expires_in"] <= 300 and flow["scopes"] == list(oauth.DEFAULT_SCOPES)
    assert flow["user_code"] in result["msg"] and "wait=true" in result["msg"]
    assert zoho.device_flows()[0]["offline"]  # access_type=offline: a refresh token will come
    # The device code stays in the pending file, 0600, owned like the token file would be.
    pending = pending_path(run)
    assert stat.S_IMODE(os.stat(pending).st_mode) == 0o600
    device_code = json.loads(pending.read_text())["device_code"]
    assert device_code.startswith("1000.") and device_code not in json.dumps(result)
    assert run.token_bytes() is None
    assert_no_secret(run, zoho)


def test_a_rerun_shows_the_same_code_and_spends_no_grant_code(run, zoho, clock):
    first = run(flow="device")["device_flow"]
    clock.offset += 60
    again = run(flow="device")
    assert not again["changed"] and again["device_flow"]["user_code"] == first["user_code"]
    assert again["device_flow"]["expires_in"] <= first["expires_in"] - 60
    assert zoho.counters()["device"]["code"] == 1


def test_a_flow_about_to_expire_or_for_other_scopes_is_replaced(run, zoho, clock):
    first = run(flow="device")["device_flow"]["user_code"]
    other = run(flow="device", scopes=["ZohoCRM.modules.deals.READ"])["device_flow"]
    assert other["user_code"] != first and other["scopes"] == ["ZohoCRM.modules.deals.READ"]
    clock.offset += 300 - oauth.DEVICE_POLL_GAP  # no time left for one more poll
    last = run(flow="device", scopes=["ZohoCRM.modules.deals.READ"])
    assert last["changed"] and last["device_flow"]["user_code"] != other["user_code"]
    assert zoho.counters()["device"]["code"] == 3


def test_a_damaged_pending_file_is_replaced_by_a_new_flow(run, zoho, clock):
    run.token_path.parent.joinpath(oauth.DEVICE_FLOW_FILENAME).write_text('{"user_code": 1}')
    result = run(flow="device")
    assert result["changed"] and json.loads(pending_path(run).read_text())["user_code"] == result["device_flow"]["user_code"]


def test_the_grant_code_limit_is_one_line_to_wait_for(run, zoho, clock):
    for _ in range(10):
        zoho.self_client_code(list(oauth.DEFAULT_SCOPES))
    result = run(flow="device")
    assert result["failed"] and result["error_code"] == "access_denied" and result["retry"] == "later"
    assert "10 codes" in result["msg"] and "Fix: wait 10 minutes" in result["msg"] and "\n" not in result["msg"]
    assert not pending_path(run).exists()


def test_scopes_zoho_rejects_fail_with_the_fix(run, zoho, clock):
    result = run(flow="device", scopes=["deals"])
    assert result["failed"] and result["error_code"] == "invalid_scope" and "Fix:" in result["msg"]


def test_an_unknown_client_names_the_client_type_the_device_flow_needs(run, zoho, clock):
    run.client_file.write_text(run.client_file.read_text().replace(zoho.client["client_id"], "1000.UNKNOWN"))
    result = run(flow="device")
    assert result["failed"] and result["error_code"] == "invalid_client"
    assert "Non-browser Mobile Applications" in result["msg"]


# ---- waiting -----------------------------------------------------------------------------------

def test_waiting_stores_the_tokens_once_approved_and_polls_30_s_apart(run, zoho, clock):
    user_code = run(flow="device")["device_flow"]["user_code"]
    clock.at_wait(3, lambda: zoho.approve_device(user_code))
    result = run(flow="device", wait=True)
    assert result["changed"] and result["exchanged"] and not result["authorization_required"]
    assert result["api_domain"] == zoho.api_domain() and result["scopes"] == list(oauth.DEFAULT_SCOPES)
    assert run.mode() == 0o600 and not pending_path(run).exists()
    # First poll after Zoho's interval (5 s), then 30 s apart whatever interval says; one answer with tokens.
    assert clock.waits[0] == pytest.approx(5, abs=1) and all(w == pytest.approx(30, abs=1) for w in clock.waits[1:])
    assert zoho.counters()["device_errors"] == {"authorization_pending": 2}  # approved during the third wait
    assert zoho.counters()["device"]["issued"] == 1
    assert_polls_30_s_apart(zoho)
    tokens = run.tokens()
    assert tokens["accounts_server"] == zoho.accounts_url() and tokens["refresh_token"]
    # A provisioned host never starts another flow.
    again = run(flow="device")
    assert not again["changed"] and "device_flow" not in again and zoho.counters()["device"]["code"] == 1
    assert_no_secret(run, zoho)


def test_the_token_file_is_the_one_a_code_exchange_writes(make_zoho, tmp_path, capsys, clock):
    zoho = make_zoho()
    by_code, by_device = (ModuleRunner(zoho, make_dir(tmp_path / name), capsys) for name in ("code", "device"))
    by_code(code=by_code.code())
    user_code = by_device(flow="device")["device_flow"]["user_code"]
    clock.at_wait(1, lambda: zoho.approve_device(user_code))
    by_device(flow="device", wait=True)
    code_file, device_file = by_code.tokens(), by_device.tokens()
    assert sorted(code_file) == sorted(device_file)
    for key in ("api_domain", "token_type", "scope", "accounts_server", "data_center", "client_id", "expires_in"):
        assert device_file[key] == code_file[key], key
    assert list(code_file) == list(device_file)  # the guide's fields first, in the same order


def make_dir(path):
    path.mkdir(mode=0o700)
    return path


@pytest.mark.parametrize("options", [{"device_units": "milliseconds"}, {"device_error_status": 400},
                                     {"device_interval": 60}, {"device_verification_uri_complete": False}])
def test_zohos_unconfirmed_variants_are_understood(make_zoho, credentials, capsys, clock, options):
    """Units of expires_in and interval (seconds or milliseconds: 5000 is 5 s, never 83 minutes), the
    errors' HTTP status, an interval above 30 s, and no verification_uri_complete."""
    zoho = make_zoho(**options)
    run = ModuleRunner(zoho, credentials, capsys)
    flow = run(flow="device")["device_flow"]
    assert 290 <= flow["expires_in"] <= 300
    assert flow["verification_uri_complete"] is None or "user_code=" in flow["verification_uri_complete"]
    clock.at_wait(2, lambda: zoho.approve_device(flow["user_code"]))
    result = run(flow="device", wait=True)
    assert result["exchanged"], result
    gap = max(oauth.DEVICE_POLL_GAP, options.get("device_interval", 0))
    assert clock.waits[0] == pytest.approx(options.get("device_interval", 5), abs=1)
    assert all(wait == pytest.approx(gap, abs=1) for wait in clock.waits[1:])
    assert_polls_30_s_apart(zoho)


def test_a_denial_ends_the_wait_with_one_line_and_the_flow(run, zoho, clock):
    user_code = run(flow="device")["device_flow"]["user_code"]
    clock.at_wait(2, lambda: zoho.deny_device(user_code))
    result = run(flow="device", wait=True)
    assert result["failed"] and result["error_code"] == "access_denied" and result["retry"] == "never"
    assert "rejected on Zoho's consent page" in result["msg"] and "Fix: run again" in result["msg"]
    assert "\n" not in result["msg"]
    assert not pending_path(run).exists() and run.token_bytes() is None
    assert run(flow="device")["device_flow"]["user_code"] != user_code  # the next run starts afresh


def test_zohos_expired_answer_ends_the_wait(run, zoho, clock):
    """The stand-in's clock alone moves past the code's 5 minutes, so Zoho says expired first."""
    run(flow="device")
    clock.at_wait(1, lambda: zoho.clock.advance(301))
    result = run(flow="device", wait=True)
    assert result["failed"] and result["error_code"] == "expired"
    assert "expired before anyone approved it" in result["msg"] and "within 5 minutes" in result["msg"]
    assert zoho.counters()["device_errors"].get("expired") == 1
    assert not pending_path(run).exists()


def test_a_code_expired_here_is_not_polled_again(run, zoho, clock):
    run(flow="device")
    clock.offset += 301
    result = run(flow="device", wait=True)
    assert result["failed"] and result["error_code"] == "expired"
    assert zoho.counters()["device"].get("token", 0) == 0 and not pending_path(run).exists()


def test_nobody_approving_in_time_keeps_the_flow_for_the_next_run(run, zoho, clock):
    user_code = run(flow="device")["device_flow"]["user_code"]
    result = run(flow="device", wait=True, wait_timeout=60)
    assert result["failed"] and result["error_code"] == "authorization_pending"
    assert user_code in result["msg"] and "within 60 s" in result["msg"] and "run again" in result["msg"]
    assert sum(clock.waits) <= 60
    assert pending_path(run).exists()
    zoho.approve_device(user_code)
    assert run(flow="device")["device_flow"]["user_code"] == user_code
    assert run(flow="device", wait=True)["exchanged"]
    assert zoho.counters()["device"]["code"] == 1
    assert_polls_30_s_apart(zoho)  # across the two waits too: the pending file keeps the last poll's time


def test_other_dc_moves_the_polls_to_the_users_data_center(make_zoho, credentials, capsys, clock):
    zoho = make_zoho(data_centers=("us", "eu"), user_dc="eu")
    run = ModuleRunner(zoho, credentials, capsys)
    us = zoho.accounts_url("us")  # where the client is registered; the approving user lives in eu
    write_client_file(run.client_file, zoho, token_uri=us + oauth.TOKEN_PATH, auth_uri=us + oauth.AUTH_PATH)
    user_code = run(flow="device")["device_flow"]["user_code"]
    clock.at_wait(1, lambda: zoho.approve_device(user_code))
    result = run(flow="device", wait=True)
    assert result["exchanged"] and result["api_domain"] == zoho.api_domain("eu") and result["data_center"] == "eu"
    assert run.tokens()["accounts_server"] == zoho.accounts_url("eu")
    assert [dc for _when, dc in device_polls(zoho)] == ["us", "eu"]
    assert zoho.counters()["device_errors"] == {"other_dc": 1}
    assert_polls_30_s_apart(zoho)
    # Refreshes go where the tokens came from.
    assert run(state="refreshed", force=True)["refreshed"]


def test_a_poll_without_an_answer_is_waited_through(run, zoho, clock):
    user_code = run(flow="device")["device_flow"]["user_code"]
    zoho.inject_fault("device", "reset", count=1)
    clock.at_wait(2, lambda: zoho.approve_device(user_code))
    assert run(flow="device", wait=True)["exchanged"]
    assert_polls_30_s_apart(zoho)


def test_a_wrong_client_secret_keeps_the_flow_for_when_it_is_fixed(run, zoho, clock):
    user_code = run(flow="device")["device_flow"]["user_code"]
    good = run.client_file.read_text()
    run.client_file.write_text(good.replace(zoho.client["client_secret"], "a-secret-zoho-never-issued"))
    result = run(flow="device", wait=True)
    assert result["failed"] and result["error_code"] == "invalid_client_secret" and "Fix:" in result["msg"]
    assert pending_path(run).exists()
    run.client_file.write_text(good)
    zoho.approve_device(user_code)
    assert run(flow="device", wait=True)["exchanged"]


def test_waiting_without_a_pending_flow_says_how_to_start_one(run, zoho, clock):
    result = run(flow="device", wait=True)
    assert result["failed"] and "No device flow is waiting" in result["msg"] and "Fix:" in result["msg"]
    assert zoho.counters()["device"].get("code", 0) == 0


@pytest.mark.parametrize("args, fragment", [({"wait": True}, "wait applies to flow=device only"),
                                            ({"flow": "device", "wait_timeout": 0}, "wait_timeout is 0")])
def test_bad_arguments_fail_before_calling_zoho(run, zoho, clock, args, fragment):
    result = run(**args)
    assert result["failed"] and fragment in result["msg"] and "Fix:" in result["msg"]
    assert not any(zoho.counters()["device"].values())


def test_stored_tokens_lacking_a_scope_are_replaced_with_proof_and_the_old_revoked(run, zoho, clock):
    run(code=run.code(scopes=["ZohoCRM.modules.deals.READ"]), scopes=["ZohoCRM.modules.deals.READ"])
    old = run.tokens()["refresh_token"]
    user_code = run(flow="device")["device_flow"]["user_code"]
    clock.at_wait(1, lambda: zoho.approve_device(user_code))
    result = run(flow="device", wait=True)
    assert result["exchanged"] and result["revoked"]
    assert run.tokens()["refresh_token"] != old and zoho.counters()["revoke"] == 1
    assert zoho.counters()["crm"].get("GET /crm/v8/Deals", 0) == 1  # the proof read before the swap


# ---- check mode, a provisioned host, revoke ------------------------------------------------------

def test_check_mode_starts_no_flow_and_polls_nothing(run, zoho, clock):
    predicted = run(check_mode=True, flow="device")
    assert predicted["changed"] and predicted["authorization_required"] and "device_flow" not in predicted
    assert "Check mode" in predicted["msg"]
    waited = run(check_mode=True, flow="device", wait=True)
    assert waited["changed"] and waited["exchanged"] and not waited.get("failed")
    assert not any(zoho.counters()["device"].values()) and not pending_path(run).exists()
    # A flow already pending is shown in check mode, and still not polled.
    user_code = run(flow="device")["device_flow"]["user_code"]
    shown = run(check_mode=True, flow="device")
    assert shown["device_flow"]["user_code"] == user_code and not shown["changed"]
    assert run(check_mode=True, flow="device", wait=True)["changed"]
    assert zoho.counters()["device"].get("token", 0) == 0


def test_a_provisioned_host_starts_no_flow_and_drops_one_left_pending(run, zoho, clock):
    run(flow="device")  # pending, then another way of authorizing wins
    run(code=run.code())
    result = run(flow="device")
    assert result["changed"] and "device_flow" not in result and not pending_path(run).exists()
    again = run(flow="device")
    assert not again["changed"] and zoho.counters()["device"]["code"] == 1


def test_revoking_removes_a_pending_flow_too(run, zoho, clock):
    run(flow="device")
    assert run(check_mode=True, state="revoked")["changed"] and pending_path(run).exists()
    result = run(state="revoked")
    assert result["changed"] and not result["revoked"] and not pending_path(run).exists()
    assert not run(state="revoked")["changed"]

"""Every branch of the zoho_crm_token module, in-process against the Zoho stand-in."""

import json
import os

import pytest

import zoho_crm_oauth
from module_harness import ModuleRunner, warnings_of, write_client_file


def token_calls(zoho, grant):
    return zoho.counters()["token"].get(grant, 0)


def assert_no_secret(run, *secrets):
    text = "\n".join(run.outputs)
    for secret in secrets:
        assert secret and secret not in text


# ---- present -----------------------------------------------------------------------------------

def test_without_tokens_or_code_it_fails_with_the_authorization_url(run, zoho):
    result = run()
    assert result["failed"] and result["authorization_required"]
    assert "No Zoho tokens" in result["msg"]
    url = result["authorization_url"]
    assert url.startswith(zoho.accounts_url() + "/oauth/v2/auth?")
    assert "access_type=offline" in url and "prompt=consent" in url and zoho.client["client_id"] in url
    assert run()["authorization_url"] == url  # the same URL on every run: its state is derived, not random
    assert run.token_bytes() is None
    assert sum(zoho.counters()["token"].values()) == 0


def test_a_code_is_exchanged_once_and_a_rerun_is_ok(run, zoho):
    code = run.code()
    first = run(code=code)
    assert first["changed"] and first["exchanged"] and not first.get("failed")
    assert first["api_domain"] == zoho.api_domain()
    assert first["data_center"] == "us"
    assert first["scopes"] == list(zoho_crm_oauth.DEFAULT_SCOPES)
    assert run.mode() == 0o600
    tokens = run.tokens()
    assert tokens["code_sha256"] == zoho_crm_oauth.code_digest(code)
    second = run(code=code)
    assert not second["changed"] and not second["exchanged"]
    assert token_calls(zoho, "authorization_code") == 1
    assert_no_secret(run, code, tokens["access_token"], tokens["refresh_token"], zoho.client["client_secret"])


def test_a_whole_redirect_url_is_accepted(run, zoho):
    auth_url = run()["authorization_url"]
    redirect = zoho.authorize(auth_url)
    result = run(code=redirect)
    assert result["changed"] and result["exchanged"]
    assert run.tokens()["accounts_server"] == zoho.accounts_url()


def test_a_foreign_redirect_state_is_refused_before_calling_zoho(run, zoho):
    auth_url = run()["authorization_url"].replace("state=", "state=x")
    result = run(code=zoho.authorize(auth_url))
    assert result["failed"] and not result["changed"]
    assert "state does not match" in result["msg"] and "Fix:" in result["msg"]
    assert run.token_bytes() is None
    assert token_calls(zoho, "authorization_code") == 0


def test_another_code_with_tokens_present_is_not_used(run, zoho):
    run(code=run.code())
    before = run.token_bytes()
    result = run(code=run.code())
    assert not result["changed"]
    assert any("reauthorize" in warning for warning in warnings_of(result))
    assert run.token_bytes() == before
    assert token_calls(zoho, "authorization_code") == 1


def test_reauthorize_swaps_in_the_new_tokens_and_revokes_the_old(run, zoho):
    run(code=run.code())
    old = run.tokens()
    code = run.code()
    result = run(code=code, reauthorize=True)
    assert result["changed"] and result["exchanged"] and result["revoked"]
    new = run.tokens()
    assert new["refresh_token"] != old["refresh_token"]
    assert zoho.counters()["revoke"] == 1
    again = run(code=code, reauthorize=True)
    assert not again["changed"]
    assert zoho.counters()["revoke"] == 1
    # The old refresh token is dead at Zoho; the new one works.
    with pytest.raises(zoho_crm_oauth.InvalidCodeError):
        zoho_crm_oauth.refresh_access_token(zoho_crm_oauth.ClientConfig.load(str(run.client_file)),
                                            zoho_crm_oauth.TokenRecord.from_json(old, "the old token file"))
    assert_no_secret(run, old["refresh_token"], new["refresh_token"], code)


def test_reauthorize_keeps_the_old_tokens_when_the_new_ones_cannot_read(run, zoho):
    run(code=run.code())
    before = run.token_bytes()
    zoho.inject_fault("GET /crm/v8/Deals", "status_500", count=10)
    result = run(code=run.code(), reauthorize=True)
    assert result["failed"]
    assert "INTERNAL_ERROR" in result["msg"] or "HTTP 500" in result["msg"]
    assert run.token_bytes() == before
    # The new refresh token was revoked so it does not occupy one of Zoho's 20 slots.
    assert zoho.counters()["revoke"] == 1


def test_tokens_lacking_a_scope_need_a_new_authorization(run, zoho):
    run(code=run.code(scopes=["ZohoCRM.modules.deals.READ"]), scopes=["ZohoCRM.modules.deals.READ"])
    result = run()
    assert result["failed"] and result["authorization_required"]
    assert "ZohoCRM.modules.contacts.READ" in result["msg"]
    assert result["authorization_url"]


def test_a_code_without_all_scopes_is_exchanged_but_reported(run, zoho):
    result = run(code=run.code(scopes=["ZohoCRM.modules.deals.READ"]))
    assert result["failed"] and result["authorization_required"]
    assert "cannot be used" in result["msg"] and "ZohoCRM.modules.notes.READ" in result["msg"]
    assert run.token_bytes() is not None  # kept: it holds a live refresh token
    # A new code with every scope then replaces it without asking for reauthorize.
    fixed = run(code=run.code())
    assert fixed["changed"] and fixed["revoked"]


def test_tokens_of_another_client_need_a_new_authorization(run, zoho):
    run(code=run.code())
    tokens = run.tokens()
    tokens["client_id"] = "1000.SOMEONEELSE"
    run.token_path.write_text(json.dumps(tokens))
    result = run()
    assert result["failed"] and "another client ID" in result["msg"]


def test_a_loosened_mode_is_repaired_and_reported(run, zoho):
    run(code=run.code())
    os.chmod(run.token_path, 0o644)
    result = run(diff=True)
    assert result["changed"] and not result["exchanged"]
    assert run.mode() == 0o600
    assert result["diff"]["before"]["mode"] == "0644" and result["diff"]["after"]["mode"] == "0600"
    assert not run()["changed"]


# ---- check and diff mode -----------------------------------------------------------------------

def test_check_mode_predicts_the_exchange_without_calling_zoho(run, zoho):
    result = run(code=run.code(), check_mode=True, diff=True)
    assert result["changed"] and result["exchanged"]
    assert run.token_bytes() is None
    assert token_calls(zoho, "authorization_code") == 0
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["refresh_token"] == "(new)"


def test_check_mode_still_rejects_an_untrusted_server(run):
    state = zoho_crm_oauth.authorization_state(zoho_crm_oauth.ClientConfig.load(str(run.client_file)),
                                               str(run.token_path))
    redirect = ("http://localhost:8080/oauth/callback?state=%s&code=1000.aa.bb&accounts-server="
                "https%%3A%%2F%%2Faccounts.evil.example" % state)
    result = run(code=redirect, check_mode=True)
    assert result["failed"] and "not Zoho's" in result["msg"]


def test_diff_shows_fingerprints_never_tokens(run, zoho):
    result = run(code=run.code(), diff=True)
    tokens = run.tokens()
    after = result["diff"]["after"]
    assert after["refresh_token"] == zoho_crm_oauth.fingerprint(tokens["refresh_token"])
    assert after["expires_at"] == tokens["expires_at"]
    text = json.dumps(result)
    assert tokens["refresh_token"] not in text and tokens["access_token"] not in text


# ---- refreshed -----------------------------------------------------------------------------------

def test_refreshed_only_when_needed(run, zoho):
    run(code=run.code())
    refresh_token = run.tokens()["refresh_token"]
    assert not run(state="refreshed")["changed"]
    assert token_calls(zoho, "refresh_token") == 0
    near = run(state="refreshed", min_ttl=3600)
    assert near["changed"] and near["refreshed"]
    forced = run(state="refreshed", force=True)
    assert forced["changed"]
    assert token_calls(zoho, "refresh_token") == 2
    assert run.tokens()["refresh_token"] == refresh_token  # Zoho never rotates it


def test_refreshed_in_check_mode_calls_nothing(run, zoho):
    run(code=run.code())
    before = run.token_bytes()
    result = run(state="refreshed", force=True, check_mode=True)
    assert result["changed"] and result["refreshed"]
    assert token_calls(zoho, "refresh_token") == 0
    assert run.token_bytes() == before


def test_refreshed_without_tokens_fails_with_a_fix(run):
    result = run(state="refreshed")
    assert result["failed"] and "No Zoho tokens" in result["msg"] and "Fix:" in result["msg"]


def test_refresh_with_a_revoked_token_says_authorize_again(run, zoho):
    run(code=run.code())
    zoho_crm_oauth.revoke_refresh_token(zoho.accounts_url(), run.tokens()["refresh_token"])
    before = run.token_bytes()
    result = run(state="refreshed", force=True)
    assert result["failed"] and result["error_code"] == "invalid_code"
    assert "authorize again" in result["msg"]
    assert run.token_bytes() == before


def test_refresh_throttled_by_zoho(run, zoho):
    run(code=run.code())
    zoho.inject_fault("token", "access_denied", count=1)
    result = run(state="refreshed", force=True)
    assert result["failed"] and "Access Denied" in result["msg"] and "wait 10 minutes" in result["msg"]


# ---- revoked -------------------------------------------------------------------------------------

def test_revoked_revokes_at_zoho_and_removes_the_file(run, zoho):
    run(code=run.code())
    checked = run(state="revoked", check_mode=True)
    assert checked["changed"] and run.token_bytes() is not None and zoho.counters()["revoke"] == 0
    result = run(state="revoked")
    assert result["changed"] and result["revoked"]
    assert not run.token_path.exists() and not os.path.exists(str(run.token_path) + ".lock")
    assert zoho.counters()["revoke"] == 1
    assert not run(state="revoked")["changed"]


def test_revoked_works_after_the_client_file_is_gone(run, zoho):
    run(code=run.code())
    run.client_file.unlink()
    assert run(state="revoked")["revoked"]
    assert not run(state="revoked")["changed"]


def test_revoking_a_token_zoho_forgot_still_removes_the_file(run, zoho):
    run(code=run.code())
    zoho_crm_oauth.revoke_refresh_token(zoho.accounts_url(), run.tokens()["refresh_token"])
    result = run(state="revoked")
    assert result["changed"] and not result["revoked"]
    assert any("already revoked" in warning for warning in warnings_of(result))
    assert not run.token_path.exists()


def test_revoke_that_cannot_reach_zoho_keeps_the_file(run, zoho):
    run(code=run.code())
    zoho.inject_fault("revoke", "status_500", count=1)
    result = run(state="revoked")
    assert result["failed"] and "HTTP 500" in result["msg"] and "retry later" in result["msg"]
    assert run.token_path.exists()


# ---- errors ----------------------------------------------------------------------------------------

def test_a_used_code_is_invalid_code(run, zoho):
    code = run.code()
    zoho_crm_oauth.exchange_code(zoho_crm_oauth.ClientConfig.load(str(run.client_file)),
                                 zoho_crm_oauth.parse_authorization_response(code))
    result = run(code=code)
    assert result["failed"] and result["error_code"] == "invalid_code"
    assert run.token_bytes() is None


def test_an_expired_code_is_invalid_code(run, zoho):
    code = run.code(lifetime=60)
    zoho.clock.advance(61)
    result = run(code=code)
    assert result["failed"] and "expired" in result["msg"]


@pytest.mark.parametrize("field, value, error_code", [
    ("client_id", "1000.UNKNOWNCLIENT", "invalid_client"),
    ("client_secret", "not-the-secret", "invalid_client_secret"),
])
def test_wrong_client_credentials(run, zoho, field, value, error_code):
    write_client_file(run.client_file, zoho, **{field: value})
    result = run(code=run.code())
    assert result["failed"] and result["error_code"] == error_code
    assert "Fix:" in result["msg"] and value not in result["msg"]


def test_wrong_redirect_uri(run, zoho):
    redirect = zoho.authorize(run()["authorization_url"])
    write_client_file(run.client_file, zoho, redirect_uri="http://localhost:9999/elsewhere")
    result = run(code=redirect)
    assert result["failed"] and result["error_code"] == "invalid_redirect_uri"


def test_a_code_from_another_data_center_names_the_fix(make_zoho, credentials, capsys):
    zoho = make_zoho(data_centers=("us", "eu"), user_dc="eu")
    run = ModuleRunner(zoho, credentials, capsys)
    write_client_file(run.client_file, zoho, token_uri=zoho.accounts_url("us") + zoho_crm_oauth.TOKEN_PATH)
    code = zoho.self_client_code(list(zoho_crm_oauth.DEFAULT_SCOPES))
    result = run(code=code)
    assert result["failed"] and result["error_code"] == "invalid_client"
    assert "data center" in result["msg"]


def test_a_redirect_from_another_data_center_goes_there(make_zoho, credentials, capsys):
    zoho = make_zoho(data_centers=("us", "eu"), user_dc="eu")
    run = ModuleRunner(zoho, credentials, capsys)
    write_client_file(run.client_file, zoho, token_uri=zoho.accounts_url("us") + zoho_crm_oauth.TOKEN_PATH,
                      auth_uri=zoho.accounts_url("us") + "/oauth/v2/auth")
    redirect = zoho.authorize(run()["authorization_url"])
    result = run(code=redirect)
    assert result["changed"]
    assert result["data_center"] == "eu"
    assert result["api_domain"] == zoho.api_domain("eu")


def test_unreachable_accounts_server(run, zoho):
    write_client_file(run.client_file, zoho, token_uri="http://127.0.0.1:9/oauth/v2/token")
    result = run(code=run.code(), timeout=5)
    assert result["failed"] and result["error_code"] == "transport" and "Cannot reach" in result["msg"]


def test_a_malformed_code_is_refused_before_any_call(run, zoho):
    result = run(code="not-a-code")
    assert result["failed"] and "No usable grant code" in result["msg"]
    assert sum(zoho.counters()["token"].values()) == 0


def test_a_missing_client_file(run):
    run.client_file.unlink()
    result = run(code="1000.aa.bb")
    assert result["failed"] and result["error_code"] == "config" and "does not exist" in result["msg"]


def test_a_corrupt_token_file(run):
    run.token_path.write_text("{half")
    result = run()
    assert result["failed"] and result["error_code"] == "token_file"


def test_bad_arguments_are_refused(run):
    result = run(state="exploded")
    assert result["failed"] and "state" in result["msg"]


# ---- found in review ---------------------------------------------------------------------------

def test_reauthorizing_with_a_narrower_code_keeps_the_working_tokens(run, zoho):
    run(code=run.code())
    before = run.token_bytes()
    result = run(code=run.code(scopes=["ZohoCRM.modules.deals.READ"]), reauthorize=True)
    assert result["failed"] and "lack ZohoCRM.modules.contacts.READ" in result["msg"]
    assert run.token_bytes() == before
    assert zoho.counters()["revoke"] == 1  # the new, narrower refresh token: not the working one
    assert not run(state="refreshed", force=True).get("failed")


def test_proof_of_new_tokens_avoids_the_admin_only_notes_list(make_zoho, credentials, capsys):
    zoho = make_zoho(admin=False)
    run = ModuleRunner(zoho, credentials, capsys)
    scopes = ["ZohoCRM.modules.notes.READ", "ZohoCRM.modules.deals.READ", "ZohoCRM.modules.contacts.READ"]
    run(code=run.code(scopes=scopes), scopes=scopes)
    result = run(code=run.code(scopes=scopes), scopes=scopes, reauthorize=True)
    assert result["changed"] and result["revoked"]
    assert zoho.counters()["crm"].get("GET /crm/v8/Notes", 0) == 0


def test_check_mode_on_a_fresh_host_without_a_client_file(run, zoho):
    run.client_file.unlink()
    result = run(check_mode=True, scopes=list(zoho_crm_oauth.DEFAULT_SCOPES))
    assert result["failed"] and result["authorization_required"]
    assert "Check mode" in result["msg"] and "authorization_url" not in result
    predicted = run(code=run.code(), check_mode=True, diff=True)
    assert predicted["changed"] and predicted["exchanged"]
    assert predicted["diff"]["after"]["scopes"] == list(zoho_crm_oauth.DEFAULT_SCOPES)
    assert sum(zoho.counters()["token"].values()) == 0


def test_an_unusable_lock_path_fails_in_one_line(run):
    run(code=run.code())
    os.unlink(str(run.token_path) + ".lock")
    os.mkdir(str(run.token_path) + ".lock")
    result = run(state="refreshed", force=True)
    assert result["failed"] and result["error_code"] == "token_file" and result["retry"] == "never"
    assert "Cannot use" in result["msg"] and "Fix:" in result["msg"] and "Traceback" not in json.dumps(result)


def test_revoking_a_damaged_file_removes_it(run, zoho):
    run.token_path.write_text("{half")
    result = run(state="revoked")
    assert result["changed"] and not result["revoked"]
    assert any("damaged" in warning for warning in warnings_of(result))
    assert not run.token_path.exists()
    assert zoho.counters()["revoke"] == 0
    assert not run(state="revoked")["changed"]


def test_revoking_a_file_without_refresh_token_removes_it_and_says_so(run, zoho):
    run.token_path.write_text(json.dumps({"access_token": "1000.a.b", "api_domain": zoho.api_domain()}))
    result = run(state="revoked")
    assert result["changed"] and not result["revoked"]
    assert any("holds no refresh token" in warning for warning in warnings_of(result))
    assert not run.token_path.exists() and zoho.counters()["revoke"] == 0


def test_a_transient_failure_says_the_task_may_be_retried(run, zoho):
    run(code=run.code())
    zoho.inject_fault("token", "status_503")
    result = run(state="refreshed", force=True)
    assert result["failed"] and result["error_code"] == "transport" and result["retry"] == "now"
    assert zoho.counters()["token"]["refresh_token"] == 1  # the module tries once: retries are the play's

"""zoho-crm-test.py: the guide's output when access works, one hint and a non-zero exit when not."""

import pytest

import zoho_crm_oauth as oauth

from tool_harness import assert_one_line_error

TEST = "zoho-crm-test.py"


def test_working_access_prints_the_guides_output(authorized):
    completed = authorized.run(TEST)

    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[:4] == ["Testing Zoho CRM API access...", "✓ Access token valid",
                         "✓ Connected to: %s" % authorized.tokens()["api_domain"], "Fetching deals (limit 5)..."]
    assert lines[4] == "Deal #1: Oakland School District - Grant Funded - Stage: Qualification"
    assert [line.split(":")[0] for line in lines[4:9]] == ["Deal #%d" % n for n in range(1, 6)]
    assert lines[9:] == ["✓ Test successful! Zoho CRM API is working."]
    assert authorized.zoho.counters()["crm"]["GET /crm/v8/Deals"] == 1


def test_an_empty_crm_still_passes(make_zoho, make_credentials):
    credentials = make_credentials(make_zoho(deals=0))
    credentials.authorize()
    completed = credentials.run(TEST)
    assert completed.returncode == 0
    assert "No deals yet" in completed.stdout
    assert completed.stdout.endswith("✓ Test successful! Zoho CRM API is working.\n")


def test_invalid_token_is_cured_by_one_refresh(authorized):
    authorized.zoho.clock.advance(3700)  # the file says valid; Zoho says INVALID_TOKEN
    completed = authorized.run(TEST)
    assert completed.returncode == 0, completed.stderr
    assert authorized.zoho.counters()["token"]["refresh_token"] == 1


def revoke(credentials):
    record = credentials.tokens()
    oauth.revoke_refresh_token(record["accounts_server"], record["refresh_token"])


def deals_scope_missing(credentials):
    credentials.authorize(scopes=("ZohoCRM.modules.contacts.READ",))


@pytest.mark.parametrize("break_it, status, hint", [
    pytest.param(revoke, oauth.EXIT_REAUTHORIZE, "Zoho rejected the refresh token (invalid_code)", id="revoked"),
    pytest.param(deals_scope_missing, oauth.EXIT_REAUTHORIZE, "lacks ZohoCRM.modules.deals.READ",
                 id="OAUTH_SCOPE_MISMATCH"),
    pytest.param(lambda c: c.zoho.inject_fault("crm", "status_500"), oauth.EXIT_RETRY_LATER, "HTTP 500",
                 id="server-error"),
    pytest.param(lambda c: c.update_tokens(api_domain="http://127.0.0.1:9"), oauth.EXIT_RETRY_LATER,
                 "Cannot reach 127.0.0.1:9 (ConnectionRefusedError", id="unreachable"),
    pytest.param(lambda c: c.token_path.unlink(), oauth.EXIT_CONFIG, "No token file", id="no-tokens"),
])
def test_failures_print_one_hint_and_exit_non_zero(authorized, break_it, status, hint):
    break_it(authorized)
    before = authorized.token_bytes()

    completed = authorized.run(TEST)

    assert_one_line_error(completed, hint)
    assert completed.returncode == status
    assert completed.stdout == "Testing Zoho CRM API access...\n"
    assert authorized.token_bytes() == before


def test_api_domain_of_another_data_center_is_corrected_by_the_refresh(make_zoho, make_credentials):
    zoho = make_zoho(data_centers=("us", "eu"))
    credentials = make_credentials(zoho)
    credentials.authorize()
    # US tokens sent to the EU API: INVALID_TOKEN. The refresh answer carries the right api_domain.
    credentials.update_tokens(api_domain=zoho.api_domain("eu"))

    completed = credentials.run(TEST)

    assert completed.returncode == 0, completed.stderr
    assert "✓ Connected to: %s" % zoho.api_domain("us") in completed.stdout
    assert credentials.tokens()["api_domain"] == zoho.api_domain("us")
    assert zoho.counters()["token"]["refresh_token"] == 1

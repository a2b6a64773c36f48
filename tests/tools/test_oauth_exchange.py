"""zoho-crm-oauth-exchange.py, run as the guide says: output, token file, refusals and every error."""

import json
import os
import stat

import pytest

import zoho_crm_oauth as oauth

from tool_harness import assert_one_line_error

EXCHANGE = "zoho-crm-oauth-exchange.py"


def assert_guide_output(completed, credentials):
    record = credentials.tokens()
    lines = completed.stdout.splitlines()
    assert lines[:5] == [
        "✓ Tokens retrieved successfully",
        "Access Token: %s" % oauth.mask(record["access_token"]),
        "Refresh Token: %s" % oauth.mask(record["refresh_token"]),
        "Expires In: 3600 seconds (1 hour)",
        "✓ Tokens saved to: %s" % credentials.token_path,
    ]


def test_self_client_code_gives_the_guides_output_and_token_file(credentials):
    completed = credentials.run(EXCHANGE, credentials.self_client_code())

    assert completed.returncode == 0, completed.stderr
    assert_guide_output(completed, credentials)
    assert stat.S_IMODE(os.stat(credentials.token_path).st_mode) == 0o600
    record = credentials.tokens()
    assert list(record)[:6] == list(oauth.GUIDE_TOKEN_FIELDS)
    assert record["api_domain"] == credentials.zoho.api_domain()
    assert record["accounts_server"] == credentials.zoho.accounts_url()
    assert record["scope"].split() == list(oauth.DEFAULT_SCOPES)
    assert oauth.parse_time(record["expires_at"]) > 0


def test_redirect_url_read_from_stdin_keeps_the_code_out_of_the_arguments(credentials):
    client = credentials.client()
    location = credentials.zoho.authorize(oauth.authorization_url(client, host_state(credentials)))
    credentials.seen_secrets.add(oauth.parse_authorization_response(location).code)

    completed = credentials.run(EXCHANGE, "-", stdin=location + "\n")

    assert completed.returncode == 0, completed.stderr
    assert_guide_output(completed, credentials)


def test_rerun_with_the_same_code_is_ok_and_calls_nobody(credentials):
    code = credentials.self_client_code()
    assert credentials.run(EXCHANGE, code).returncode == 0
    before = credentials.token_bytes()
    exchanges = credentials.zoho.counters()["token"]["authorization_code"]

    completed = credentials.run(EXCHANGE, code)

    assert completed.returncode == 0
    assert "already exchanged" in completed.stdout
    assert credentials.token_bytes() == before
    assert credentials.zoho.counters()["token"]["authorization_code"] == exchanges


def test_working_tokens_are_not_replaced_without_force(authorized):
    refresh_token = authorized.tokens()["refresh_token"]
    exchanges = authorized.zoho.counters()["token"]["authorization_code"]

    completed = authorized.run(EXCHANGE, authorized.self_client_code())

    assert_one_line_error(completed, "already holds a working refresh token", "--force")
    assert completed.returncode == oauth.EXIT_FAILED
    assert authorized.tokens()["refresh_token"] == refresh_token
    assert authorized.zoho.counters()["token"]["authorization_code"] == exchanges  # the code was not spent


def test_force_replaces_working_tokens_and_revokes_the_old_refresh_token(authorized):
    old = authorized.tokens()

    completed = authorized.run(EXCHANGE, "--force", authorized.self_client_code())

    assert completed.returncode == 0, completed.stderr
    assert "✓ Previous refresh token revoked" in completed.stdout
    new = authorized.tokens()
    assert new["refresh_token"] != old["refresh_token"]
    assert authorized.zoho.live_tokens()[authorized.zoho.client["client_id"]]["refresh_tokens"] == 1
    with pytest.raises(oauth.InvalidCodeError):
        oauth.refresh_access_token(authorized.client(), oauth.TokenRecord.from_json(old, "the old token file"))


def test_force_with_a_narrower_code_keeps_the_working_tokens(authorized):
    before = authorized.token_bytes()

    completed = authorized.run(EXCHANGE, "--force", authorized.self_client_code(["ZohoCRM.modules.deals.READ"]))

    assert_one_line_error(completed, "lack ZohoCRM.modules.contacts.READ", "stored tokens were kept")
    assert completed.returncode == oauth.EXIT_REAUTHORIZE
    assert authorized.token_bytes() == before
    assert authorized.zoho.live_tokens()[authorized.zoho.client["client_id"]]["refresh_tokens"] == 1


def test_tokens_whose_refresh_token_was_revoked_are_replaced_without_force(authorized):
    old = authorized.tokens()
    assert oauth.revoke_refresh_token(old["accounts_server"], old["refresh_token"])

    completed = authorized.run(EXCHANGE, authorized.self_client_code())

    assert completed.returncode == 0, completed.stderr
    assert "was already invalid at Zoho" in completed.stdout
    assert authorized.tokens()["refresh_token"] != old["refresh_token"]


def test_a_damaged_token_file_is_replaced(credentials):
    credentials.token_path.write_text("{not json")
    credentials.token_path.chmod(0o600)

    completed = credentials.run(EXCHANGE, credentials.self_client_code())

    assert completed.returncode == 0, completed.stderr
    assert "is damaged; it will be replaced" in completed.stderr
    assert credentials.tokens()["refresh_token"].startswith("1000.")


def host_state(credentials):
    """The state of this host's authorization URLs, which a pasted redirect must carry."""
    return oauth.authorization_state(credentials.client(), str(credentials.token_path))


def used_code(credentials):
    code = credentials.self_client_code()
    oauth.exchange_code(credentials.client(), oauth.parse_authorization_response(code))
    return code


def expired_code(credentials):
    code = credentials.self_client_code()
    credentials.zoho.clock.advance(credentials.zoho.settings.code_lifetime + 1)
    return code


def redirect_code_with_another_redirect_uri(credentials):
    location = credentials.zoho.authorize(oauth.authorization_url(credentials.client(), host_state(credentials)))
    credentials.write_client_secret(redirect_uri="http://localhost:9999/elsewhere")
    return location


def denied_redirect(credentials):
    return credentials.zoho.authorize(oauth.authorization_url(credentials.client(), "s3"), approve=False)


def self_code_with_client(**fields):
    def prepare(credentials):
        code = credentials.self_client_code()
        credentials.write_client_secret(**fields)
        return code
    return prepare


def throttled(credentials):
    credentials.zoho.inject_fault("token", "access_denied")
    return credentials.self_client_code()


def server_failing(credentials):
    credentials.zoho.inject_fault("token", "status_500")
    return credentials.self_client_code()


GUIDE_ERRORS = [
    pytest.param(used_code, oauth.EXIT_REAUTHORIZE, "(invalid_code)", id="invalid_code-used"),
    pytest.param(expired_code, oauth.EXIT_REAUTHORIZE, "(invalid_code)", id="invalid_code-expired"),
    pytest.param(self_code_with_client(client_id="1000.UNKNOWNCLIENT0000000000000000000"), oauth.EXIT_CONFIG,
                 "(invalid_client)", id="invalid_client"),
    pytest.param(self_code_with_client(client_secret="0" * 42), oauth.EXIT_CONFIG, "(invalid_client_secret)",
                 id="invalid_client_secret"),
    pytest.param(redirect_code_with_another_redirect_uri, oauth.EXIT_CONFIG, "(invalid_redirect_uri)",
                 id="invalid_redirect_uri"),
    pytest.param(denied_redirect, oauth.EXIT_REAUTHORIZE, "refused (access_denied)", id="access_denied"),
    pytest.param(throttled, oauth.EXIT_RETRY_LATER, "(Access Denied)", id="Access-Denied-throttle"),
    pytest.param(server_failing, oauth.EXIT_RETRY_LATER, "HTTP 500", id="server-error"),
    pytest.param(lambda credentials: "not-a-code", oauth.EXIT_REAUTHORIZE, "No usable grant code", id="garbage"),
]


@pytest.mark.parametrize("prepare, status, hint", GUIDE_ERRORS)
def test_each_error_gives_its_hint_and_leaves_the_token_file_alone(authorized, prepare, status, hint):
    before = authorized.token_bytes()
    code = prepare(authorized)

    completed = authorized.run(EXCHANGE, "--force", "-", stdin=code)

    assert_one_line_error(completed, hint)
    assert completed.returncode == status
    assert authorized.token_bytes() == before


@pytest.mark.parametrize("prepare, status, hint", GUIDE_ERRORS[:6])
def test_each_error_without_tokens_creates_no_token_file(credentials, prepare, status, hint):
    completed = credentials.run(EXCHANGE, "-", stdin=prepare(credentials))

    assert_one_line_error(completed, hint)
    assert completed.returncode == status
    assert not credentials.token_path.exists()


def test_missing_client_secret_file_is_a_configuration_error(credentials):
    credentials.client_secret_path.unlink()

    completed = credentials.run(EXCHANGE, credentials.self_client_code())

    assert_one_line_error(completed, "client-secret file", "does not exist")
    assert completed.returncode == oauth.EXIT_CONFIG


def test_placeholder_client_secret_is_refused_before_calling_zoho(credentials):
    credentials.write_client_secret(client_secret="PASTE_CLIENT_SECRET_HERE")

    completed = credentials.run(EXCHANGE, credentials.self_client_code())

    assert_one_line_error(completed, "placeholder")
    assert completed.returncode == oauth.EXIT_CONFIG
    assert credentials.zoho.counters()["token"]["authorization_code"] == 0


def test_help_documents_the_exit_statuses(credentials):
    completed = credentials.run(EXCHANGE, "--help")
    assert completed.returncode == 0
    assert "exit status: 0 saved" in completed.stdout
    assert "20 refresh tokens" in completed.stdout


def test_the_written_file_is_valid_json_with_expiry(credentials):
    credentials.run(EXCHANGE, credentials.self_client_code())
    record = json.loads(credentials.token_path.read_text())
    assert oauth.parse_time(record["expires_at"]) - oauth.parse_time(record["updated_at"]) == 3600

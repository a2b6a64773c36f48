"""zoho-crm-refresh-token.py as cron runs it: when it refreshes, its log, exit statuses, and SIGKILL."""

import os
import random
import re
import time

import pytest

import zoho_crm_oauth as oauth

REFRESH = "zoho-crm-refresh-token.py"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ zoho-crm-refresh-token (INFO|ERROR) ")


def refreshes(credentials):
    return credentials.zoho.counters()["token"]["refresh_token"]


def test_a_fresh_token_is_left_alone(authorized):
    before = authorized.token_bytes()

    completed = authorized.run(REFRESH)

    assert completed.returncode == 0, completed.stderr
    assert LOG_LINE.match(completed.stdout)
    assert "still fresh" in completed.stdout
    assert refreshes(authorized) == 0
    assert authorized.token_bytes() == before


@pytest.mark.parametrize("minutes_left, refreshed", [(10, True), (20, False)])
def test_default_min_ttl_refreshes_tokens_that_would_not_outlive_the_next_run(authorized, minutes_left,
                                                                               refreshed):
    authorized.update_tokens(expires_at=oauth.format_time(time.time() + minutes_left * 60))
    old = authorized.tokens()

    completed = authorized.run(REFRESH)

    assert completed.returncode == 0, completed.stderr
    assert refreshes(authorized) == int(refreshed)
    new = authorized.tokens()
    assert new["refresh_token"] == old["refresh_token"]
    assert (new["access_token"] != old["access_token"]) == refreshed
    if refreshed:
        assert "refreshed the access token %s" % oauth.fingerprint(new["access_token"]) in completed.stdout
        assert oauth.parse_time(new["expires_at"]) > time.time() + 3500


def test_force_and_min_ttl_refresh_a_fresh_token(authorized):
    assert authorized.run(REFRESH, "--force").returncode == 0
    assert authorized.run(REFRESH, "--min-ttl", "3600").returncode == 0
    assert refreshes(authorized) == 2


def test_expired_token_is_refreshed_and_works(authorized):
    authorized.expire_access_token()
    assert authorized.run(REFRESH).returncode == 0
    assert authorized.zoho.counters()["token"]["refresh_token"] == 1
    assert authorized.token_file.read().needs_refresh() is False


def test_log_file_is_size_capped_and_keeps_one_backup(authorized, tmp_path):
    log = tmp_path / "logs" / "zoho-crm-token-refresh.log"
    log.parent.mkdir()
    for _ in range(6):
        completed = authorized.run(REFRESH, "--log-file", log, "--log-max-bytes", 300)
        assert completed.returncode == 0
        assert completed.stdout == ""
    backup = tmp_path / "logs" / "zoho-crm-token-refresh.log.1"
    assert log.exists() and backup.exists()
    assert not (tmp_path / "logs" / "zoho-crm-token-refresh.log.2").exists()
    for path in (log, backup):
        text = path.read_text()
        assert os.path.getsize(path) <= 300
        assert all(LOG_LINE.match(line) for line in text.splitlines())
        authorized.outputs.append(text)


def test_unwritable_log_file_is_a_configuration_error(authorized, tmp_path):
    completed = authorized.run(REFRESH, "--log-file", tmp_path / "missing-dir" / "refresh.log")
    assert completed.returncode == oauth.EXIT_CONFIG
    assert completed.stderr.startswith("Error: Cannot write the log file")
    assert "Traceback" not in completed.stderr


def revoke(credentials):
    record = credentials.tokens()
    assert oauth.revoke_refresh_token(record["accounts_server"], record["refresh_token"])


FAILURES = [
    pytest.param(revoke, oauth.EXIT_REAUTHORIZE, "Zoho rejected the refresh token (invalid_code)", id="revoked"),
    pytest.param(lambda c: c.write_client_secret(client_secret="0" * 42), oauth.EXIT_CONFIG,
                 "(invalid_client_secret)", id="invalid_client_secret"),
    pytest.param(lambda c: c.write_client_secret(client_id="1000.UNKNOWNCLIENT0000000000000000000"),
                 oauth.EXIT_CONFIG, "(invalid_client)", id="invalid_client"),
    pytest.param(lambda c: c.zoho.inject_fault("token", "access_denied"), oauth.EXIT_RETRY_LATER,
                 "(Access Denied)", id="Access-Denied"),
    pytest.param(lambda c: c.zoho.inject_fault("token", "status_500"), oauth.EXIT_RETRY_LATER, "HTTP 500",
                 id="server-error"),
    pytest.param(lambda c: c.zoho.inject_fault("token", "reset"), oauth.EXIT_RETRY_LATER, "Cannot reach",
                 id="connection-reset"),
    pytest.param(lambda c: c.zoho.inject_fault("token", "truncated"), oauth.EXIT_RETRY_LATER, "Cannot reach",
                 id="cut-off-answer"),
    pytest.param(lambda c: c.token_path.unlink(), oauth.EXIT_CONFIG, "No token file", id="no-token-file"),
    pytest.param(lambda c: c.client_secret_path.write_text("[]"), oauth.EXIT_CONFIG, "not a JSON object",
                 id="damaged-client-secret"),
]


@pytest.mark.parametrize("break_it, status, hint", FAILURES)
def test_failures_have_distinct_exit_statuses_and_leave_the_file_alone(authorized, tmp_path, break_it, status,
                                                                       hint):
    authorized.expire_access_token()
    break_it(authorized)
    before = authorized.token_bytes()
    log = tmp_path / "refresh.log"

    completed = authorized.run(REFRESH, "--log-file", log)

    assert completed.returncode == status
    assert authorized.token_bytes() == before
    [line] = log.read_text().splitlines()
    authorized.outputs.append(line)
    assert LOG_LINE.match(line) and "ERROR refresh failed (exit %d): " % status in line and hint in line
    assert completed.stderr.count("\n") == 1 and hint in completed.stderr  # for cron's mail
    assert "Traceback" not in completed.stderr


def test_help_documents_the_exit_statuses_for_cron(credentials):
    text = credentials.run(REFRESH, "--help").stdout
    for status, meaning in ((0, "fresh"), (3, "configuration error"), (4, "needs re-authorization"),
                            (5, "transient")):
        assert re.search(r"^\s+%d\s+.*%s" % (status, meaning), text, re.MULTILINE), meaning
    assert "--log-file" in text and "--min-ttl" in text


def test_sigkill_at_random_moments_never_damages_the_token_file(make_zoho, make_credentials):
    # Every round's refresh may reach Zoho before the kill, so allow more than 10 mints a window.
    zoho = make_zoho(mints_per_window=100)
    credentials = make_credentials(zoho)
    refresh_token = credentials.authorize()["refresh_token"]
    # A slow token endpoint keeps each refresh in flight long enough to be killed inside it.
    zoho.inject_fault("token", "delay", delay=0.3)
    jitter = random.Random(20260217)
    rounds = 12
    access_tokens_seen = set()

    for number in range(rounds):
        process = credentials.start(REFRESH, "--force")
        # From before the lock to after the write: a sweep over one second, jittered.
        time.sleep(number / rounds + jitter.uniform(0, 1.0 / rounds))
        process.kill()
        process.communicate(timeout=30)
        record = credentials.token_file.read()  # parses and validates, or raises
        assert record.refresh_token == refresh_token
        access_tokens_seen.add(record.access_token)

    assert len(access_tokens_seen) >= 2, "no round outlived its write: the sweep missed the late moments"
    completed = credentials.run(REFRESH, "--force")
    assert completed.returncode == 0, completed.stderr
    assert credentials.tokens()["refresh_token"] == refresh_token

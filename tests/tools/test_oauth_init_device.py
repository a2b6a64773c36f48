"""zoho-crm-oauth-init.py --device: Zoho's device flow for an operator on the VPS, end to end.

The tool runs as a real process on a SharedClock whose sleeps pass at 1/20 of real time (the
stand-in, in this process, moves with it): its 30 s between polls take 1.5 s, and the stand-in
counts them against its own 30 s.
"""

import re

import pytest

import zoho_crm_oauth as oauth
from shared_clock import SharedClock
from tool_harness import REQUESTS_UNAVAILABLE_DIR, assert_one_line_error

INIT = "zoho-crm-oauth-init.py"
CODE_LINE = re.compile(r"^2\. Enter the code: ([A-Z]{4}-[A-Z]{4})$")


@pytest.fixture
def clock(tmp_path, zoho):
    return SharedClock(tmp_path, zoho, sleep_scale=0.05)


def run_device(credentials, clock, *args, when_shown=None):
    """Run --device; when_shown(user_code) is called as the code line appears. (exit, stdout, stderr)."""
    process = credentials.start(INIT, "--device", *args, env=clock.environment(REQUESTS_UNAVAILABLE_DIR))
    lines = []
    for line in process.stdout:
        lines.append(line)
        shown = CODE_LINE.match(line.rstrip("\n"))
        if shown and when_shown:
            when_shown(shown.group(1))
    stderr = process.stderr.read()
    process.wait(timeout=120)
    stdout = "".join(lines)
    credentials.outputs.append(stdout + stderr)
    return process.returncode, stdout, stderr


def test_shows_the_code_waits_and_saves_the_tokens(credentials, clock):
    zoho = credentials.zoho
    returncode, stdout, stderr = run_device(credentials, clock, when_shown=zoho.approve_device)
    assert returncode == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == "Zoho CRM device authorization"
    assert lines[1].startswith("1. Open %s/oauth/v3/device in any browser" % zoho.accounts_url())
    assert CODE_LINE.match(lines[2])
    assert "(the code filled in)" in lines[3] and "Waiting for your approval" in lines[4]
    # The guide's lines after an exchange, tokens masked.
    assert "✓ Tokens retrieved successfully" in lines and "Next: python3 tools/zoho-crm-test.py" in lines
    assert "✓ Tokens saved to: %s" % credentials.token_path in lines
    assert credentials.tokens()["accounts_server"] == zoho.accounts_url()
    assert not (credentials.directory / oauth.DEVICE_FLOW_FILENAME).exists()
    assert zoho.counters()["device_errors"].get("slow_down", 0) == 0
    # The tokens work: the guide's test script reads a deal with them.
    test = credentials.run("zoho-crm-test.py")
    assert test.returncode == 0 and "✓ Test successful!" in test.stdout


def test_with_working_tokens_it_starts_no_flow_unless_forced(credentials, clock):
    credentials.authorize()
    returncode, stdout, _ = run_device(credentials, clock)
    assert returncode == 0 and "already holds a working refresh token: nothing to do" in stdout
    assert not any(credentials.zoho.counters()["device"].values())
    old = credentials.tokens()["refresh_token"]
    returncode, stdout, stderr = run_device(credentials, clock, "--force", when_shown=credentials.zoho.approve_device)
    assert returncode == 0, stderr
    assert credentials.tokens()["refresh_token"] != old and "✓ Previous refresh token revoked" in stdout


def test_a_denial_is_one_line_and_exit_4(credentials, clock):
    returncode, _, stderr = run_device(credentials, clock, when_shown=credentials.zoho.deny_device)
    assert returncode == oauth.EXIT_REAUTHORIZE
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "access_denied" in lines[0] and "Fix:" in lines[0]
    assert not credentials.token_path.exists()


def test_expiry_is_one_line_and_the_next_run_shows_a_new_code(credentials, clock):
    shown = []

    def let_it_expire(user_code):
        shown.append(user_code)
        clock.advance(301)
    returncode, _, stderr = run_device(credentials, clock, when_shown=let_it_expire)
    assert returncode == oauth.EXIT_REAUTHORIZE and "(expired)" in stderr and "Fix:" in stderr
    assert len(stderr.strip().splitlines()) == 1
    run_device(credentials, clock, "--timeout", "1", when_shown=shown.append)
    assert shown[1] != shown[0]


def test_a_timeout_keeps_the_code_for_the_next_run(credentials, clock):
    shown = []
    returncode, _, stderr = run_device(credentials, clock, "--timeout", "40", when_shown=shown.append)
    assert returncode == oauth.EXIT_REAUTHORIZE
    assert "Nobody approved the user code %s within 40 s" % shown[0] in stderr and "run again" in stderr
    returncode, stdout, stderr = run_device(credentials, clock, when_shown=lambda code: (
        shown.append(code), credentials.zoho.approve_device(code)))
    assert returncode == 0, stderr
    assert shown[1] == shown[0] and "(the code from before, still valid)" in stdout
    assert credentials.zoho.counters()["device"]["code"] == 1
    assert credentials.zoho.counters()["device_errors"].get("slow_down", 0) == 0


def test_listen_and_device_exclude_each_other(credentials):
    assert_one_line_error(credentials.run(INIT, "--device", "--listen"), "not allowed with argument")
    assert not any(credentials.zoho.counters()["device"].values())


def test_zohos_refusal_to_issue_a_code_is_transient(credentials, clock):
    for _ in range(10):
        credentials.self_client_code()
    returncode, _, stderr = run_device(credentials, clock)
    assert returncode == oauth.EXIT_RETRY_LATER and "Fix: wait 10 minutes" in stderr
    assert len(stderr.strip().splitlines()) == 1

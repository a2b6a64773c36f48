"""Bad input through every surface a user touches: the tools as subprocesses, the module through
`ansible`, the role through `ansible-playbook`. Each case must end in one line that names the cause
and the fix ("Fix:"), no traceback, a non-zero exit, and nothing changed: not the credentials
directory (names, bytes, modes, owners) and not Zoho's side (live tokens, revokes).
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import zoho_crm_oauth as oauth
from reliability_harness import (Credentials, Playbooks, ansible_module, assert_unchanged, closed_port, error_line,
                                 failure_message, provisioned_host, recap, snapshot, stand_in_state)
from zoho_sandbox import Sandbox

EXCHANGE = "zoho-crm-oauth-exchange.py"
INIT = "zoho-crm-oauth-init.py"
REFRESH = "zoho-crm-refresh-token.py"
TEST = "zoho-crm-test.py"
CLI = "zoho-crm.py"
NOBODY = 65534

# id -> passed; the last test turns it into the figures.
outcomes = {}


def track(request, case_id):
    outcomes[case_id] = False
    yield
    # A fixture's teardown runs whether the test passed or not: the test's own report decides.
    report = getattr(request.node, "report_call", None)
    outcomes[case_id] = bool(report and report.passed)


@pytest.fixture
def tally(request):
    """Counts a parametrized case, under its id."""
    yield from track(request, request.node.callspec.id)


@pytest.fixture
def tally_one(request):
    """Counts a single-case test, under its name."""
    yield from track(request, request.node.name.replace("test_", "").replace("_", "-"))


def assert_refused(returncode, output, message, *fragments):
    assert returncode != 0, output
    assert "Traceback" not in output, output
    assert "\n" not in message.strip(), message
    assert "Fix:" in message, message
    for fragment in fragments:
        assert fragment in message, message


# ---- the tools ----------------------------------------------------------------------------------

def host_state(creds):
    return oauth.authorization_state(creds.client(), str(creds.token_path))


def redirect(creds, state=None, **extra):
    """A real redirect from the stand-in's consent page, for this host's URL (or another state)."""
    url = oauth.authorization_url(creds.client(), state or host_state(creds))
    location = creds.zoho.authorize(url)
    creds.seen_secrets.add(oauth.parse_authorization_response(location).code)
    for key, value in extra.items():
        location += "%s=%s&" % (key, value)
    return location


def used_code(creds):
    code = creds.self_client_code()
    record = oauth.exchange_code(creds.client(), oauth.parse_authorization_response(code))
    creds.seen_secrets.update((record.access_token, record.refresh_token))
    return code


def expired_code(creds):
    code = creds.self_client_code()
    creds.zoho.clock.advance(creds.zoho.settings.code_lifetime + 1)
    return code


def world_readable(path):
    def prepare(creds):
        Path(path(creds)).chmod(0o644)
    return prepare


def write(path, content):
    def prepare(creds):
        Path(path(creds)).write_text(content)
        Path(path(creds)).chmod(0o600)
    return prepare


def client_file_with(**fields):
    def prepare(creds):
        creds.write_client_secret(**fields)
    return prepare


def tokens_with(**fields):
    def prepare(creds):
        creds.update_tokens(**fields)
    return prepare


def client_path(creds):
    return creds.client_secret_path


def token_path(creds):
    return creds.token_path


def client_file_is_a_directory(creds):
    creds.client_secret_path.unlink()
    creds.client_secret_path.mkdir(mode=0o700)


def revoked_at_zoho(creds):
    oauth.revoke_refresh_token(creds.zoho.accounts_url(), creds.tokens()["refresh_token"])
    creds.expire_access_token()


def token_file_owned_by_root_for_the_agent_user(creds):
    """The agent's user (nobody here) owns the directory, but root left the token file (and its
    lock) behind as its own: the agent cannot use them."""
    os.chown(creds.directory, NOBODY, NOBODY)
    os.chown(creds.client_secret_path, NOBODY, NOBODY)


def nothing(creds):
    pass


def case(case_id, tool, args, fragment, prepare=nothing, tokens=True, stdin=None, data_centers=("us",),
         as_user=None):
    """args: the tool's arguments, or a function of the credentials returning them (a code, a URL)."""
    return pytest.param(dict(tool=tool, args=args, fragment=fragment, prepare=prepare, tokens=tokens, stdin=stdin,
                             data_centers=data_centers, as_user=as_user), id=case_id)


TOOL_CASES = [
    # codes and redirects
    case("exchange-malformed-code", EXCHANGE, ["hello world"], "No usable grant code", tokens=False),
    case("exchange-expired-code", EXCHANGE, lambda c: [expired_code(c)], "(invalid_code)", tokens=False),
    case("exchange-reused-code", EXCHANGE, lambda c: [used_code(c)], "(invalid_code)", tokens=False),
    case("exchange-redirect-with-wrong-state", EXCHANGE, ["-"], "state does not match", tokens=False,
         stdin=lambda c: redirect(c, state="forged-state") + "\n"),
    case("exchange-redirect-denied", EXCHANGE, ["-"], "refused (access_denied)", tokens=False,
         stdin=lambda c: c.zoho.authorize(oauth.authorization_url(c.client(), host_state(c)), approve=False) + "\n"),
    case("exchange-redirect-to-a-foreign-accounts-server", EXCHANGE, ["-"], "not Zoho's", tokens=False,
         stdin=lambda c: redirect(c).replace("accounts-server=", "accounts-server=https%3A%2F%2Faccounts.evil.example&x=")
         + "\n"),
    case("exchange-wrong-client-id", EXCHANGE, lambda c: [c.self_client_code()], "(invalid_client)", tokens=False,
         prepare=client_file_with(client_id="1000.UNKNOWNCLIENT0000000000000000000")),
    case("exchange-wrong-client-secret", EXCHANGE, lambda c: [c.self_client_code()], "(invalid_client_secret)",
         tokens=False, prepare=client_file_with(client_secret="0" * 42)),
    case("exchange-code-of-another-data-center", EXCHANGE, lambda c: [c.self_client_code(dc="eu")],
         "another data center", tokens=False, data_centers=("us", "eu")),
    # the credential files
    case("refresh-missing-client-secret-file", REFRESH, ["--force"], "does not exist",
         prepare=lambda c: c.client_secret_path.unlink()),
    case("refresh-empty-client-secret-file", REFRESH, ["--force"], "not a JSON object",
         prepare=write(client_path, "")),
    case("refresh-corrupt-token-file", REFRESH, ["--force"], "not a JSON object",
         prepare=write(token_path, '{"access_token": "1000.')),
    case("refresh-empty-token-file", REFRESH, ["--force"], "not a JSON object", prepare=write(token_path, "")),
    case("refresh-token-file-without-refresh-token", REFRESH, ["--force"], "lacks refresh_token",
         prepare=write(token_path, json.dumps({"access_token": "1000.x.y", "api_domain": "https://www.zohoapis.com"}))),
    case("agent-missing-token-file", CLI, ["deals", "list"], "No token file", tokens=False),
    case("refresh-world-readable-token-file", REFRESH, ["--force"], "chmod 600", prepare=world_readable(token_path)),
    case("test-world-readable-client-secret-file", TEST, [], "chmod 600", prepare=world_readable(client_path)),
    case("refresh-token-file-owned-by-another-user", REFRESH, ["--force"], "owner and mode",
         prepare=token_file_owned_by_root_for_the_agent_user, as_user=NOBODY),
    case("agent-client-secret-file-is-a-directory", CLI, ["deals", "list"], "is a directory, not a regular file of its own",
         prepare=client_file_is_a_directory),
    case("refresh-placeholder-client-secret", REFRESH, ["--force"], "placeholder",
         prepare=client_file_with(client_secret="PASTE_CLIENT_SECRET_HERE")),
    case("init-mistyped-data-center", INIT, [], "Unknown Zoho data center 'ue'", tokens=False,
         prepare=client_file_with(data_center="ue")),
    # servers
    case("refresh-unreachable-accounts-server", REFRESH, [], "Cannot reach 127.0.0.1",
         prepare=tokens_with(accounts_server="http://127.0.0.1:%d/us/accounts" % closed_port(),
                             expires_at=oauth.format_time(0))),
    case("refresh-plain-http-accounts-server", REFRESH, ["--force"], "plain http",
         prepare=client_file_with(token_uri="http://accounts.zoho.com/oauth/v2/token")),
    case("agent-plain-http-api-domain", CLI, ["deals", "list"], "plain http",
         prepare=tokens_with(api_domain="http://www.zohoapis.com")),
    case("refresh-revoked-refresh-token", REFRESH, [], "rejected the refresh token (invalid_code)",
         prepare=revoked_at_zoho),
    # the agent's requests
    case("agent-deal-id-with-letters", CLI, ["deals", "get", "12345abc"], "not a Zoho record id"),
    case("agent-deal-id-with-a-path", CLI, ["deals", "get", "../Contacts/1"], "not a Zoho record id"),
    case("agent-deal-id-that-does-not-exist", CLI, ["deals", "get", "1" * 19], "has no Deals record"),
    case("agent-unknown-module", CLI, ["leads", "list"], "invalid choice: 'leads'"),
]


@pytest.mark.parametrize("spec", TOOL_CASES)
def test_tool(spec, tally, reachable_tmp):
    zoho = Sandbox(data_centers=spec["data_centers"]).start()
    try:
        creds = credentials_for(zoho, spec, reachable_tmp)
        args = spec["args"](creds) if callable(spec["args"]) else spec["args"]
        stdin = spec["stdin"](creds) if callable(spec["stdin"]) else spec["stdin"]
        spec["prepare"](creds)
        files, at_zoho = snapshot(creds.directory), stand_in_state(zoho)

        completed = run_tool(creds, spec, args, stdin)

        output = completed.stdout + completed.stderr
        assert_refused(completed.returncode, output, error_line(completed.stderr), spec["fragment"])
        assert completed.stderr.startswith("Error: ")
        assert_unchanged(files, snapshot(creds.directory))
        assert stand_in_state(zoho) == at_zoho
        assert_no_secret_in(creds, output)
    finally:
        zoho.stop()


@pytest.fixture
def reachable_tmp():
    """A temporary directory another user can traverse (pytest's tmp_path sits under a root-only one)."""
    path = Path(tempfile.mkdtemp(prefix="zoho-bad-input-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def assert_no_secret_in(creds, output):
    # Not creds.assert_no_secret_in: it re-reads the token file, which some cases leave damaged.
    secrets = {value for value in creds.seen_secrets | creds.zoho.secret_values() if value}
    assert secrets and not [secret[:8] for secret in secrets if secret in output]


def credentials_for(zoho, spec, parent):
    directory = parent / "credentials"
    directory.mkdir(mode=0o700)
    creds = Credentials(directory, zoho)
    creds.write_client_secret()
    if spec["tokens"]:
        creds.authorize()
    return creds


def run_tool(creds, spec, args, stdin):
    if spec["tool"] == REFRESH:
        # As cron runs it: the log outside the credentials directory, the error also on stderr.
        logs = creds.directory.parent / "logs"
        logs.mkdir(mode=0o700)
        if spec["as_user"] is not None:
            os.chown(logs, spec["as_user"], spec["as_user"])
        args = list(args) + ["--log-file", str(logs / "refresh.log")]
    if spec["as_user"] is None:
        return creds.run(spec["tool"], *args, stdin=stdin)
    # The system python3: the venv's lives under /root, out of another user's reach. The cron tool
    # needs nothing beyond the standard library.
    command = ["/usr/bin/python3"] + creds.command(spec["tool"], *args)[1:]
    completed = subprocess.run(
        command, capture_output=True, text=True, cwd="/", timeout=120, env=creds.environment(),
        user=spec["as_user"], group=spec["as_user"], extra_groups=[])
    creds.outputs.append(completed.stdout + completed.stderr)
    return completed


# ---- the module, run ad hoc by `ansible` ----------------------------------------------------------

def module_case(case_id, args, fragment, prepare=nothing):
    """args: a function of the credentials returning the module's extra arguments."""
    return pytest.param(dict(args=args, fragment=fragment, prepare=prepare), id=case_id)


MODULE_CASES = [
    module_case("module-redirect-with-wrong-state", lambda c: ["code=%s" % redirect(c, state="forged-state")],
                "state does not match"),
    module_case("module-reused-code", lambda c: ["code=%s" % used_code(c)], "(invalid_code)"),
    module_case("module-wrong-client-secret", lambda c: ["code=%s" % c.self_client_code()],
                "(invalid_client_secret)", prepare=client_file_with(client_secret="0" * 42)),
    module_case("module-unreachable-accounts-server", lambda c: ["code=%s" % c.self_client_code()], "Cannot reach",
                prepare=client_file_with(token_uri="http://127.0.0.1:%d/us/accounts/oauth/v2/token" % closed_port())),
    module_case("module-client-secret-file-is-a-directory", lambda c: ["code=%s" % c.self_client_code()],
                "is a directory, not a regular file of its own", prepare=client_file_is_a_directory),
]


@pytest.mark.parametrize("spec", MODULE_CASES)
def test_module(spec, tally, zoho, tmp_path):
    directory = tmp_path / "credentials"
    directory.mkdir(mode=0o700)
    creds = Credentials(directory, zoho)
    creds.write_client_secret()
    args = spec["args"](creds)
    spec["prepare"](creds)
    files, at_zoho = snapshot(directory), stand_in_state(zoho)

    returncode, output = ansible_module(directory, *args)

    assert_refused(returncode, output, failure_message(output), spec["fragment"])
    assert_unchanged(files, snapshot(directory))
    assert stand_in_state(zoho) == at_zoho
    assert_no_secret_in(creds, output)


# ---- the role, run by `ansible-playbook` -----------------------------------------------------------

PREFLIGHT_CASES = [
    pytest.param({"zoho_crm_scopes": ["ZohoCRM.modules.deals.ALL"]}, (), "zoho_crm_allow_write_scopes",
                 id="role-write-scope"),
    pytest.param({"zoho_crm_scopes": ["deals.read"]}, (), "malformed entries", id="role-unknown-scope"),
    pytest.param({"zoho_crm_accounts_url": "http://accounts.zoho.com"}, (), "plain http only on loopback",
                 id="role-plain-http-accounts-server"),
    pytest.param({}, ("-e", "zoho_crm_auth_code=hello world"), "neither a grant code", id="role-malformed-code"),
]


def test_role_mistyped_data_center(tally_one, json_results, zoho, tmp_path):
    """The one message here that is Ansible's, not ours: meta/argument_specs.yml lists the data
    centers as choices (the README's variable table comes from it), so ansible-core's argument
    validation refuses "ue" before the role's preflight runs. Its message names the variable, the
    bad value and every valid one (the fix), on the line after its "Validation of arguments failed:"."""
    playbooks = Playbooks(zoho, tmp_path)
    playbooks.write_inventory(zoho_crm_data_center="ue")

    returncode, output = playbooks.run("provision.yml", check=False, verbosity=1)

    assert returncode != 0 and "Traceback" not in output
    assert failure_message(output).splitlines() == [
        "Validation of arguments failed:",
        "value of zoho_crm_data_center must be one of: us, eu, in, au, jp, ca, sa, cn, uk, got: ue"]
    assert recap(output)["changed"] == 0
    assert not playbooks.home.exists()
    assert sum(zoho.counters()["token"].values()) == 0


@pytest.fixture
def json_results(monkeypatch):
    """Failed tasks' results as JSON, so the operator's msg can be read back exactly."""
    monkeypatch.setenv("ANSIBLE_CALLBACK_RESULT_FORMAT", "json")


@pytest.mark.parametrize("overrides, extra_args, fragment", PREFLIGHT_CASES)
def test_role_preflight(overrides, extra_args, fragment, tally, json_results, zoho, tmp_path):
    playbooks = Playbooks(zoho, tmp_path)
    playbooks.write_inventory(**overrides)
    at_zoho = stand_in_state(zoho)

    returncode, output = playbooks.run("provision.yml", *extra_args, check=False, verbosity=1)

    assert_refused(returncode, output, failure_message(output), fragment)
    assert recap(output)["changed"] == 0
    assert not playbooks.home.exists()
    assert stand_in_state(zoho) == at_zoho


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory):
    """One provisioned host for the cases that need tokens in place."""
    yield from provisioned_host(tmp_path_factory.mktemp("provisioned"))


@pytest.fixture
def rotatable(provisioned):
    """The provisioned host with the right inventory again after each case."""
    right_secret = provisioned.client_secret
    yield provisioned
    provisioned.client_secret = right_secret
    provisioned.write_inventory()


def wrong_client_secret(playbooks):
    playbooks.client_secret = "a-secret-zoho-does-not-know-0000000000"
    playbooks.write_inventory()
    return ()


def reused_code(playbooks):
    code = playbooks.code()
    client = oauth.ClientConfig.load(str(playbooks.client_secret_path))
    oauth.exchange_code(client, oauth.parse_authorization_response(code))
    return ("-e", "zoho_crm_auth_code=%s" % code)


def redirect_with_wrong_state(playbooks):
    client = oauth.ClientConfig.load(str(playbooks.client_secret_path))
    location = playbooks.zoho.authorize(oauth.authorization_url(client, "forged-state"))
    return ("-e", "zoho_crm_auth_code=%s" % location)


ROTATE_CASES = [
    pytest.param(wrong_client_secret, "(invalid_client_secret)", id="rotate-wrong-client-secret"),
    pytest.param(reused_code, "(invalid_code)", id="rotate-reused-code"),
    pytest.param(redirect_with_wrong_state, "state does not match", id="rotate-redirect-with-wrong-state"),
]


@pytest.mark.parametrize("prepare, fragment", ROTATE_CASES)
def test_role_rotate(prepare, fragment, tally, json_results, rotatable):
    provisioned = rotatable
    extra_args = prepare(provisioned)
    files, cron = snapshot(provisioned.home), provisioned.cron_file.read_bytes()
    at_zoho = stand_in_state(provisioned.zoho)

    returncode, output = provisioned.run("rotate.yml", *extra_args, check=False, verbosity=1)

    assert_refused(returncode, output, failure_message(output), fragment)
    assert_unchanged(files, snapshot(provisioned.home))  # the candidate secret file came and went
    assert provisioned.cron_file.read_bytes() == cron
    assert stand_in_state(provisioned.zoho) == at_zoho
    leaked = [s[:8] for s in provisioned.zoho.secret_values() | {provisioned.client_secret} if s in output]
    assert not leaked


# ---- the figures ------------------------------------------------------------------------------------

def test_bad_input_figures(figure):
    """Last in the file: how many cases ran here and how many failed."""
    failures = sorted(case_id for case_id, passed in outcomes.items() if not passed)
    figure("bad_input_cases", len(outcomes), goal=">= 25")
    figure("bad_input_failures", len(failures), goal=0)
    assert len(outcomes) >= 25
    assert not failures, failures

"""What a VPS's python3 needs: 3.9 syntax, the standard library for the OAuth scripts, the guide's
layout (<home>/workspace/tools finds <home>/credentials), and no traceback ever."""

import ast
import shutil
import subprocess
import sys

import pytest

import zoho_crm_oauth as oauth

from tool_harness import TOOLS_DIR, tool_environment

TOOLS = sorted(path.name for path in TOOLS_DIR.glob("*.py"))
STDLIB_TOOLS = ("zoho-crm-oauth-init.py", "zoho-crm-oauth-exchange.py", "zoho-crm-refresh-token.py")


@pytest.mark.parametrize("name", TOOLS)
def test_parses_as_python_3_9(name):
    ast.parse((TOOLS_DIR / name).read_text(), filename=name, feature_version=(3, 8))


def test_the_oauth_module_next_to_the_tools_is_the_module_utils_one():
    deployed = TOOLS_DIR / "zoho_crm_oauth.py"
    assert deployed.is_symlink()
    assert deployed.read_bytes() == (TOOLS_DIR.parents[3] / "module_utils" / "zoho_crm_oauth.py").read_bytes()


@pytest.mark.parametrize("name", STDLIB_TOOLS)
def test_oauth_scripts_need_no_requests(name, tmp_path):
    poisoned = tmp_path / "requests"
    poisoned.mkdir()
    (poisoned / "__init__.py").write_text("raise ImportError('requests must not be needed here')\n")
    completed = subprocess.run([sys.executable, str(TOOLS_DIR / name), "--help"], capture_output=True, text=True,
                               env=tool_environment(PYTHONPATH=str(tmp_path)), timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert "usage:" in completed.stdout


@pytest.fixture
def home(tmp_path, authorized):
    """The deployed layout: <home>/workspace/tools with the tools, <home>/credentials with the files."""
    home = tmp_path / "home"
    shutil.copytree(str(TOOLS_DIR), str(home / "workspace" / "tools"))  # follows the symlink
    authorized.directory.rename(home / "credentials")
    return home


def run_in_workspace(home, tool, **env):
    return subprocess.run([sys.executable, "tools/" + tool], cwd=str(home / "workspace"), capture_output=True,
                          text=True, env=tool_environment(**env), timeout=60)


def test_tools_find_the_credentials_from_their_own_location(home):
    completed = run_in_workspace(home, "zoho-crm-test.py")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.endswith("✓ Test successful! Zoho CRM API is working.\n")


def test_openclaw_state_dir_and_the_explicit_variable_override_the_location(home, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (home / "credentials").rename(state / "credentials")
    assert run_in_workspace(home, "zoho-crm-test.py").returncode == oauth.EXIT_CONFIG
    assert run_in_workspace(home, "zoho-crm-test.py", OPENCLAW_STATE_DIR=str(state)).returncode == 0
    # The explicit directory wins over OPENCLAW_STATE_DIR.
    wrong = run_in_workspace(home, "zoho-crm-test.py", OPENCLAW_STATE_DIR=str(state),
                             ZOHO_CRM_CREDENTIALS_DIR=str(tmp_path / "nowhere"))
    assert wrong.returncode == oauth.EXIT_CONFIG
    assert str(tmp_path / "nowhere") in wrong.stderr


def test_unexpected_failures_are_one_line_without_traceback(capsys):
    def main(argv):
        return {}["boom"]

    status = oauth.run_tool(main)

    err = capsys.readouterr().err
    assert status == oauth.EXIT_FAILED
    assert err.startswith("Error: unexpected KeyError at test_portability.py:")
    assert "Traceback" not in err and "boom" not in err  # the message itself could hold a secret


def test_os_errors_and_interrupts_are_one_line(capsys):
    def denied(argv):
        raise PermissionError(13, "Permission denied", "/home/node/.openclaw/credentials/zoho-crm-tokens.json")

    def interrupted(argv):
        raise KeyboardInterrupt

    assert oauth.run_tool(denied) == oauth.EXIT_CONFIG
    assert capsys.readouterr().err.startswith("Error: [Errno 13] Permission denied:")
    assert oauth.run_tool(interrupted) == 130
    assert capsys.readouterr().err == "Interrupted.\n"


@pytest.mark.parametrize("error, status", [
    (oauth.TransportError("x"), oauth.EXIT_RETRY_LATER),
    (oauth.RateLimitError("x"), oauth.EXIT_RETRY_LATER),
    (oauth.TokenThrottledError("x"), oauth.EXIT_RETRY_LATER),
    (oauth.InvalidCodeError("x"), oauth.EXIT_REAUTHORIZE),
    (oauth.ScopeMismatchError("x"), oauth.EXIT_REAUTHORIZE),
    (oauth.AuthorizationError("x"), oauth.EXIT_REAUTHORIZE),
    (oauth.InvalidClientError("x"), oauth.EXIT_CONFIG),
    (oauth.TokenFileError("x"), oauth.EXIT_CONFIG),
    (oauth.PermissionDeniedError("x"), oauth.EXIT_FAILED),
    (oauth.ApiError("x"), oauth.EXIT_FAILED),
])
def test_exit_status_per_error_kind(error, status):
    assert oauth.exit_status(error) == status


def test_the_leak_check_finds_a_leaked_value(authorized):
    """The check every test runs on the tools' output must be able to fail."""
    record = authorized.tokens()
    for secret in (record["access_token"], record["refresh_token"], authorized.client().client_secret):
        with pytest.raises(AssertionError, match="leaked"):
            authorized.assert_no_secret_in("output ... %s ..." % secret)
    authorized.assert_no_secret_in("output with %s only" % oauth.mask(record["refresh_token"]))

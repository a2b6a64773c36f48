"""What a VPS's or OpenClaw's python3 needs: 3.9 syntax, the standard library alone (no tool imports
requests, and they run on python3 3.9 to 3.13 without it), the guide's layout (<home>/workspace/tools
finds <home>/credentials), and no traceback ever."""

import ast
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

import zoho_crm_oauth as oauth
import zoho_crm_tools as tools

from tool_harness import TOOLS_DIR, tool_environment

TOOLS = sorted(path.name for path in TOOLS_DIR.glob("*.py"))
SCRIPTS = sorted(name for name in TOOLS if "-" in name)


def runs(python):
    return bool(python) and subprocess.run([python, "-c", "pass"], capture_output=True, timeout=60).returncode == 0


def interpreters():
    """Pythons on this machine other than the test's: Debian's, and pyenv's 3.9 and 3.13 when present."""
    found = {}
    for version in ("3.9", "3.13"):
        candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s" % (version, version))))
        found[version] = next((path for path in candidates + [shutil.which("python" + version)] if runs(path)), None)
    found["debian"] = "/usr/bin/python3" if runs("/usr/bin/python3") else None
    return [pytest.param(path, id=name, marks=pytest.mark.skipif(path is None, reason="no python%s here" % name))
            for name, path in sorted(found.items())]


@pytest.mark.parametrize("name", TOOLS)
def test_parses_as_python_3_9(name):
    ast.parse((TOOLS_DIR / name).read_text(), filename=name, feature_version=(3, 9))


def test_the_oauth_module_next_to_the_tools_is_the_module_utils_one():
    deployed = TOOLS_DIR / "zoho_crm_oauth.py"
    assert deployed.is_symlink()
    assert deployed.read_bytes() == (TOOLS_DIR.parents[3] / "module_utils" / "zoho_crm_oauth.py").read_bytes()


IMPORTS_OF_EVERY_TOOL = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
from zoho_crm_client import ZohoCRMClient
for index, path in enumerate(sys.argv[3:]):
    spec = importlib.util.spec_from_file_location("tool_%d" % index, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
crm = ZohoCRMClient()
deal = crm.get_deal(sys.argv[2])
crm.access_token()
print(json.dumps({"deal": deal["Deal_Name"], "modules": sorted(sys.modules)}))
"""


def test_no_tool_imports_requests_even_where_it_is_installed(authorized):
    """This python has requests: importing every tool and making a call must still not load it."""
    completed = subprocess.run(
        [sys.executable, "-c", IMPORTS_OF_EVERY_TOOL, str(TOOLS_DIR), authorized.zoho.org.deals.id(0)]
        + [str(TOOLS_DIR / name) for name in TOOLS], capture_output=True, text=True, timeout=60,
        env=dict(tool_environment(ZOHO_CRM_CREDENTIALS_DIR=str(authorized.directory)), PYTHONPATH=""))
    assert completed.returncode == 0, completed.stderr
    loaded = json.loads(completed.stdout)
    assert loaded["deal"] == "Oakland School District - Grant Funded"
    assert "zoho_crm_client" in loaded["modules"] and "http.client" in loaded["modules"]
    assert [name for name in loaded["modules"] if name.split(".")[0] in ("requests", "urllib3")] == []


def test_the_harness_makes_requests_unimportable(authorized):
    """The check the other tests rely on: here and in the tools they start, import requests fails."""
    with pytest.raises(ImportError, match="standard library alone"):
        import requests  # noqa: F401
    completed = authorized.run("zoho-crm.py", "doctor")  # any tool: its environment is the harness's
    assert completed.returncode == 0, completed.stderr
    probe = subprocess.run([sys.executable, "-c", "import requests"], capture_output=True, text=True,
                           env=authorized.environment(), timeout=60)
    assert probe.returncode == 1 and "standard library alone" in probe.stderr


@pytest.mark.parametrize("python", interpreters())
def test_the_tools_run_on_each_python_without_requests(authorized, python):
    def run(*args):
        completed = subprocess.run([python, str(TOOLS_DIR / args[0])] + list(args[1:]), capture_output=True,
                                   text=True, env=authorized.environment(), timeout=120)
        authorized.outputs.append(completed.stdout + completed.stderr)
        return completed

    assert subprocess.run([python, "-c", "import requests"], capture_output=True, env=authorized.environment(),
                          timeout=60).returncode == 1
    authorized.expire_access_token()
    deal = run("zoho-crm.py", "--json", "deals", "get", authorized.zoho.org.deals.id(0))
    assert deal.returncode == 0, deal.stderr
    assert json.loads(deal.stdout)["deal"]["Deal_Name"] == "Oakland School District - Grant Funded"
    assert authorized.zoho.counters()["token"]["refresh_token"] == 1
    questions = {("deals", "find", "oakland"): "deals", ("deals", "changed", "--since", "2026-01-01"): "deals",
                 ("deals", "pipeline"): "stages"}
    for question, key in questions.items():
        answered = run("zoho-crm.py", "--json", *question)
        assert answered.returncode == 0, answered.stderr
        assert json.loads(answered.stdout)[key], question
    refresh = run("zoho-crm-refresh-token.py", "--force")
    assert refresh.returncode == 0 and "refreshed the access token" in refresh.stdout, refresh.stderr
    assert run("zoho-crm-test.py").stdout.endswith("✓ Test successful! Zoho CRM API is working.\n")
    assert "Zoho CRM OAuth Authorization URL:" in run("zoho-crm-oauth-init.py").stdout


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_answers_help(name):
    completed = subprocess.run([sys.executable, str(TOOLS_DIR / name), "--help"], capture_output=True, text=True,
                               env=tool_environment(), timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert "usage:" in completed.stdout


def test_credentials_dir_precedence(monkeypatch):
    monkeypatch.delenv("ZOHO_CRM_CREDENTIALS_DIR", raising=False)
    monkeypatch.delenv("OPENCLAW_STATE_DIR", raising=False)
    # From the file's place: <home>/workspace/tools/zoho_crm_tools.py -> <home>/credentials
    assert tools.credentials_dir() == str(TOOLS_DIR.parents[1] / "credentials")
    monkeypatch.setenv("OPENCLAW_STATE_DIR", "/srv/state")
    assert tools.credentials_dir() == "/srv/state/credentials"
    monkeypatch.setenv("ZOHO_CRM_CREDENTIALS_DIR", "/srv/creds")
    assert tools.credentials_dir() == "/srv/creds"


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

    status = tools.run_tool(main)

    err = capsys.readouterr().err
    assert status == oauth.EXIT_FAILED
    assert err.startswith("Error: unexpected KeyError at test_portability.py:")
    assert "Traceback" not in err and "boom" not in err  # the message itself could hold a secret


def test_an_interrupt_is_one_line(capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    assert tools.run_tool(interrupted) == 130
    assert capsys.readouterr().err == "Interrupted.\n"


def test_the_leak_check_finds_a_leaked_value(authorized):
    """The check every test runs on the tools' output must be able to fail."""
    record = authorized.tokens()
    for secret in (record["access_token"], record["refresh_token"], authorized.client().client_secret):
        with pytest.raises(AssertionError, match="leaked"):
            authorized.assert_no_secret_in("output ... %s ..." % secret)
    authorized.assert_no_secret_in("output with %s only" % oauth.mask(record["refresh_token"]))

"""zoho_crm_refresher_separate on a plain host, for real: root runs the playbooks for a throwaway
unprivileged agent user. Switching an authorized host in moves the tokens to root's directory (no
new authorization, no mint, the same refresh token), once; the agent's tools work from its copy of
the token file; root's cron line refreshes it; rotate.yml and revoke.yml work; as the agent's uid,
no file it can read on this machine holds the refresh token or the client secret; switching out
moves everything back, once.

The tests of this file run in order on one host (each needs the state the one before left).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import zoho_crm_oauth as oauth
from playbook_harness import Playbooks, mode, recap, throwaway_user
from zoho_sandbox import Sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="root-owned refresher files and another user need root")

AGENT = "zohosepagent"
SEARCH_SCRIPT = Path(__file__).resolve().parent / "readable_secrets.py"
# The agent's tools run on the system's python3 (the test venv, under /root, is out of the agent's reach).
AGENT_ENV = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
state = {}


@pytest.fixture(scope="module")
def agent_uid():
    with throwaway_user(AGENT) as uid:
        yield uid


class Host(Playbooks):
    """A host whose agent is AGENT; its inventory (which holds the client secret, standing in for the
    vault) is root's alone."""

    def write_hosts(self, hosts):
        super().write_hosts(hosts)
        self.inventory.chmod(0o600)

    def write_inventory(self, **overrides):
        overrides = dict(dict(ansible_become=True, ansible_become_method="su", ansible_python_interpreter="/usr/bin/python3",
                              zoho_crm_user=AGENT, zoho_crm_group=AGENT, zoho_crm_verify_enabled=False,
                              zoho_crm_refresher_dir=str(self.refresher_dir)), **overrides)
        super().write_inventory(**overrides)

    @property
    def refresher_dir(self):
        return self.home.parent.parent / "var-lib-zoho-crm" / AGENT

    @property
    def store_path(self):
        return self.refresher_dir / oauth.TOKENS_FILENAME

    def store(self):
        return json.loads(self.store_path.read_text())

    def agent_tool(self, uid, script, *args):
        return subprocess.run(["/usr/bin/python3", f"tools/{script}", *args], cwd=self.workspace, capture_output=True,
                              text=True, timeout=120, user=uid, group=uid, extra_groups=[], env=AGENT_ENV)

    def cron_job(self):
        """The command of the cron file's line and the user it runs as."""
        line = [line for line in self.cron_file.read_text().splitlines() if not line.startswith("#")][0]
        match = re.match(r"^\S+ \* \* \* \* (\S+) (.*)$", line)
        return match.group(1), match.group(2)


@pytest.fixture(scope="module")
def host(agent_uid):
    zoho = Sandbox().start()
    root = Path(tempfile.mkdtemp(prefix="zoho-refresher-"))
    root.chmod(0o755)  # the agent must reach its home below
    host = Host(zoho, root)
    host.write_inventory()
    yield host
    zoho.stop()
    shutil.rmtree(root)


def mints(zoho):
    return zoho.counters()["token"]["refresh_token"]


def authorizations(zoho):
    counters = zoho.counters()["token"]
    return counters["authorization_code"] + counters.get("device_token", 0)


def assert_agent_copy(host, uid):
    """The agent's token file: its own, 0600, the store's access token and nothing that mints one."""
    info = os.stat(host.token_path)
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (uid, uid, 0o600)
    copy = host.tokens()
    assert "refresh_token" not in copy and "client_id" not in copy and "code_sha256" not in copy
    assert copy["access_token"] == host.store()["access_token"]
    assert copy["refresher_dir"] == str(host.refresher_dir)


def test_switching_in_moves_the_tokens_once_with_no_authorization_and_no_mint(host, agent_uid):
    host.provision()
    refresh_token = host.tokens()["refresh_token"]
    before = (mints(host.zoho), authorizations(host.zoho))
    host.write_inventory(zoho_crm_refresher_separate=True)

    _, switched = host.run("provision.yml", "--diff", verbosity=4)  # searched for secrets at the end
    _, again = host.run("provision.yml")

    assert recap(switched)["changed"] > 0 and recap(again)["changed"] == 0, again
    assert (mints(host.zoho), authorizations(host.zoho)) == before
    assert host.store()["refresh_token"] == refresh_token
    for path in (host.refresher_dir, host.refresher_dir / "tools"):
        assert (os.stat(path).st_uid, mode(path)) == (0, 0o700)
    for path in (host.store_path, host.refresher_dir / oauth.CLIENT_SECRET_FILENAME):
        assert (os.stat(path).st_uid, mode(path)) == (0, 0o600)
    assert not host.client_secret_path.exists()
    assert_agent_copy(host, agent_uid)
    user, job = host.cron_job()
    assert user == "root" and job.startswith(f"python3 -E -s {host.refresher_dir}/tools/zoho-crm-refresh-token.py ")
    assert f"--agent-token-file {host.token_path}" in job
    state["refresh_token"] = refresh_token


def test_the_agents_test_tool_and_cli_work_from_its_copy_alone(host, agent_uid):
    minted = mints(host.zoho)
    test = host.agent_tool(agent_uid, "zoho-crm-test.py")
    assert test.returncode == 0, test.stderr
    assert "✓ Test successful! Zoho CRM API is working." in test.stdout
    deals = host.agent_tool(agent_uid, "zoho-crm.py", "deals", "list", "--limit", "3", "--json")
    assert deals.returncode == 0, deals.stderr
    assert len(json.loads(deals.stdout)["deals"]) == 3
    assert mints(host.zoho) == minted


def test_the_agent_cannot_read_the_refreshers_files_or_run_its_refresh(host, agent_uid):
    for path in (host.store_path, host.refresher_dir / oauth.CLIENT_SECRET_FILENAME):
        read = subprocess.run(["/bin/cat", str(path)], capture_output=True, user=agent_uid, group=agent_uid,
                              extra_groups=[])
        assert read.returncode != 0 and b"Permission denied" in read.stderr
    refresh = host.agent_tool(agent_uid, "zoho-crm-refresh-token.py", "--force")
    assert refresh.returncode == oauth.EXIT_CONFIG, refresh.stdout
    assert "only the refresher can refresh them. Fix: as root, run python3 %s/tools/" % host.refresher_dir \
        in refresh.stdout


def test_roots_cron_line_refreshes_the_agents_copy(host, agent_uid):
    user, job = host.cron_job()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin")
    unchanged = host.token_path.read_bytes()
    subprocess.run(["/bin/sh", "-c", job], check=True, env=env, timeout=120)
    assert host.token_path.read_bytes() == unchanged  # still fresh: nothing minted, nothing written
    with oauth.TokenFile(str(host.store_path)).locked() as locked:  # an hour later, as far as the files know
        locked.write(oauth.TokenRecord.from_json(dict(host.store(), expires_at=oauth.format_time(time.time() + 600)),
                                                 str(host.store_path)))
    minted = mints(host.zoho)
    subprocess.run(["/bin/sh", "-c", job], check=True, env=env, timeout=120)
    assert mints(host.zoho) == minted + 1
    assert host.store()["refresh_token"] == state["refresh_token"]
    assert_agent_copy(host, agent_uid)
    state["refresher_log"] = (host.refresher_dir / oauth.REFRESHER_LOG_FILENAME).read_text()
    assert "refreshed the access token" in state["refresher_log"]


def test_no_file_the_agent_can_read_holds_the_refresh_token_or_the_client_secret(host, agent_uid, tmp_path):
    """The whole filesystem but /proc and /sys, as the agent's uid; with a negative control: a
    refresh token planted in a file of the agent's, which the search must find, and nothing else."""
    never_readable = {state["refresh_token"], host.client_secret}
    planted = host.workspace / "notes-from-a-web-page.txt"
    planted.write_text("an agent was talked into saving %s here\n" % state["refresh_token"])
    os.chown(planted, agent_uid, agent_uid)
    access_token = host.tokens()["access_token"]
    try:
        found = search_as(agent_uid, sorted(never_readable | {access_token}))
    finally:
        planted.unlink()
    assert found["files"] > 1000, found  # it did search the machine
    assert found["hits"][state["refresh_token"]] == [str(planted)], found
    assert found["hits"][host.client_secret] == [], found
    assert found["hits"][access_token] == [str(host.token_path)], found
    validity = oauth.parse_time(host.tokens()["expires_at"]) - time.time()
    # RELIABILITY.md's figure: the longest remaining validity of any secret the agent can read.
    print("\nagent-readable secrets: refresh tokens 0, client secrets 0; longest validity %d s (the access token); "
          "%d files (%d bytes) searched, %d larger than the bound, %d unreadable" % (
              validity, found["files"], found["bytes"], found["skipped_large"], found["unreadable"]))
    assert validity <= 3600


def search_as(uid, secrets):
    """readable_secrets.py as uid: {"files", "bytes", "skipped_large", "unreadable", "hits": {secret: [paths]}}.
    The secrets go on stdin, never in a command line."""
    completed = subprocess.run(["/usr/bin/python3", str(SEARCH_SCRIPT), "/"], input=json.dumps(secrets),
                               capture_output=True, text=True, timeout=900, user=uid, group=uid, extra_groups=[],
                               env=AGENT_ENV, cwd="/")
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_rotate_and_revoke_work_in_the_mode(host, agent_uid):
    host.client_secret = host.zoho.rotate_client_secret()
    host.write_inventory(zoho_crm_refresher_separate=True)
    old_access = host.tokens()["access_token"]
    _, rotated = host.run("rotate.yml")
    _, again = host.run("rotate.yml")
    assert recap(rotated)["changed"] > 0 and recap(again)["changed"] == 0
    assert json.loads((host.refresher_dir / oauth.CLIENT_SECRET_FILENAME).read_text())["client_secret"] == \
        host.client_secret
    assert host.tokens()["access_token"] != old_access  # the proof's refresh reached the agent's copy
    assert_agent_copy(host, agent_uid)

    host.run("rotate.yml", "-e", f"zoho_crm_auth_code={host.code()}")
    assert host.store()["refresh_token"] != state["refresh_token"]
    assert_agent_copy(host, agent_uid)
    state["refresh_token"] = host.store()["refresh_token"]
    assert not host.client_secret_path.exists()


def test_switching_out_moves_the_tokens_back_once(host, agent_uid):
    before = (mints(host.zoho), authorizations(host.zoho))
    host.write_inventory(zoho_crm_refresher_separate=False)
    _, switched = host.run("provision.yml")
    _, again = host.run("provision.yml")
    assert recap(switched)["changed"] > 0 and recap(again)["changed"] == 0, again
    assert (mints(host.zoho), authorizations(host.zoho)) == before
    tokens = host.tokens()
    assert tokens["refresh_token"] == state["refresh_token"] and "refresher_dir" not in tokens
    assert os.stat(host.token_path).st_uid == agent_uid and os.stat(host.client_secret_path).st_uid == agent_uid
    assert not host.refresher_dir.exists()
    assert host.cron_job()[0] == AGENT
    test = host.agent_tool(agent_uid, "zoho-crm-test.py")
    assert test.returncode == 0, test.stderr


def test_revoke_in_the_mode_leaves_nothing(host, agent_uid):
    host.write_inventory(zoho_crm_refresher_separate=True)
    host.run("provision.yml")
    _, revoked = host.run("revoke.yml")
    _, again = host.run("revoke.yml")
    assert recap(revoked)["changed"] > 0 and recap(again)["changed"] == 0
    assert not host.token_path.exists() and not host.refresher_dir.exists()
    assert host.zoho.live_tokens()[host.zoho.client["client_id"]]["refresh_tokens"] == 0
    assert not host.cron_file.exists() or "zoho-crm-refresh-token.py" not in host.cron_file.read_text()


def test_no_output_or_log_holds_a_secret(host):
    """Every playbook output of this file (the switch in at -vvvv --diff) and the refresher's log,
    against every secret the stand-in issued."""
    secrets = {value for value in host.zoho.secret_values() if value}
    texts = host.outputs + [state["refresher_log"]]
    assert len(secrets) > 5 and len(texts) > 8
    for text in texts:
        leaked = [secret[:8] for secret in secrets if secret in text]
        assert not leaked, "secret(s) starting %s leaked into: %s" % (leaked, text[:300])

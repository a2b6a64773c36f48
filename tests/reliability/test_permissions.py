"""Permissions: after provision, rotate and revoke, run as root for a throwaway non-root agent user
under a umask of 000, the agent's directories are 0700, its secret files 0600, everything is the
agent's, and nothing is group- or world-writable; a loosened mode or a foreign owner is repaired by
the next provision run (reported changed, then changed=0); the tools keep 0600 under umask 000.

Root runs ansible-playbook here and becomes the agent with su (the throwaway user has a shell; the
usual `nobody` has none, so su cannot become it). That user cannot reach the test venv's python
(under /root), which is the first python3 on this PATH, so modules run on the system python3 and the
role's verify step is off: it runs `python3 tools/zoho-crm.py doctor` with the PATH's python3. The
role's tests run verify as the invoking user.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import zoho_crm_oauth as oauth
from playbook_harness import throwaway_user
from reliability_harness import Playbooks, recap
from zoho_sandbox import Sandbox

AGENT = "zohorelagent"
SECRET_FILES = (oauth.CLIENT_SECRET_FILENAME, oauth.TOKENS_FILENAME, oauth.TOKENS_FILENAME + ".lock")

checks = {"count": 0, "violations": [], "drift_repaired": 0}


@contextlib.contextmanager
def umask(value):
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def violations_under(home, uid, record=True):
    """Every way the tree under home departs from the rule; counts each check made (record=False:
    a look at a deliberately drifted tree, not a check of the product)."""
    found = []

    def check(ok, path, what):
        checks["count"] += record
        if not ok:
            found.append("%s: %s" % (path, what))

    for path in [home, *home.rglob("*")]:
        info = path.lstat()
        mode = info.st_mode & 0o7777
        check(info.st_uid == uid and info.st_gid == uid, path, "owner %d:%d" % (info.st_uid, info.st_gid))
        check(not mode & 0o022, path, "group/world-writable %04o" % mode)
        relative = path.relative_to(home)
        if relative.parts[:1] in (("credentials",), ("logs",)) or path == home:
            expected = 0o700 if path.is_dir() else 0o600
            check(mode == expected, path, "mode %04o, expected %04o" % (mode, expected))
    for name in SECRET_FILES:
        path = home / "credentials" / name
        if path.exists():
            check(path.stat().st_mode & 0o777 == 0o600, path, "secret file not 0600")
    if record:
        checks["violations"] += found
    return found


@pytest.fixture(scope="module")
def agent_uid():
    with throwaway_user(AGENT) as uid:
        yield uid


def write_agent_inventory(playbooks):
    playbooks.write_inventory(ansible_become=True, ansible_become_method="su",
                              ansible_python_interpreter="/usr/bin/python3", zoho_crm_user=AGENT,
                              zoho_crm_group=AGENT, zoho_crm_verify_enabled=False)


@pytest.fixture(scope="module")
def host(agent_uid):
    """A host provisioned under umask 000 for the agent user, in a directory that user can reach."""
    zoho = Sandbox().start()
    root = Path(tempfile.mkdtemp(prefix="zoho-permissions-"))
    root.chmod(0o755)
    playbooks = Playbooks(zoho, root)
    write_agent_inventory(playbooks)
    with umask(0o000):
        playbooks.provision()
    yield playbooks
    zoho.stop()
    shutil.rmtree(root)


def test_provision_under_umask_000_for_another_user(host, agent_uid):
    assert host.token_path.exists()
    assert violations_under(host.home, agent_uid) == []


DRIFTS = {
    "token file chmod 644": lambda host: host.token_path.chmod(0o644),
    "client-secret file chmod 644": lambda host: host.client_secret_path.chmod(0o644),
    "token file chown root": lambda host: os.chown(host.token_path, 0, 0),
    "credentials dir chmod 755": lambda host: host.credentials.chmod(0o755),
    "logs dir chmod 777": lambda host: (host.home / "logs").chmod(0o777),
}


def test_drift_is_repaired_and_reported(host, agent_uid):
    """All five drifts at once (one repair run instead of five): each is seen, each is repaired,
    the repair is reported as changed, and the next run changes nothing."""
    seen = []
    for name, drift in DRIFTS.items():
        drift(host)
        before, seen = seen, violations_under(host.home, agent_uid, record=False)
        assert len(seen) > len(before), name  # the check sees this drift
    with umask(0o000):
        _, repair = host.run("provision.yml")
        _, again = host.run("provision.yml")
    assert recap(repair)["changed"] >= 3  # token file (mode and owner), client-secret file, the directories
    assert recap(again)["changed"] == 0
    assert violations_under(host.home, agent_uid) == []
    checks["drift_repaired"] += len(DRIFTS)


def test_rotate_both_ways_under_umask_000(host, agent_uid):
    host.client_secret = host.zoho.rotate_client_secret()
    write_agent_inventory(host)
    refresh_token = host.tokens()["refresh_token"]
    with umask(0o000):
        _, secret_rotation = host.run("rotate.yml")
    assert recap(secret_rotation)["changed"] >= 1
    assert violations_under(host.home, agent_uid) == []
    with umask(0o000):
        host.run("rotate.yml", "-e", "zoho_crm_auth_code=%s" % host.code())
    assert host.tokens()["refresh_token"] != refresh_token
    assert violations_under(host.home, agent_uid) == []


def test_tools_under_umask_000_write_private_files(host, agent_uid):
    """The cron refresh, run by the agent under umask 000: the token file stays 0600, the lock and
    the log are not widened."""
    log = host.home / "logs" / "zoho-crm-token-refresh.log"
    command = ["/usr/bin/python3", "tools/zoho-crm-refresh-token.py", "--force", "--log-file", str(log)]
    completed = subprocess.run(command, cwd=host.workspace, capture_output=True, text=True, timeout=120,
                               user=agent_uid, group=agent_uid, extra_groups=[], umask=0o000,
                               env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert completed.returncode == 0, completed.stderr
    assert "refreshed the access token" in log.read_text()
    assert violations_under(host.home, agent_uid) == []
    assert log.stat().st_mode & 0o077 == 0, "the log is %04o" % (log.stat().st_mode & 0o777)


def test_revoke_leaves_nothing_widened(host, agent_uid):
    with umask(0o000):
        host.run("revoke.yml")
    assert not host.token_path.exists() and not host.client_secret_path.exists()
    assert violations_under(host.home, agent_uid) == []


def test_permission_figures(figure):
    """Last in the file."""
    figure("permission_checks", checks["count"])
    figure("permission_violations", len(checks["violations"]), goal=0)
    figure("drift_cases_repaired", checks["drift_repaired"], goal=5)
    assert checks["count"] > 100
    assert checks["violations"] == []

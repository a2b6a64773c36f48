"""The role's Docker mode (zoho_crm_docker_container) on the test bed's real engine: the playbooks run
on this host (the host has no user named node), the agent's tools run where the agent runs them,
inside its container as node from its workspace, and the refresh runs as host cron runs it. Docker mode's default is a separate refresher (the refresh
token and the client secret in a host directory outside the container's mounts): tests that are about
the agent refreshing for itself say zoho_crm_refresher_separate: false."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import zoho_crm_oauth as oauth
from docker_harness import (AGENT_GID, AGENT_UID, GATEWAY_SERVICE, STATE_COPY, STATE_DIR, WORKSPACE_DIR, agent_owned_dir,
                            snapshot)

ROLE_TESTS = Path(__file__).resolve().parents[1] / "role"
if str(ROLE_TESTS) not in sys.path:
    sys.path.insert(0, str(ROLE_TESTS))

from playbook_harness import Playbooks, mode, one_line_failure, recap  # noqa: E402
from zoho_sandbox import Sandbox  # noqa: E402

OAKLAND = "Oakland School District - Grant Funded"
GUIDE_SUCCESS_LINES = ("✓ Test successful! Zoho CRM API is working.",
                       "Deal #1: Oakland School District - Grant Funded - Stage: Qualification")
# The environment cron gives a job of /etc/cron.d (Debian's cron: PATH, SHELL, HOME and LOGNAME).
CRON_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", "HOME": "/root", "LOGNAME": "root"}
AGENTS = 8
# Searches every file the agent's uid can read for secrets (the host-mode tests use it too).
SEARCH_SCRIPT = ROLE_TESTS / "readable_secrets.py"


def make_host_dir():
    """A directory of this host that uid 1000 may enter, as /srv is (pytest's own tmp_path is in
    root's 0700 basetemp)."""
    base = Path(tempfile.mkdtemp(prefix="zoho-crm-docker-", dir="/var/tmp"))
    base.chmod(0o755)
    return base


@pytest.fixture
def host_dir():
    """make_host_dir(), removed after the test."""
    base = make_host_dir()
    yield base
    shutil.rmtree(base)


class DockerPlaybooks(Playbooks):
    """The playbooks against this host in Docker mode: zoho_crm_home is the container's state
    directory, the agent's container is named, and home is its host side."""

    def __init__(self, zoho, tmp_path, engine, container, **overrides):
        self.container = container
        # The refresher's directory (root's, outside the container's mounts) of this test alone.
        self.refresher_dir = Path(tmp_path) / "var-lib-zoho-crm" / container.name
        self.overrides = {"zoho_crm_home": STATE_DIR, "zoho_crm_docker_container": container.name,
                          "zoho_crm_refresher_dir": str(self.refresher_dir), **overrides}
        super().__init__(zoho, tmp_path, env={"DOCKER_HOST": engine.environ["DOCKER_HOST"]})
        self.home = container.config_dir

    @property
    def separate(self):
        """Whether the refresher is separate: Docker mode's default, unless the test says otherwise."""
        return self.overrides.get("zoho_crm_refresher_separate", True)

    @property
    def client_secret_path(self):
        if self.separate:
            return self.refresher_dir / oauth.CLIENT_SECRET_FILENAME
        return super().client_secret_path

    @property
    def store_path(self):
        """The token file that holds the refresh token: the refresher's, or the agent's own."""
        return self.refresher_dir / oauth.TOKENS_FILENAME if self.separate else self.token_path

    def store(self):
        return json.loads(self.store_path.read_text())

    def write_inventory(self, **overrides):
        super().write_inventory(**{**self.overrides, **overrides})

    @property
    def workspace(self):
        return self.container.workspace_dir or self.home / "workspace"

    def agent(self, script, *args, container=None, check=True):
        """A tool as the agent runs it: in its container, as node, from its workspace."""
        completed = (container or self.container).exec("python3", f"tools/{script}", *args, workdir=WORKSPACE_DIR,
                                                       check=False)
        self.outputs.append(completed.stdout + completed.stderr)
        if check:
            assert completed.returncode == 0, completed.stdout + completed.stderr
        return completed

    def cron_command(self):
        """The refresh's command, as the role wrote it into its /etc/cron.d-style file for root."""
        lines = [line for line in self.cron_file.read_text().splitlines() if line and not line.startswith("#")]
        assert len(lines) == 1, lines
        minute, hour, day, month, weekday, user, command = lines[0].split(None, 6)
        assert (minute, hour, day, month, weekday, user) == ("*/10", "*", "*", "*", "*", "root")
        return command

    def start_cron_job(self):
        """The refresh as cron starts it: /bin/sh -c COMMAND, as root, with cron's environment only."""
        return subprocess.Popen(["/bin/sh", "-c", self.cron_command()], env=CRON_ENVIRONMENT, cwd="/root",
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def docker_playbooks(zoho, tmp_path, docker_engine):
    """Factory: docker_playbooks(container, zoho=None, **host vars) -> DockerPlaybooks for it (with
    this test's stand-in, or ZOHO)."""
    made = []

    def make(container, zoho=zoho, **overrides):
        made.append(DockerPlaybooks(zoho, tmp_path / f"controller{len(made)}", docker_engine, container, **overrides))
        return made[-1]

    return make


def first_deal_id(playbooks, container=None):
    listed = playbooks.agent("zoho-crm.py", "--json", "deals", "list", "--limit", "1", container=container)
    return json.loads(listed.stdout)["deals"][0]["id"]


def assert_the_agent_reads_deals(playbooks, container=None):
    """The guide's test and the flat deal of `deals get ID --json`, inside the container."""
    test = playbooks.agent("zoho-crm-test.py", container=container)
    for line in GUIDE_SUCCESS_LINES:
        assert line in test.stdout.splitlines(), test.stdout
    deal_id = first_deal_id(playbooks, container)
    deal = json.loads(playbooks.agent("zoho-crm.py", "deals", "get", deal_id, "--json", container=container).stdout)
    assert deal["deal"]["id"] == deal_id
    assert (deal["deal"]["Deal_Name"], deal["deal"]["Contact_Name"], deal["deal"]["Amount"]) == (OAKLAND, "Jane Smith",
                                                                                               50000)


def modes_and_owners(directory, skip=()):
    """path -> (mode, uid, gid) of DIRECTORY and everything under it but SKIP (relative paths) and
    Python's caches (the agent's python3 writes tools/__pycache__, as the agent's user)."""
    return {path: (status_mode & 0o7777, uid, gid)
            for path, (status_mode, uid, gid, _) in snapshot(directory).items()
            if path not in skip and "__pycache__" not in Path(path).parts}


@pytest.mark.parametrize("workspace_mount, separate", [(False, True), (True, False)],
                         ids=["state-dir-only", "workspace-mounted-apart-refresher-in-the-agents-files"])
def test_provision_works_inside_the_container_and_a_rerun_changes_nothing(
        openclaw_container, docker_playbooks, host_dir, zoho, tmp_path, path_without_crontab, workspace_mount,
        separate):
    workspace = agent_owned_dir(host_dir / "workspace", mode=0o755) if workspace_mount else None
    container = openclaw_container(config_dir=agent_owned_dir(host_dir / "openclaw"), workspace_dir=workspace)
    # The Compose service's name, as an operator of OpenClaw's docker-compose.yml knows it.
    playbooks = docker_playbooks(container, zoho_crm_docker_container=GATEWAY_SERVICE,
                                 **({} if separate else {"zoho_crm_refresher_separate": False}))
    _, output = playbooks.provision()
    assert recap(output)["failed"] == 0 and recap(output)["changed"] > 0
    assert "Verify | Read Zoho CRM as the agent would" in output

    assert_the_agent_reads_deals(playbooks)

    _, again = playbooks.run("provision.yml")
    assert recap(again)["changed"] == 0 and recap(again)["failed"] == 0
    assert zoho.counters()["token"]["authorization_code"] == 1

    # Everything the role wrote on the host side is uid 1000's, by number (the host has no node).
    # Docker made the workspace's mount point inside the state directory itself, as root.
    written = modes_and_owners(playbooks.home, skip={"workspace"} if workspace_mount else ())
    if workspace_mount:
        written.update({"workspace/" + path if path != "." else "workspace": entry
                        for path, entry in modes_and_owners(workspace).items()})
    assert {(uid, gid) for _, uid, gid in written.values()} == {(AGENT_UID, AGENT_GID)}, written
    # The modes are host mode's, path for path; with the refresher separate, the client secret is
    # not among the agent's files but in root's directory, and the agent's token file is its copy.
    host_mode = Playbooks(zoho, tmp_path / "host-mode", path=path_without_crontab)
    host_mode.provision()
    expected = {path: entry[0] for path, entry in modes_and_owners(host_mode.home).items()}
    if separate:
        # The lock is the refresher's token file's, beside it.
        for moved in (oauth.CLIENT_SECRET_FILENAME, oauth.TOKENS_FILENAME + ".lock"):
            del expected["credentials/" + moved]
        assert "refresh_token" not in playbooks.tokens()
        refresher = modes_and_owners(playbooks.refresher_dir)
        assert {(uid, gid) for _, uid, gid in refresher.values()} == {(0, 0)}, refresher
        assert (refresher["."][0], refresher["tools"][0], refresher[oauth.CLIENT_SECRET_FILENAME][0],
                refresher[oauth.TOKENS_FILENAME][0], refresher[oauth.TOKENS_FILENAME + ".lock"][0]) == (
                    0o700, 0o700, 0o600, 0o600, 0o600)
    else:
        assert playbooks.tokens()["refresh_token"]
        assert not playbooks.refresher_dir.exists()
    assert {path: entry[0] for path, entry in written.items()} == expected


def test_eight_agents_and_the_host_refresh_with_an_expired_token_mint_once(openclaw_container, docker_playbooks,
                                                                           host_dir, make_zoho):
    zoho = make_zoho(concurrency=AGENTS + 2)  # room for all at once: what is measured is the lock
    container = openclaw_container(config_dir=agent_owned_dir(host_dir / "openclaw"))
    # The agents refresh for themselves: the refresh token is in their files.
    playbooks = docker_playbooks(container, zoho=zoho, zoho_crm_refresher_separate=False)
    playbooks.provision()
    refresh_token = playbooks.tokens()["refresh_token"]
    rewrite_tokens(playbooks.token_path, expires_at=oauth.format_time(0))
    minted_before = zoho.counters()["token"]["refresh_token"]

    agents = [subprocess.Popen(container.exec_args("python3", "tools/zoho-crm.py", "--json", "deals", "list", "--limit",
                                                   "1", workdir=WORKSPACE_DIR),
                               env=container.engine.environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(AGENTS)]
    cron = playbooks.start_cron_job()
    for process in [*agents, cron]:
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stdout + stderr
    assert zoho.counters()["token"]["refresh_token"] - minted_before == 1
    assert playbooks.tokens()["refresh_token"] == refresh_token
    assert oauth.parse_time(playbooks.tokens()["expires_at"]) > time.time() + 3000


def rewrite_tokens(path, **changes):
    """Change fields of the token file in place (its inode, owner and mode stay), as root on the host."""
    with open(path, "r+") as token_file:
        record = json.load(token_file)
        record.update(changes)
        token_file.seek(0)
        token_file.truncate()
        json.dump(record, token_file, indent=2)


def forget_access_token(zoho, access_token):
    """Zoho stops accepting ACCESS_TOKEN (as after its hour), the rest of its state kept."""
    with zoho.accounts.lock:
        del zoho.accounts.access_tokens[access_token]


# The preflight: each failure one line naming the cause and the fix, before anything changes.

def stopped(container):
    container.engine.docker("stop", "--time", "1", container.name)


def without_python3(container):
    """As an image of OpenClaw's releases without python3 (2026.4.25 to 2026.4.27)."""
    container.exec("sh", "-c", "rm /usr/bin/python3 /usr/bin/python3.*", user="0")


def without_ssl(container):
    """A python3 without its ssl module (as a trimmed python build)."""
    container.exec("sh", "-c", "rm /usr/lib/python3.*/lib-dynload/_ssl.*.so", user="0")


PREFLIGHT_FAILURES = [
    ("missing", {}, {"zoho_crm_docker_container": "openclaw-gone"}, None, "agent",
     ["No container on vps is named openclaw-gone or runs the Compose service openclaw-gone.",
      "Fix: start OpenClaw (docker compose up -d)"]),
    ("not-running", {}, {}, stopped, "agent",
     ["The agent's container openclaw-openclaw-gateway-1 is exited", "Fix: docker start openclaw-openclaw-gateway-1"]),
    ("no-python3", {}, {}, without_python3, "agent",
     ["has no python3, which the agent's tools run on.", "Fix: rebuild OpenClaw's image with python3 "
      "(docker build --build-arg OPENCLAW_IMAGE_APT_PACKAGES=python3"]),
    ("python3-without-ssl", {}, {}, without_ssl, "agent",
     ["lacks ssl of its standard library", "Fix: rebuild OpenClaw's image with Debian's full python3"]),
    ("no-state-mount", {"state_mount": None}, {}, None, "agent",
     ["has no bind mount of a host directory at /home/node/.openclaw", "Fix: run it with one"]),
    ("read-only-state-mount", {"state_mount": "ro"}, {}, None, "agent",
     ["at /home/node/.openclaw read-only", "Fix: mount it read-write"]),
    ("owned-by-root", {}, {}, None, "root",
     ["is owned by 0:0, not by 1000:1000, the uid and gid the agent runs as", "Fix: chown -R 1000:1000 "]),
    ("unreachable", {}, {}, None, "closed",
     ["The agent's uid 1000 cannot reach", "Fix: let others enter the directories above it"]),
    ("no-engine", {}, {"docker_host": "unix:///nonexistent/docker.sock"}, None, "agent",
     ["docker cannot reach its engine on vps", "Fix: start the Docker engine"]),
]


@pytest.mark.parametrize("case, run_kwargs, overrides, break_it, config_dir, fragments", PREFLIGHT_FAILURES,
                         ids=[failure[0] for failure in PREFLIGHT_FAILURES])
def test_each_preflight_failure_is_one_line_and_changes_nothing(openclaw_container, docker_playbooks, host_dir,
                                                                 tmp_path, zoho, case, run_kwargs, overrides,
                                                                 break_it, config_dir, fragments):
    if config_dir == "agent":
        config_dir = agent_owned_dir(host_dir / "openclaw")
    elif config_dir == "root":  # as Docker makes a missing one
        config_dir = host_dir / "openclaw"
        config_dir.mkdir()
    else:  # under root's 0700 /tmp/pytest-of-root
        config_dir = agent_owned_dir(tmp_path / "openclaw")
    container = openclaw_container(config_dir=config_dir, **run_kwargs)
    if break_it:
        break_it(container)
    overrides = dict(overrides)
    docker_host = overrides.pop("docker_host", None)
    playbooks = docker_playbooks(container, **overrides)
    if docker_host:
        playbooks.env["DOCKER_HOST"] = docker_host
    playbooks.env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    before = snapshot(config_dir)

    code, output = playbooks.provision(check=False)

    assert code != 0
    message = one_line_failure(output)
    for fragment in fragments:
        assert fragment in message, message
    assert snapshot(config_dir) == before
    assert not playbooks.cron_file.exists() and not playbooks.refresher_dir.exists()
    assert sum(zoho.counters()["token"].values()) == 0


def test_the_role_gives_a_root_owned_state_dir_to_the_agent_when_told_to(openclaw_container, docker_playbooks,
                                                                        host_dir):
    config_dir = host_dir / "openclaw"
    config_dir.mkdir()  # root's, 0755: as Docker makes a missing bind-mount source
    container = openclaw_container(config_dir=config_dir)
    playbooks = docker_playbooks(container, zoho_crm_docker_fix_owner=True)
    _, output = playbooks.provision()
    assert recap(output)["failed"] == 0
    status = config_dir.stat()
    assert (status.st_uid, status.st_gid, mode(config_dir)) == (AGENT_UID, AGENT_GID, 0o700)
    assert_the_agent_reads_deals(playbooks)
    _, again = playbooks.run("provision.yml")
    assert recap(again)["changed"] == 0


# rotate, revoke and check mode, as in host mode; no secret in any output at -vvv.

def test_check_mode_on_a_fresh_host_changes_nothing(openclaw_container, docker_playbooks, host_dir, zoho):
    container = openclaw_container(config_dir=agent_owned_dir(host_dir / "openclaw"))
    playbooks = docker_playbooks(container)
    before = snapshot(container.config_dir)
    _, output = playbooks.run("provision.yml", "--check", verbosity=3)
    assert recap(output)["failed"] == 0
    _, with_code = playbooks.run("provision.yml", "--check", "-e", f"zoho_crm_auth_code={playbooks.code()}",
                                 verbosity=3)
    assert recap(with_code)["failed"] == 0
    assert snapshot(container.config_dir) == before
    assert not playbooks.cron_file.exists() and not playbooks.refresher_dir.exists()
    assert sum(zoho.counters()["token"].values()) == 0

    # A real first run without a code shows how to authorize. With the refresher separate (Docker
    # mode's default) the agent's tools hold no client secret, so the listener is not offered.
    _, shown = playbooks.run("provision.yml")
    shown = " ".join(shown.split())  # the callback wraps long lines
    assert "Zoho CRM is waiting for your approval" in shown
    assert "the VPS cannot catch the redirect itself" in shown and "--listen" not in shown


def fs_findings(container):
    """`openclaw security audit --json`'s findings about the state directory's files (fs.*)."""
    audit = container.openclaw_on_a_copy("security", "audit", "--json")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    findings = json.loads(audit.stdout)["findings"]
    assert "summary.attack_surface" in {finding["checkId"] for finding in findings}  # it ran its checks
    return [finding for finding in findings if finding["checkId"].startswith("fs.")]


# One provisioned container (Docker mode's default: a separate refresher), shared by the tests below
# in their order (a provision takes a minute here): each leaves it working for the next, and the last
# revokes it.

@pytest.fixture(scope="module")
def provisioned(docker_engine, openclaw_image, tmp_path_factory):
    """DockerPlaybooks of a running agent container that provision.yml provisioned, with a stand-in of
    its own (.zoho)."""
    zoho = Sandbox().start()
    host_dir = make_host_dir()
    # A Compose project of its own: no other test's container has its name.
    container = docker_engine.run_container(openclaw_image, agent_owned_dir(host_dir / "openclaw"),
                                            project="openclaw-shared")
    try:
        playbooks = DockerPlaybooks(zoho, tmp_path_factory.mktemp("provisioned"), docker_engine, container)
        _, output = playbooks.provision()
        assert recap(output)["failed"] == 0 and recap(output)["changed"] > 0
        yield playbooks
    finally:
        docker_engine.docker("rm", "--force", container.name, check=False)
        zoho.stop()
        shutil.rmtree(host_dir)


def mints(zoho):
    return zoho.counters()["token"]["refresh_token"]


class TestOneProvisionedContainer:

    def test_openclaw_sees_the_skill_and_its_audit_finds_nothing_in_the_files(self, provisioned):
        container = provisioned.container
        info = container.openclaw_on_a_copy("skills", "info", "zoho-crm", "--json")
        assert info.returncode == 0, info.stdout + info.stderr
        skill = json.loads(info.stdout)
        assert (skill["name"], skill["eligible"], skill["modelVisible"]) == ("zoho-crm", True, True)
        assert fs_findings(container) == []
        # The audit does look at those modes: loosened, the credentials directory is a finding.
        provisioned.credentials.chmod(0o755)
        try:
            assert "fs.credentials_dir.perms_readable" in {finding["checkId"] for finding in fs_findings(container)}
        finally:
            provisioned.credentials.chmod(0o700)
            container.exec("rm", "-rf", STATE_COPY)  # what the CLI wrote, on its copy

    def test_nothing_the_container_can_read_holds_the_refresh_token_or_the_client_secret(self, provisioned):
        """The container's whole filesystem but /proc and /sys, as node; with a negative control: the
        refresh token planted in a file of the agent's, which the search must find, and nothing else."""
        playbooks = provisioned
        refresh_token, access_token = playbooks.store()["refresh_token"], playbooks.tokens()["access_token"]
        planted = playbooks.workspace / "notes-from-a-web-page.txt"
        planted.write_text("an agent was talked into saving %s here\n" % refresh_token)
        os.chown(planted, AGENT_UID, AGENT_GID)
        playbooks.container.engine.docker("cp", str(SEARCH_SCRIPT), f"{playbooks.container.name}:/tmp/readable_secrets.py")
        try:
            searched = playbooks.container.exec("python3", "/tmp/readable_secrets.py", "/", workdir="/",
                                                input=json.dumps([refresh_token, playbooks.client_secret, access_token]),
                                                timeout=900)
        finally:
            planted.unlink()
            playbooks.container.exec("rm", "/tmp/readable_secrets.py", user="0")
        found = json.loads(searched.stdout)
        assert found["files"] > 1000, found  # it did search the container
        assert found["hits"][refresh_token] == [f"{WORKSPACE_DIR}/{planted.name}"], found
        assert found["hits"][playbooks.client_secret] == [], found
        assert found["hits"][access_token] == [f"{STATE_DIR}/credentials/{oauth.TOKENS_FILENAME}"], found
        validity = oauth.parse_time(playbooks.tokens()["expires_at"]) - time.time()
        print("\nin the container, as node: refresh tokens 0, client secrets 0; longest validity %d s (the access "
              "token); %d files (%d bytes) searched" % (validity, found["files"], found["bytes"]))
        assert validity <= 3600

    def test_the_refresh_host_cron_runs_replaces_an_expiring_token_the_agent_then_uses(self, provisioned):
        playbooks, zoho = provisioned, provisioned.zoho
        old, minted_before = playbooks.store(), mints(provisioned.zoho)
        expiring = oauth.format_time(time.time() + 120)  # the refresh renews with less than 300 s left
        rewrite_tokens(playbooks.store_path, expires_at=expiring)

        job = playbooks.start_cron_job()
        stdout, stderr = job.communicate(timeout=120)
        assert (job.returncode, stdout, stderr) == (0, "", "")
        new = playbooks.store()
        assert new["access_token"] != old["access_token"] and new["refresh_token"] == old["refresh_token"]
        assert oauth.parse_time(new["expires_at"]) > time.time() + 3000
        assert mints(zoho) - minted_before == 1
        # The agent's copy: the new access token and nothing that mints one, the agent's uid's, 0600.
        copy = playbooks.tokens()
        assert copy["access_token"] == new["access_token"] and "refresh_token" not in copy
        token_file = playbooks.token_path.stat()
        assert (token_file.st_uid, token_file.st_gid, mode(playbooks.token_path)) == (AGENT_UID, AGENT_GID, 0o600)
        log = playbooks.refresher_dir / "zoho-crm-token-refresh.log"
        assert (log.stat().st_uid, mode(log)) == (0, 0o600)
        assert "refreshed the access token" in log.read_text()

        # The agent's next call takes the new token from its copy, and Zoho no longer knows the old one.
        forget_access_token(zoho, old["access_token"])
        assert_the_agent_reads_deals(playbooks)
        assert mints(zoho) - minted_before == 1

    def test_a_recreated_container_works_without_provisioning_again(self, provisioned):
        playbooks = provisioned
        first = playbooks.container
        playbooks.container = first.recreate()
        assert playbooks.container.id != first.id
        assert_the_agent_reads_deals(playbooks)
        assert playbooks.zoho.counters()["token"]["authorization_code"] == 1

    def test_rotate_both_kinds_and_revoke_and_no_secret_at_vvv(self, provisioned):
        playbooks, zoho = provisioned, provisioned.zoho
        first = playbooks.store()
        secrets = [playbooks.client_secret, first["access_token"], first["refresh_token"]]
        revoked_before = zoho.counters()["revoke"]

        # The refresh token, with a new code; the same code again changes nothing.
        code = playbooks.code()
        secrets.append(code)
        _, rotated = playbooks.run("rotate.yml", "-e", f"zoho_crm_auth_code={code}", verbosity=3)
        assert recap(rotated)["changed"] >= 1
        second = playbooks.store()
        secrets += [second["access_token"], second["refresh_token"]]
        assert second["refresh_token"] != first["refresh_token"] and zoho.counters()["revoke"] - revoked_before == 1
        assert playbooks.tokens()["access_token"] == second["access_token"]
        _, again = playbooks.run("rotate.yml", "-e", f"zoho_crm_auth_code={code}", verbosity=3)
        assert recap(again)["changed"] == 0
        assert_the_agent_reads_deals(playbooks)

        # The client secret: proven by a refresh, then swapped in; the refresh token kept.
        playbooks.client_secret = zoho.rotate_client_secret()
        secrets.append(playbooks.client_secret)
        playbooks.write_inventory()
        _, swapped = playbooks.run("rotate.yml", verbosity=3)
        assert recap(swapped)["changed"] >= 1
        assert json.loads(playbooks.client_secret_path.read_text())["client_secret"] == playbooks.client_secret
        third = playbooks.store()
        secrets.append(third["access_token"])
        assert third["refresh_token"] == second["refresh_token"]
        _, again = playbooks.run("rotate.yml", verbosity=3)
        assert recap(again)["changed"] == 0
        assert_the_agent_reads_deals(playbooks)
        written = modes_and_owners(playbooks.home)
        assert {(uid, gid) for _, uid, gid in written.values()} == {(AGENT_UID, AGENT_GID)}, written

        _, revoked = playbooks.run("revoke.yml", verbosity=3)
        assert recap(revoked)["changed"] > 0 and zoho.counters()["revoke"] - revoked_before == 2
        assert not playbooks.token_path.exists() and not playbooks.refresher_dir.exists()
        assert not playbooks.cron_file.exists()
        assert not any((playbooks.workspace / "tools").iterdir())
        gone = playbooks.container.exec("python3", "tools/zoho-crm.py", "doctor", workdir=WORKSPACE_DIR, check=False)
        assert gone.returncode != 0
        _, again = playbooks.run("revoke.yml", verbosity=3)
        assert recap(again)["changed"] == 0

        text = "\n".join(playbooks.outputs)
        assert "zoho_crm_token" in text  # the module really ran, verbosely
        for secret in secrets:
            assert secret not in text

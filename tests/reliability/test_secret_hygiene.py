"""Secret hygiene: provision, rotate (client secret, then refresh token) and revoke at -vvvv with
--diff, every tool (the cron refresh with its log), failing paths, and the device flow (provision
in one run while a person approves, the init tool's --device denied and approved); then every
secret value ever issued (device codes included) is searched for in all output, the logs, the
argument lists of every process seen while this ran (sampled from /proc), and every file outside
the credentials directory: 0 hits.
"""

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from reliability_harness import VENV_BIN, DeviceApprover, Playbooks, recap
from shared_clock import SharedClock
from zoho_sandbox import Sandbox

ARGV_SAMPLE_INTERVAL = 0.015
MAX_ARGV_SAMPLES = 40000  # bounds the sampler at about ten minutes


class ArgvSampler(threading.Thread):
    """Reads /proc/*/cmdline of every process every 15 ms; keeps each distinct argument list."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopped = threading.Event()
        self.samples = 0
        self.argvs = set()

    def run(self):
        while not self.stopped.is_set() and self.samples < MAX_ARGV_SAMPLES:
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open("/proc/%s/cmdline" % pid, "rb") as handle:
                            self.argvs.add(handle.read().replace(b"\0", b" ").decode("utf-8", "replace"))
                    except OSError:
                        pass  # the process ended meanwhile
            self.samples += 1
            self.stopped.wait(ARGV_SAMPLE_INTERVAL)

    def stop(self):
        self.stopped.set()
        self.join()


def files_outside(root, excluded):
    """(path, text) of every file under root but outside the excluded directories and files."""
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and not path.is_symlink() and not any(path == e or e in path.parents for e in excluded):
            yield str(path), path.read_bytes().decode("utf-8", "replace")


def hits(secrets, texts):
    """(where, secret prefix) for every secret found in any of the named texts."""
    return [(where, secret[:10]) for where, text in texts for secret in secrets if secret in text]


class Journey:
    """Everything a user does with the product on one host, at full verbosity, while argv is sampled."""

    WRONG_SECRET = "a-client-secret-zoho-never-issued-0000000"

    def __init__(self, zoho, tmp_path):
        self.zoho = zoho
        self.tmp_path = tmp_path
        # The device flow's 30 s between polls pass in 1.5 s, for the stand-in too.
        self.clock = SharedClock(tmp_path, zoho, sleep_scale=0.05)
        self.playbooks = Playbooks(zoho, tmp_path, env=self.clock.environment())
        self.texts = []  # (where, text)
        self.secrets = set()

    def playbook(self, name, *args, code=None, check=True, watch=None):
        """ansible-playbook at -vvvv with --diff; a code goes in a private extra-vars file, deleted
        afterwards, as the demo does, so that it is never an argument."""
        extra = []
        code_file = self.tmp_path / "code.yml"
        if code:
            self.secrets.add(code)
            code_file.write_text("zoho_crm_auth_code: '%s'\n" % code)
            code_file.chmod(0o600)
            extra = ["-e", "@%s" % code_file]
        try:
            returncode, output = self.playbooks.run(name, "--diff", *extra, *args, check=check, verbosity=4,
                                                    watch=watch)
        finally:
            code_file.unlink(missing_ok=True)
        self.texts.append(("ansible-playbook %s" % name, output))
        return returncode, output

    def tool(self, script, *args, stdin=None):
        completed = self.playbooks.tool(script, *args) if stdin is None else self._tool_with_stdin(script, args, stdin)
        self.texts.append(("tools/%s %s" % (script, " ".join(args)), completed.stdout + completed.stderr))
        return completed

    def _tool_with_stdin(self, script, args, stdin):
        env = dict(os.environ, PATH="%s:%s" % (VENV_BIN, os.environ["PATH"]), **self.clock.environment())
        return subprocess.run(["python3", "tools/%s" % script, *args], input=stdin, cwd=self.playbooks.workspace,
                              env=env, capture_output=True, text=True, timeout=120)

    def run(self):
        pb = self.playbooks
        self.secrets.add(pb.client_secret)
        assert recap(self.playbook("provision.yml")[1])["failed"] == 0  # prints the URL to approve
        self.playbook("provision.yml", code=pb.code())

        log = pb.home / "logs" / "zoho-crm-token-refresh.log"
        self.tool("zoho-crm-oauth-init.py")
        self.tool("zoho-crm-test.py")
        self.tool("zoho-crm-refresh-token.py", "--force", "--log-file", str(log))  # as cron, forced
        self.tool("zoho-crm-refresh-token.py", "--log-file", str(log))  # as cron, nothing to do
        self.tool("zoho-crm-refresh-token.py", "--force")  # to stdout
        deal_id = first_deal_id(self.tool("zoho-crm.py", "--json", "deals", "list", "--limit", "1").stdout)
        for args in (("deals", "list", "--stage", "Qualification"), ("deals", "get", deal_id), ("context", deal_id),
                     ("notes", "deal", deal_id), ("contacts", "list", "--limit", "3"), ("doctor",),
                     ("--json", "doctor")):
            assert self.tool("zoho-crm.py", *args).returncode == 0
        # Failing paths of the tools: a used code, a forged redirect, a refresh with a wrong secret.
        used = pb.code()
        self.secrets.add(used)
        self.tool("zoho-crm-oauth-exchange.py", "-", stdin=used + "\n")  # refused: tokens already work
        assert self.tool("zoho-crm-oauth-exchange.py", "--force", "-", stdin=used + "\n").returncode == 0
        self.tool("zoho-crm-oauth-exchange.py", "--force", "-", stdin=used + "\n")  # same code: ok, no call
        assert self.tool("zoho-crm-oauth-exchange.py", "--force", "-", stdin=pb.code() + "x\n").returncode != 0

        # Rotation of the client secret: first a wrong one (refused), then Zoho's new one.
        pb.client_secret = self.WRONG_SECRET
        self.secrets.add(self.WRONG_SECRET)
        pb.write_inventory()
        assert self.playbook("rotate.yml", check=False)[0] != 0
        pb.client_secret = self.zoho.rotate_client_secret()
        self.secrets.add(pb.client_secret)
        pb.write_inventory()
        self.playbook("rotate.yml")
        # Rotation of the refresh token with a code; then a failing provision with a spent code.
        rotate_code = pb.code()
        self.playbook("rotate.yml", code=rotate_code)
        assert self.playbook("rotate.yml", code=used, check=False)[0] != 0
        # revoke.yml removes the log and the tools: search them as they were before it.
        self.texts.append(("refresh log", log.read_text()))
        self.texts += [("before revoke: " + where, text) for where, text in self.files()]
        self.playbook("revoke.yml")

        # The device flow from an empty host, in one run at -vvvv while a person approves; then the
        # init tool's --device, denied, then approved, replacing the tokens.
        pb.write_inventory(zoho_crm_auth_flow="device")
        person = DeviceApprover(self.zoho, after_polls=1)
        assert recap(self.playbook("provision.yml", watch=person.watch)[1])["failed"] == 0
        assert person.join() == [(person.shown[0], "approved")]
        with PendingFlowDecider(self.zoho, approve=False):
            assert self.tool("zoho-crm-oauth-init.py", "--device", "--force").returncode != 0
        with PendingFlowDecider(self.zoho, approve=True):
            assert self.tool("zoho-crm-oauth-init.py", "--device", "--force").returncode == 0
        self.texts += [("before the last revoke: " + where, text) for where, text in self.files()]
        self.playbook("revoke.yml")
        assert self.zoho.counters()["device"]["issued"] == 2
        self.secrets |= self.zoho.secret_values()

    def files(self):
        """Every file of this test outside the credentials directory (inventory.yml stands in for
        Ansible Vault here: it holds the client secret by design)."""
        return files_outside(self.tmp_path, [self.playbooks.credentials, self.playbooks.inventory])


class PendingFlowDecider(threading.Thread):
    """While its block runs, approves (or denies) each device flow once it has been polled: a
    person at the browser while a tool waits."""

    def __init__(self, zoho, approve):
        super().__init__(daemon=True)
        self.zoho, self.approve = zoho, approve
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(0.05):
            for flow in self.zoho.device_flows():
                if flow["status"] == "pending" and flow["polls"] >= 1:
                    (self.zoho.approve_device if self.approve else self.zoho.deny_device)(flow["user_code"])

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.join()


def first_deal_id(json_text):
    return json.loads(json_text)["deals"][0]["id"]


@pytest.fixture(scope="module")
def journey(tmp_path_factory):
    zoho = Sandbox().start()
    journey = Journey(zoho, tmp_path_factory.mktemp("hygiene"))
    sampler = ArgvSampler()
    sampler.start()
    try:
        journey.run()
    finally:
        sampler.stop()
        zoho.stop()
    journey.argv_samples = sampler.samples
    journey.argvs = sampler.argvs
    return journey


def searched_texts(journey):
    """Outputs and logs, every sampled argument list, and every file outside the credentials
    directory: the home, the cron file, the test's directory, and ansible's temporary files."""
    texts = list(journey.texts)
    texts += [("argv: %s" % argv[:60], argv) for argv in journey.argvs]
    texts += list(journey.files())
    texts += list(files_outside(Path.home() / ".ansible" / "tmp", []))
    return texts


def test_no_secret_anywhere(journey, figure):
    secrets = {secret for secret in journey.secrets if secret}
    texts = searched_texts(journey)
    found = hits(secrets, texts)
    figure("secret_values_searched", len(secrets))
    figure("texts_searched", len(texts), unit="(outputs, logs, argv, files)")
    figure("argv_samples", journey.argv_samples, unit="(%d distinct argv)" % len(journey.argvs))
    figure("hits", len(found), goal=0)
    # The search had something to search: secrets of every kind, verbose output, a cron log, tokens issued.
    assert journey.playbooks.client_secret in secrets and journey.WRONG_SECRET in secrets
    assert len(secrets) >= 10 and journey.argv_samples > 100
    assert any("ESTABLISH LOCAL CONNECTION" in text for _, text in journey.texts)  # -vvvv
    assert any("refreshed the access token sha256:" in text for where, text in journey.texts if where == "refresh log")
    assert not found, found


def test_the_search_finds_a_planted_secret(journey, tmp_path):
    """The negative control: the same search over the same texts, with one secret planted in an
    output, an argv and a file, finds exactly those."""
    refresh_token = next(secret for secret in journey.zoho.secret_values() if secret.startswith("1000."))
    planted = tmp_path / "notes.txt"
    planted.write_text("pasted by mistake: %s\n" % refresh_token)
    texts = searched_texts(journey)
    texts[0] = (texts[0][0], texts[0][1] + refresh_token)
    texts.append(("argv: planted", "python3 tools/zoho-crm.py --token %s" % refresh_token))
    texts += list(files_outside(tmp_path, []))
    assert sorted(where for where, _ in hits({refresh_token}, texts)) == sorted(
        [texts[0][0], "argv: planted", str(planted)])

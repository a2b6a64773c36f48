"""Crash safety: 500 kill -9 at random moments of a token refresh, and the token file survives each.

Three refreshers are killed, each in its own credentials directory on its own stand-in, side by side:
- the cron tool, zoho-crm-refresh-token.py --force;
- the agent's client, ZohoCRMClient(...).access_token() in a python process, with a min_ttl that
  makes every token look about to expire, so every run refreshes;
- the Ansible module, state=refreshed force=true, run exactly as Ansible runs it: the AnsiballZ
  payload that `ansible localhost -m zoho_crm_token` leaves behind (ANSIBLE_KEEP_REMOTE_FILES=1),
  started again with python for each kill.

The token endpoint answers after a short delay, so each refresh is in flight long enough to be hit.
Most kills (fixed seed) land at a random moment after the refresh request reached the stand-in
(seen in its counters): while the answer is awaited, parsed, written to a temporary file, renamed
into place, or the directory synced; the others at a random moment before it (start-up, lock,
read). After each kill: the token file exists, parses, has every field and the same refresh token
(Zoho never rotates it); a temporary file a killed writer left behind is 0600, and the next
process that takes the lock removes it.
"""

import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reliability_harness import REPO, TOOLS_DIR, authorized_credentials, token_file_problem

KILLS = {"refresh_tool": 300, "client": 100, "module": 100}  # the cron tool starts fastest
TOKEN_ENDPOINT_DELAY = 0.05  # seconds the stand-in holds each refresh before answering
# After the request arrives: the delay, then reading the answer, writing, renaming, syncing, exiting.
AFTER_REQUEST_WINDOW = TOKEN_ENDPOINT_DELAY + 0.03
SHARE_BEFORE_REQUEST = 0.2
SEED = 20260509
ALWAYS_STALE = 10 ** 9  # a min_ttl in seconds: every access token looks about to expire

CLIENT_REFRESH = ("import sys; sys.path.insert(0, %r); from zoho_crm_client import ZohoCRMClient; "
                  "ZohoCRMClient(min_ttl=%d).access_token()" % (str(TOOLS_DIR), ALWAYS_STALE))


@dataclass
class KillTally:
    kills: int = 0
    rounds: int = 0
    inside_write: int = 0  # the refresh request had reached Zoho when the kill came
    temp_file_left: int = 0  # killed between creating the temporary file and renaming it
    after_replace: int = 0  # the new file was in place already
    missing: int = 0
    broken: int = 0
    refresh_token_lost: int = 0
    temp_files_lingering: int = 0
    problems: list = field(default_factory=list)


class Refresher:
    """One refresher, started and killed over and over in its credentials directory."""

    def __init__(self, name, credentials, command, env):
        self.name = name
        self.credentials = credentials
        self.command = command
        self.env = env
        self.refresh_token = credentials.tokens()["refresh_token"]
        self.tally = KillTally()

    def refreshes(self):
        return self.credentials.zoho.counters()["token"].get("refresh_token", 0)

    def temporary_files(self):
        directory = self.credentials.directory
        return {path.name: path.stat().st_mode & 0o777 for path in directory.glob(".*.tmp")}

    def access_token(self):
        return self.credentials.tokens()["access_token"]

    def kill_until(self, kills_wanted, rng):
        latency = 0.2  # start to request, measured as rounds go; a guess until the first one
        for _round in range(kills_wanted * 3):  # bounded: a round ends in a kill or a finished refresh
            if self.tally.kills >= kills_wanted or self.tally.problems:
                return self.tally
            self.tally.rounds += 1
            latency = self.one_round(rng, latency)
        raise AssertionError("%s: only %d kills in %d rounds" % (self.name, self.tally.kills, self.tally.rounds))

    def one_round(self, rng, latency):
        refreshes_before = self.refreshes()
        access_token_before = self.access_token()
        stale_temporary_files = set(self.temporary_files())
        started = time.monotonic()
        process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   cwd=str(REPO), env=self.env)
        if rng.random() < SHARE_BEFORE_REQUEST:
            time.sleep(rng.uniform(0, latency))
        else:
            deadline = started + 30
            while self.refreshes() == refreshes_before and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            latency = time.monotonic() - started
            time.sleep(rng.uniform(0, AFTER_REQUEST_WINDOW))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=60)
        self.credentials.outputs.append(stdout + stderr)
        killed = process.returncode == -signal.SIGKILL
        assert killed or process.returncode == 0, "%s failed on its own: %s" % (self.name, stdout + stderr)
        self.check_after(killed, refreshes_before, access_token_before, stale_temporary_files)
        return latency

    def check_after(self, killed, refreshes_before, access_token_before, stale_temporary_files):
        tally = self.tally
        problem = token_file_problem(self.credentials.token_path, self.refresh_token)
        if problem:
            tally.problems.append(problem)
            if problem == "missing":
                tally.missing += 1
            elif problem == "damaged":
                tally.broken += 1
            else:
                tally.refresh_token_lost += 1
            return
        temporary_files = self.temporary_files()
        assert set(temporary_files.values()) <= {0o600}, "%s left %s" % (self.name, temporary_files)
        request_sent = self.refreshes() > refreshes_before
        if request_sent and stale_temporary_files & set(temporary_files):
            tally.temp_files_lingering += 1  # this process held the lock, yet a dead writer's file stayed
        if not killed:
            return
        tally.kills += 1
        if request_sent:
            tally.inside_write += 1
            if set(temporary_files) - stale_temporary_files:
                tally.temp_file_left += 1
            elif self.access_token() != access_token_before:
                tally.after_replace += 1

    def finish(self):
        """One run that is not killed: it takes the lock, clears what dead writers left, refreshes."""
        completed = subprocess.run(self.command, capture_output=True, text=True, cwd=str(REPO), env=self.env,
                                   timeout=120)
        self.credentials.outputs.append(completed.stdout + completed.stderr)
        assert completed.returncode == 0, completed.stderr
        assert token_file_problem(self.credentials.token_path, self.refresh_token) is None
        assert self.temporary_files() == {}, "temporary files linger after the next lock holder"


def ansiballz_payload(credentials, tmp_path):
    """The module as Ansible runs it: ad hoc `ansible localhost -m zoho_crm_token` with
    ANSIBLE_KEEP_REMOTE_FILES=1 leaves its AnsiballZ payload (module, module_utils and arguments in
    one python file) in the remote tmp directory."""
    remote_tmp = tmp_path / "ansible-remote-tmp"
    module_args = "state=refreshed force=true token_path=%s client_secret_path=%s" % (
        credentials.token_path, credentials.client_secret_path)
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable, "-m", "zoho_crm_token", "-a", module_args]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=str(REPO), timeout=300,
                               env=dict(credentials.environment(), ANSIBLE_KEEP_REMOTE_FILES="1",
                                        ANSIBLE_REMOTE_TMP=str(remote_tmp), ANSIBLE_NOCOLOR="1"))
    credentials.outputs.append(completed.stdout + completed.stderr)
    assert completed.returncode == 0 and "CHANGED" in completed.stdout, completed.stdout + completed.stderr
    [payload] = remote_tmp.glob("ansible-tmp-*/AnsiballZ_zoho_crm_token.py")
    return payload


@pytest.fixture
def refreshers(make_zoho, tmp_path):
    def credentials_for(name):
        # Every killed refresh may have minted at Zoho: room for more than 10 mints in 10 minutes.
        zoho = make_zoho(mints_per_window=100_000)
        credentials = authorized_credentials(zoho, tmp_path / name)
        zoho.inject_fault("token", "delay", delay=TOKEN_ENDPOINT_DELAY)
        return credentials

    tool = credentials_for("refresh_tool")
    client = credentials_for("client")
    module = credentials_for("module")
    module_tmp = tmp_path / "module-payload-tmp"  # AnsiballZ unpacks here; killed runs leave theirs
    module_tmp.mkdir()
    made = [
        Refresher("refresh_tool", tool, tool.command("zoho-crm-refresh-token.py", "--force"), tool.environment()),
        Refresher("client", client, [sys.executable, "-c", CLIENT_REFRESH], client.environment()),
        Refresher("module", module, [sys.executable, str(ansiballz_payload(module, tmp_path))],
                  dict(module.environment(), TMPDIR=str(module_tmp))),
    ]
    yield made
    for refresher in made:
        credentials = refresher.credentials
        if token_file_problem(credentials.token_path, refresher.refresh_token):
            credentials.token_path.unlink()  # it failed the test already; the leak check would read it
        credentials.assert_no_secret_in(*credentials.outputs)


def test_kill_9_during_refresh_writes_never_breaks_the_token_file(refreshers, figure):
    def kill_and_finish(refresher):
        tally = refresher.kill_until(KILLS[refresher.name], random.Random("%d-%s" % (SEED, refresher.name)))
        if not tally.problems:  # a broken file fails the test below, with its figures
            refresher.finish()
        return tally

    with ThreadPoolExecutor(len(refreshers)) as pool:
        tallies = dict(zip((r.name for r in refreshers), pool.map(kill_and_finish, refreshers)))

    def total(name):
        return sum(getattr(tally, name) for tally in tallies.values())

    figure("kills", total("kills"), goal=">= 500")
    for name, tally in tallies.items():
        figure("kills_%s" % name, tally.kills)
    figure("kills_inside_write", total("inside_write"), unit="(refresh request already at Zoho)")
    figure("kills_with_temp_file_left", total("temp_file_left"), unit="(between temp file and rename)")
    figure("kills_after_file_replaced", total("after_replace"))
    figure("broken_files", total("broken"), goal=0)
    figure("missing_files", total("missing"), goal=0)
    figure("crash_refresh_tokens_lost", total("refresh_token_lost"), goal=0)
    figure("temp_files_lingering", total("temp_files_lingering"), goal=0)

    assert total("broken") == total("missing") == total("refresh_token_lost") == 0, [
        (name, tally.problems[:5]) for name, tally in tallies.items()]
    assert total("temp_files_lingering") == 0
    assert total("kills") >= 500
    # The kills were not all harmless: many hit a refresh in flight, some the write itself.
    assert total("inside_write") >= total("kills") // 2
    assert total("temp_file_left") + total("after_replace") > 0

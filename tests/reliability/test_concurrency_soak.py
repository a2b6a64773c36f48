"""Concurrency soak: cron's refresh, 20 agent processes and Ansible's `refreshed` runs sharing one token
file over simulated hours, against Zoho's limit of 10 access tokens per 10 minutes.

Time: the stand-in's clock is simulated, and the tools compare expires_at with their own
time.time(). Every process started here loads tests/simulated_clock/sitecustomize.py (through
tests/shared_clock.py), whose time.time() adds the offset in a file, read on every call, as the
stand-in's clock does; the driver moves that file forward one simulated minute per tick, so every
process and Zoho agree on the time. Monotonic time and sleeps stay real (lock timeouts, backoff).

Who takes part (all real processes, all on the same credentials directory):
- 20 agents (soak_agent.py): long-lived ZohoCRMClient processes reading a deal every 0.2-0.8 s;
  each refreshes on its own 5 minutes before expiry, under the shared lock;
- cron: zoho-crm-refresh-token.py --log-file on the minutes of the role's default schedule
  ("*/10", read from the role), with the tool's default margin (it refreshes tokens with 16
  minutes or less left);
- Ansible: `ansible localhost -m zoho_crm_token -a "state=refreshed force=true ..."` in hour 1 and
  every 6 simulated hours after, at a seeded random minute, alongside everything else (force: so it
  mints for real).

The soak starts at minute 2 of a simulated hour with an expired token, so the twenty agents first
meet it together; from then on cron (16 minutes or less left) wins every refresh before the agents'
5-minute margin is reached, including those of tokens Ansible minted at odd minutes.

Asserted: no agent call, cron run or Ansible run fails; Zoho never minted more than 10 access
tokens in any 600 s of its clock (from its mint counter, sampled at every tick) and refused none (no "Access
Denied", no token-endpoint error); cron refreshed for real at least once; the token file ends whole
with the refresh token it started with; no output holds a secret.
`make test` runs 3 simulated hours (about a minute); `make soak` (ZOHO_CRM_SOAK=1) runs 24.

With a separate refresher (zoho_crm_refresher_separate), the same soak on the role's layout of that
mode: the credentials directory is the refresher's, the agents' is another one holding only the copy
the refresher writes (no client secret, no refresh token), so the agents never refresh; cron runs
the refresh tool with --credentials-dir and --agent-token-file, as root's cron line does; Ansible
runs `state=present` with agent_token_path, as provision.yml's does (it must mint nothing). It starts
with one cron run, as a host switched into the mode has a fresh copy. Asserted on top: at most one
mint in any 10 minutes, and no agent call ever waits for or fails on a token.
"""

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import yaml

from reliability_harness import REPO, RELIABILITY_DIR, TOOLS_DIR, authorized_credentials, token_file_problem
from shared_clock import SharedClock

AGENTS = 20
SIMULATED_STEP = 60  # seconds of simulated time per tick
REAL_TICK = {False: 0.3, True: 0.5}  # real seconds per tick: make test, make soak
SIMULATED_HOURS = {False: 3, True: 24}
ROLE_CRON_MINUTE = yaml.safe_load((REPO / "roles/zoho_crm/defaults/main.yml").read_text())["zoho_crm_cron_minute"]
assert ROLE_CRON_MINUTE.startswith("*/"), "the soak reads the role's cron minute as */N: %s" % ROLE_CRON_MINUTE
CRON_MINUTES = set(range(0, 60, int(ROLE_CRON_MINUTE[2:])))
START_MINUTE = 2  # the first token expires at :02 of the next hour
ANSIBLE_FIRST_HOUR, ANSIBLE_EVERY_HOURS = 1, 6
TOKEN_WINDOW = 600
MINTS_PER_WINDOW = 10
SEED = 2026


class Soak:
    def __init__(self, credentials, clock, tmp_path, agent_dir=None):
        self.credentials = credentials
        self.zoho = credentials.zoho
        self.clock = clock
        self.agent_dir = agent_dir  # a separate refresher's agents: only the copy of the token file
        self.env = dict(credentials.environment(), **clock.environment())
        self.agent_env = dict(credentials.environment(), **clock.environment(TOOLS_DIR))
        if agent_dir:
            self.agent_env["ZOHO_CRM_CREDENTIALS_DIR"] = str(agent_dir)
        self.stop_file = tmp_path / "stop"
        self.cron_log = tmp_path / "zoho-crm-token-refresh.log"
        self.cron_runs = self.ansible_runs = 0
        self.failures = []
        self.outputs = []
        self._lock = threading.Lock()

    def start_agents(self):
        deal_id = self.zoho.org.deals.id(0)
        return [subprocess.Popen([sys.executable, str(RELIABILITY_DIR / "soak_agent.py"), deal_id, str(self.stop_file),
                                  "%d-%d" % (SEED, number)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, cwd=str(REPO), env=self.agent_env)
                for number in range(AGENTS)]

    def run(self, what, command):
        completed = subprocess.run(command, capture_output=True, text=True, cwd=str(REPO), env=self.env, timeout=300)
        with self._lock:
            self.outputs.append(completed.stdout + completed.stderr)
            if completed.returncode != 0:
                self.failures.append("%s exit %d: %s" % (what, completed.returncode,
                                                         (completed.stderr or completed.stdout)[-300:]))
        return completed

    @property
    def agent_token_path(self):
        return self.agent_dir / "zoho-crm-tokens.json"

    def cron(self):
        self.cron_runs += 1
        separate = ("--credentials-dir", self.credentials.directory, "--agent-token-file", self.agent_token_path) \
            if self.agent_dir else ()
        self.run("cron refresh", self.credentials.command("zoho-crm-refresh-token.py", *separate, "--log-file",
                                                          self.cron_log))

    def ansible_refreshed(self):
        self.ansible_runs += 1
        if self.agent_dir:
            module_args = "state=present agent_token_path=%s" % self.agent_token_path
        else:
            module_args = "state=refreshed force=true"
        module_args += " token_path=%s client_secret_path=%s" % (self.credentials.token_path,
                                                                  self.credentials.client_secret_path)
        completed = self.run("ansible refreshed", [
            str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % sys.executable, "-m", "zoho_crm_token", "-a", module_args])
        if completed.returncode == 0 and ("CHANGED" in completed.stdout) != (not self.agent_dir):
            self.failures.append("ansible %s: %s" % ("changed something" if self.agent_dir else "did not refresh",
                                                     completed.stdout[-300:]))


def token_calls(zoho):
    """Exchanges and refreshes Zoho has answered: each one a mint unless Zoho refused it (its errors
    are HTTP 200 too), and the test asserts it refused none. Read from the counters, which are
    complete (the request log keeps only the last 10,000 requests: a fraction of a 24-hour soak)."""
    counted = zoho.counters()["token"]
    return counted.get("authorization_code", 0) + counted.get("refresh_token", 0)


def most_in_any_window(samples, window):
    """An upper bound of the mints in any `window` seconds, from (time, total) samples taken at every
    tick: the most between two samples at most window plus two of the longest gaps apart (any window
    lies between the sample before it and the sample after it)."""
    longest_gap = max(later[0] - earlier[0] for earlier, later in zip(samples, samples[1:]))
    most, first = 0, 0
    for time_, total in samples:
        while time_ - samples[first][0] > window + 2 * longest_gap:
            first += 1
        most = max(most, total - samples[first][1])
    return most


@pytest.mark.parametrize("separate", [False, True], ids=["agents-refresh", "separate-refresher"])
def test_cron_agents_and_ansible_share_the_token_within_zohos_limits(make_zoho, tmp_path, soak, figure, separate):
    # Room for all twenty agents at once, so what is measured is the refresh, not Zoho's concurrency cap.
    zoho = make_zoho(concurrency=AGENTS + 5, daily_credits=10_000_000)
    credentials = authorized_credentials(zoho, tmp_path / "credentials")
    refresh_token = credentials.tokens()["refresh_token"]
    clock = SharedClock(tmp_path, zoho)
    clock.advance_to_minute(START_MINUTE)
    credentials.expire_access_token()
    agent_dir = tmp_path / "agent-credentials" if separate else None
    soak_run = Soak(credentials, clock, tmp_path, agent_dir)
    if separate:
        agent_dir.mkdir(mode=0o700)
        soak_run.cron()  # the copy a host switched into the mode has
    hours = SIMULATED_HOURS[soak]
    ansible_minute = random.Random(SEED)
    ansible_at = {hour: ansible_minute.randrange(60) for hour in range(ANSIBLE_FIRST_HOUR, hours, ANSIBLE_EVERY_HOURS)}
    helpers = []

    mint_samples = [(clock.now(), token_calls(zoho))]
    agents = soak_run.start_agents()
    try:
        covered_until = clock.now()
        for tick in range(hours * 3600 // SIMULATED_STEP):
            clock.advance(SIMULATED_STEP)
            # Every minute passed since the last tick (real time adds to each tick, so now and then
            # a tick passes two): like cron, nothing scheduled is skipped.
            now = clock.now()
            minutes = {minute % 60 for minute in range(int(covered_until // 60) + 1, int(now // 60) + 1)}
            covered_until = now
            if minutes & CRON_MINUTES:
                soak_run.cron()
            hour = tick * SIMULATED_STEP // 3600
            if ansible_at.get(hour) in minutes and not any(helper.is_alive() for helper in helpers):
                helper = threading.Thread(target=soak_run.ansible_refreshed)
                helper.start()
                helpers.append(helper)
            time.sleep(REAL_TICK[soak])
            mint_samples.append((clock.now(), token_calls(zoho)))
    finally:
        soak_run.stop_file.touch()
        results = [agent.communicate(timeout=300) for agent in agents]
        for helper in helpers:
            helper.join(timeout=300)

    agent_calls, agent_failures = 0, []
    for (stdout, stderr), agent in zip(results, agents):
        soak_run.outputs.append(stdout + stderr)
        assert agent.returncode == 0, stderr[-500:]
        summary = json.loads(stdout)
        agent_calls += summary["calls"]
        agent_failures += summary["failures"]
    mint_samples.append((clock.now(), token_calls(zoho)))  # what the last agents did while stopping
    mints = mint_samples[-1][1] - mint_samples[0][1]
    max_mints = most_in_any_window(mint_samples, TOKEN_WINDOW)
    token_errors = zoho.counters()["token_errors"]
    cron_refreshes = soak_run.cron_log.read_text().count("INFO refreshed the access token")
    soak_run.outputs.append(soak_run.cron_log.read_text())
    invalid_token_answers = sum(1 for entry in zoho.request_log() if entry["status"] == 401)

    def measured(name, value, **kwargs):
        figure(("separate_refresher_" if separate else "") + name, value, **kwargs)

    measured("simulated_hours", hours)
    measured("agent_calls", agent_calls)
    measured("agent_failures", len(agent_failures), goal=0)
    measured("cron_runs", soak_run.cron_runs)
    measured("cron_refreshes", cron_refreshes)
    measured("ansible_refreshed_runs", soak_run.ansible_runs)
    measured("other_failures", len(soak_run.failures), goal=0, unit="(cron, ansible)")
    measured("mints", mints)
    measured("max_mints_per_10_min", max_mints, goal="<= %d" % (1 if separate else MINTS_PER_WINDOW))
    measured("access_denied", token_errors.get("Access Denied", 0), goal=0)
    measured("invalid_token_answers", invalid_token_answers, unit="(in the stand-in's last 10,000 requests: Zoho and the processes disagreed on time)")

    credentials.assert_no_secret_in(*soak_run.outputs)
    assert not agent_failures, agent_failures[:5]
    assert not soak_run.failures, soak_run.failures[:5]
    assert agent_calls >= AGENTS * hours  # the agents really worked throughout
    assert max_mints <= MINTS_PER_WINDOW
    assert token_errors == {}, token_errors  # no Access Denied, nor any other refusal
    assert soak_run.cron_runs >= len(CRON_MINUTES) * hours and cron_refreshes >= 1  # cron ran on time and refreshed for real
    assert soak_run.ansible_runs >= 1
    assert token_file_problem(credentials.token_path, refresh_token) is None
    if separate:
        assert max_mints <= 1
        assert "refresh_token" not in json.loads(soak_run.agent_token_path.read_text())
        assert sorted(path.name for path in agent_dir.iterdir()) == ["zoho-crm-tokens.json"]

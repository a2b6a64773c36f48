"""The real playbook, playbooks/provision.yml, run by ansible-playbook on this machine against the
stand-in, into temporary OpenClaw homes, as the current user (no sudo, no apt).

idempotent_rerun_changed: one host authorized from a fresh state (the first run exchanges a Self
Client code), then provisioned again without a code: the re-run must change nothing. Its wall
time is set against the first run's, and against Ansible's floor on the same host right after it
(bench/ansible_floor.yml: facts gathered as provision.yml gathers them, then one stat). Each run's
tasks are counted: every task the play went through (skipped ones too) and those that ran.

fleet_10_hosts_ratio: ten inventory hosts in one run (--forks 10), each with its own home, cron
file and code, all `ansible_connection: local`, against one host from a fresh state; the first,
authorizing run is timed in both. On a 2-core machine ten forks share two cores, so the ratio is
well above 1: it measures how the play scales on this machine, not on ten VPSs.

Codes go to ansible-playbook in a 0600 extra-vars file, never in its arguments; each host's
zoho_crm_auth_code picks its own from there. Each run gets a fresh stand-in (Zoho allows 10 codes
per client in 10 minutes). Every run plays the role from one copy of the checkout taken at the
start, so a first run and its re-run see the same files even while someone edits the tree.
Rounds: one host, ten hosts, one host again (--quick skips the last): a 10-host run alone takes a
minute and a half here, so the fleet runs once. A re-run that changes something prints the tasks.
"""

import getpass
import grp
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from pathlib import Path

# harness first: importing it puts the tools and the stand-in on sys.path.
from harness import ROOT, VENV_BIN, Figure
import zoho_crm_oauth as oauth
from zoho_sandbox import Sandbox

FLEET_HOSTS = 10
# What ansible-playbook needs from the checkout (ansible.cfg names roles/, library/, module_utils/).
PLAYBOOK_FILES = ("ansible.cfg", "playbooks", "roles", "library", "module_utils", "bench/ansible_floor.yml")
# Where each host's zoho_crm_auth_code comes from: the extra-vars file of an authorizing run.
CODE_FROM_EXTRA_VARS = "{{ bench_auth_codes[inventory_hostname] | default('') }}"
RECAP_LINE = re.compile(r"^(\S+)\s*:\s*(ok=.*)$", re.MULTILINE)
TASK_OR_CHANGE = re.compile(r"^TASK \[(.*?)\]|^changed: ", re.MULTILINE)
TASK_HEADER = re.compile(r"^TASK \[", re.MULTILINE)

# tasks: every task the play went through for the host, skipped ones included (gathering facts too);
# tasks_run: those that ran (ok or changed in the recap).
PlaybookRun = namedtuple("PlaybookRun", "seconds recaps changed_tasks tasks tasks_run output")


def copy_of_checkout(destination):
    """The playbook and everything it plays, copied (symbolic links followed, as the role's copy does)."""
    for name in PLAYBOOK_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, destination / name)
    return destination


def changed_tasks(output):
    """The names of the tasks that reported a change, in order."""
    tasks, current = [], None
    for match in TASK_OR_CHANGE.finditer(output):
        if match.group(1) is not None:
            current = match.group(1)
        elif current not in tasks:
            tasks.append(current)
    return tasks


class LocalHosts:
    """Inventory hosts that are all this machine, each an OpenClaw home of its own; settings are
    more of the role's variables for every host."""

    def __init__(self, zoho, checkout, scratch, count, **settings):
        self.zoho = zoho
        self.checkout = checkout
        self.scratch = scratch
        self.names = [f"vps{number:02d}" for number in range(1, count + 1)]
        self.inventory = scratch / "inventory.json"
        hosts = {name: dict(self.host_vars(scratch / name), **settings) for name in self.names}
        self.inventory.touch(mode=0o600)  # it holds the client secret
        self.inventory.write_text(json.dumps({"zoho_crm": {"hosts": hosts}}))

    def host_vars(self, host_dir):
        return {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "ansible_become": False,  # already the agent's user
            "zoho_crm_user": getpass.getuser(),
            "zoho_crm_group": grp.getgrgid(os.getgid()).gr_name,
            "zoho_crm_home": str(host_dir / ".openclaw"),
            "zoho_crm_cron_file": str(host_dir / "crontab"),
            "zoho_crm_client_id": self.zoho.client["client_id"],
            "zoho_crm_client_secret": self.zoho.client["client_secret"],
            "zoho_crm_redirect_uri": self.zoho.client["redirect_uri"],
            "zoho_crm_accounts_url": self.zoho.accounts_url(),
            "zoho_crm_manage_packages": False,
            "zoho_crm_auth_code": CODE_FROM_EXTRA_VARS,
        }

    def provision(self, authorize=False, codes=None, watch=None):
        """Run provision.yml over every host; with authorize, each gets a fresh Self Client code;
        codes: host -> the code (or redirect URL) to pass instead."""
        if authorize:
            codes = {name: self.zoho.self_client_code(list(oauth.DEFAULT_SCOPES)) for name in self.names}
        return self.play("playbooks/provision.yml", codes, watch)

    def floor(self):
        """Run Ansible's floor over every host."""
        return self.play("bench/ansible_floor.yml")

    def play(self, playbook, codes=None, watch=None):
        """One run; watch(line) sees each line of its output as it comes."""
        command = [VENV_BIN / "ansible-playbook", "-i", self.inventory, "--forks", len(self.names), playbook]
        codes_file = self.scratch / "auth-codes.json"
        if codes:
            codes_file.touch(mode=0o600)
            codes_file.write_text(json.dumps({"bench_auth_codes": codes}))
            command += ["-e", f"@{codes_file}"]
        # The deployed tools run with the python3 on PATH: the venv's.
        environment = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", ANSIBLE_NOCOLOR="1",
                           PYTHONUNBUFFERED="1")
        try:
            began = time.perf_counter()
            with subprocess.Popen([str(part) for part in command], cwd=self.checkout, env=environment,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
                lines = []
                for line in process.stdout:
                    lines.append(line)
                    if watch:
                        watch(line)
                output, returncode = "".join(lines), process.wait(timeout=900)
            seconds = time.perf_counter() - began
        finally:
            codes_file.unlink(missing_ok=True)
        recaps = {host: dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", counters))
                  for host, counters in RECAP_LINE.findall(output)}
        if returncode != 0 or sorted(recaps) != self.names or any(
                recap["failed"] or recap["unreachable"] for recap in recaps.values()):
            raise RuntimeError(f"{playbook} failed (exit {returncode}):\n{output[-5000:]}")
        return PlaybookRun(seconds, recaps, changed_tasks(output), len(TASK_HEADER.findall(output)),
                           sum(recap["ok"] + recap["changed"] for recap in recaps.values()), output)

    def agent_works(self, name):
        """Whether the host's agent reads the CRM: the guide's test script, run from its workspace."""
        workspace = self.scratch / name / ".openclaw" / "workspace"
        if not (workspace / "tools").is_dir():
            return False
        environment = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
        return subprocess.run(["python3", "tools/zoho-crm-test.py"], cwd=workspace, env=environment,
                              capture_output=True, timeout=120).returncode == 0


def provision_fresh(checkout, count, rerun=False):
    """Hosts from a fresh state, authorized in one timed run; with rerun, provisioned once more
    without a code, then Ansible's floor on the same hosts. Returns the PlaybookRuns."""
    with Sandbox(port=0) as zoho, tempfile.TemporaryDirectory() as scratch:
        hosts = LocalHosts(zoho, checkout, Path(scratch), count)
        runs = [hosts.provision(authorize=True)]
        if rerun:
            runs += [hosts.provision(), hosts.floor()]
        return runs


def measure(quick=False):
    first_runs, reruns, floors = [], [], []
    with tempfile.TemporaryDirectory() as checkout:
        checkout = copy_of_checkout(Path(checkout))

        def one_host_round():
            first, rerun, floor = provision_fresh(checkout, 1, rerun=True)
            first_runs.append(first)
            reruns.append(rerun)
            floors.append(floor)
            if rerun.changed_tasks:
                print(f"   the re-run changed: {'; '.join(rerun.changed_tasks)}", flush=True)

        one_host_round()
        [fleet] = provision_fresh(checkout, FLEET_HOSTS)
        if not quick:
            one_host_round()
    first_s, rerun_s, floor_s = (statistics.median(run.seconds for run in runs) for runs in (first_runs, reruns, floors))
    return [
        Figure("idempotent_rerun_changed",
               max(sum(recap["changed"] for recap in run.recaps.values()) for run in reruns), "tasks", "== 0"),
        Figure("idempotent_rerun_time_ratio", rerun_s / first_s, "ratio", "<= 0.6"),
        Figure("idempotent_rerun_vs_ansible_floor_ratio", rerun_s / floor_s, "ratio"),
        Figure("provision_first_run_s", first_s, "s"),
        Figure("provision_rerun_s", rerun_s, "s"),
        Figure("ansible_floor_s", floor_s, "s"),
        # Counts are the worst over the rounds, as everywhere in the bench.
        Figure("provision_first_run_tasks", max(run.tasks for run in first_runs), "tasks"),
        Figure("provision_first_run_tasks_run", max(run.tasks_run for run in first_runs), "tasks"),
        Figure("provision_rerun_tasks", max(run.tasks for run in reruns), "tasks"),
        Figure("provision_rerun_tasks_run", max(run.tasks_run for run in reruns), "tasks"),
        Figure("ansible_floor_tasks_run", max(run.tasks_run for run in floors), "tasks"),
        Figure("fleet_10_hosts_ratio", fleet.seconds / first_s, "ratio"),
        Figure("fleet_10_hosts_s", fleet.seconds, "s"),
    ]

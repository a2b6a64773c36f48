"""The operator's path from an empty host to a working agent: playbook runs and the person's
actions, Zoho's device flow (zoho_crm_auth_flow: device) beside the code flow (the default),
playbooks/provision.yml on localhost against the stand-in, in real time (the device flow's own
waits included).

The person is quick and does what the play's output says, in the scripted browser:
- device flow: one run; when the play shows the URL with the code filled in, they open it and
  press Accept;
- code flow: the first run prints the authorization URL; they open it, press Accept and copy the
  address the browser lands on, which the second run gets as zoho_crm_auth_code (in a 0600
  extra-vars file, as an operator would paste it into -e).

operator_runs_to_working_agent_*: playbook runs until the agent's own test script
(tools/zoho-crm-test.py, run from the host's workspace after each run) reads the CRM.
person_actions_*: what the person did, counted where it happened: pages opened and buttons pressed
are the browser's requests in the stand-in's request log (GET of the consent or verification page,
POST of its form), values copied are those the person carried from the browser into a command.
operator_path_s_*: wall time of the runs (the person's own time is next to nothing here).
Each path runs once on a fresh stand-in and a fresh host.
"""

import re
import tempfile
from pathlib import Path

from harness import Figure
from provisioning import LocalHosts, copy_of_checkout
from zoho_sandbox import Sandbox

# The browser's requests at the stand-in: opening a page, pressing its button.
PAGES = {("GET", "/oauth/v2/auth"), ("GET", "/oauth/v3/device")}
PRESSES = {("POST", "/oauth/v2/auth/consent"), ("POST", "/oauth/v3/device/consent")}
# The play's output may wrap the line after the URL (which has no spaces, so stays whole).
FILLED_IN_URL = re.compile(r"(https?://\S+/oauth/v3/device\?user_code=[A-Z0-9-]+)")
AUTHORIZATION_URL = re.compile(r"(https?://\S+/oauth/v2/auth\?\S+)")
MAX_RUNS = 3


class Person:
    """Does what the output says, once; counts the values carried into a command."""

    def __init__(self, zoho):
        self.zoho = zoho
        self.copied = []

    def approve_device_code(self, line):
        shown = FILLED_IN_URL.search(line)
        if shown:
            assert self.zoho.enter_user_code(shown.group(1)) == "approved"

    def approve_and_copy_redirect(self, output):
        url = AUTHORIZATION_URL.search(output)
        if url is None:
            raise RuntimeError("the first run showed no authorization URL:\n" + output[-3000:])
        redirect = self.zoho.authorize(url.group(1).strip("'\""))
        self.copied.append(redirect)
        return redirect

    def actions(self):
        log = [(entry["method"], entry["path"]) for entry in self.zoho.request_log()]
        return sum(request in PAGES for request in log) + sum(request in PRESSES for request in log) + len(self.copied)


def device_flow_path(checkout, scratch):
    scratch.mkdir()
    with Sandbox(port=0) as zoho:
        hosts = LocalHosts(zoho, checkout, scratch, 1, zoho_crm_auth_flow="device")
        person = Person(zoho)
        runs = [hosts.provision(watch=person.approve_device_code)]
        while not hosts.agent_works(hosts.names[0]):
            if len(runs) == MAX_RUNS:
                raise RuntimeError(f"no working agent after {MAX_RUNS} runs")
            runs.append(hosts.provision(watch=person.approve_device_code))
        return runs, person.actions()


def code_flow_path(checkout, scratch):
    scratch.mkdir()
    with Sandbox(port=0) as zoho:
        hosts = LocalHosts(zoho, checkout, scratch, 1)
        person = Person(zoho)
        runs = [hosts.provision()]
        # The person acts on what the last run showed only while the agent does not work yet.
        while not hosts.agent_works(hosts.names[0]):
            if len(runs) == MAX_RUNS:
                raise RuntimeError(f"no working agent after {MAX_RUNS} runs")
            codes = {hosts.names[0]: person.approve_and_copy_redirect(runs[-1].output)}
            runs.append(hosts.provision(codes=codes))
        return runs, person.actions()


def measure(quick=False):
    with tempfile.TemporaryDirectory() as checkout, tempfile.TemporaryDirectory() as scratch:
        checkout = copy_of_checkout(Path(checkout))
        device_runs, device_actions = device_flow_path(checkout, Path(scratch) / "device")
        code_runs, code_actions = code_flow_path(checkout, Path(scratch) / "code")
    return [
        Figure("operator_runs_to_working_agent_device_flow", len(device_runs), "runs", "== 1"),
        Figure("operator_runs_to_working_agent_code_flow", len(code_runs), "runs"),
        Figure("person_actions_device_flow", device_actions, "actions (open one URL, approve)", "<= 2"),
        Figure("person_actions_code_flow", code_actions, "actions (open, approve, copy)"),
        Figure("operator_path_s_device_flow", sum(run.seconds for run in device_runs), "s"),
        Figure("operator_path_s_code_flow", sum(run.seconds for run in code_runs), "s"),
    ]

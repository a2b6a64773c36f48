"""Run the real playbooks with ansible-playbook on localhost, into a temporary OpenClaw home,
against the Zoho stand-in; and a person who approves the device flow's codes the play shows."""

import contextlib
import getpass
import grp
import json
import os
import pwd
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import zoho_crm_oauth

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


class Playbooks:
    """ansible-playbook against one temporary host; remembers every output for secret searches."""

    def __init__(self, zoho, tmp_path, path=None, env=None):
        self.zoho = zoho
        # The PATH ansible-playbook, its modules and the deployed tools see (default: this one).
        self.path = path or os.environ["PATH"]
        # More environment for them (e.g. a SharedClock's, a Docker engine's DOCKER_HOST).
        self.env = dict(env or {})
        self.home = tmp_path / "home" / ".openclaw"
        self.cron_file = tmp_path / "cron.d" / "zoho-crm"
        self.cron_file.parent.mkdir(parents=True)
        self.inventory = tmp_path / "inventory.yml"
        self.client_secret = zoho.client["client_secret"]
        self.outputs = []
        self.write_inventory()

    def write_inventory(self, **overrides):
        self.write_hosts({"vps": self.host_vars(**overrides)})

    def write_hosts(self, hosts):
        """An inventory of several hosts: name -> host_vars (see host_vars)."""
        self.inventory.write_text(json.dumps({"zoho_crm": {"hosts": hosts}}))

    def host_vars(self, **overrides):
        """The variables of a host on this machine, as the agent's user, with this stand-in as Zoho."""
        host_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            # Already the agent's user here: no sudo.
            "ansible_become": False,
            "zoho_crm_user": getpass.getuser(),
            "zoho_crm_group": grp.getgrgid(os.getgid()).gr_name,
            "zoho_crm_home": str(self.home),
            "zoho_crm_client_id": self.zoho.client["client_id"],
            "zoho_crm_client_secret": self.client_secret,
            "zoho_crm_accounts_url": self.zoho.accounts_url(),
            "zoho_crm_redirect_uri": self.zoho.client["redirect_uri"],
            "zoho_crm_manage_packages": False,
            "zoho_crm_cron_file": str(self.cron_file),
        }
        host_vars.update(overrides)
        return host_vars

    def run(self, playbook, *args, check=True, verbosity=0, watch=None):
        """ansible-playbook; (exit status, output). watch(line) sees each line of the output as it
        comes (stderr merged into stdout), as a person at the terminal would."""
        command = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory), f"playbooks/{playbook}", *args]
        if verbosity:
            command.append("-" + "v" * verbosity)
        # The deployed tools run with the `python3` on PATH: the venv's.
        env = dict(os.environ, PATH=f"{VENV_BIN}:{self.path}", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
                   PYTHONUNBUFFERED="1", **self.env)
        if watch is None:
            completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            returncode, output = completed.returncode, completed.stdout + completed.stderr
        else:
            with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) as process:
                lines = []
                for line in process.stdout:
                    lines.append(line)
                    watch(line)
                returncode, output = process.wait(timeout=300), "".join(lines)
        self.outputs.append(output)
        if check:
            assert returncode == 0, output
        return returncode, output

    def code(self, scopes=zoho_crm_oauth.DEFAULT_SCOPES):
        return self.zoho.self_client_code(list(scopes))

    def provision(self, *args, **kwargs):
        """A first run that authorizes with a fresh Self Client code."""
        return self.run("provision.yml", "-e", f"zoho_crm_auth_code={self.code()}", *args, **kwargs)

    @property
    def credentials(self):
        return self.home / "credentials"

    @property
    def token_path(self):
        return self.credentials / zoho_crm_oauth.TOKENS_FILENAME

    @property
    def client_secret_path(self):
        return self.credentials / zoho_crm_oauth.CLIENT_SECRET_FILENAME

    @property
    def workspace(self):
        return self.home / "workspace"

    def tokens(self):
        return json.loads(self.token_path.read_text())

    def tool(self, script, *args):
        """Run a deployed tool from the workspace, as the guide does."""
        env = dict(os.environ, PATH=f"{VENV_BIN}:{self.path}", **self.env)
        env.pop("ZOHO_CRM_CREDENTIALS_DIR", None)
        env.pop("OPENCLAW_STATE_DIR", None)
        return subprocess.run(["python3", f"tools/{script}", *args], cwd=self.workspace, env=env,
                              capture_output=True, text=True, timeout=120)


def one_line_failure(output):
    """The message of the one failed task, which must be one line (with
    ANSIBLE_CALLBACK_RESULT_FORMAT=json, a result is one JSON object)."""
    marker = "FAILED! => "
    assert output.count(marker) == 1, output[-3000:]
    result, _end = json.JSONDecoder().raw_decode(output[output.index(marker) + len(marker):])
    assert "\n" not in result["msg"]
    return result["msg"]


def recap(output):
    """The PLAY RECAP counters of the one host."""
    match = re.search(r"^vps\s*:\s*(.*)$", output, re.MULTILINE)
    assert match, output
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def task_statuses(output):
    """Task name (without the role's prefix) -> the set of result words the host got for it (ok,
    changed, skipping, failed, fatal), from the default callback's output."""
    statuses, current = {}, None
    for line in output.splitlines():
        header = re.match(r"^TASK \[(?:zoho_crm : )?(.*?)\]", line)
        if header:
            current = statuses.setdefault(header.group(1), set())
        elif current is not None:
            result = re.match(r"^(ok|changed|skipping|failed|fatal): \[", line)
            if result:
                current.add(result.group(1))
    return statuses


def mode(path):
    return os.stat(path).st_mode & 0o777


class DeviceApprover:
    """A person at the terminal: for every user code the play shows ("approve the code ..." and
    the verification URL), once the stand-in has counted `after_polls` polls of it, they open the
    URL, type the code and press Accept (or Reject, with approve=False). Use watch as
    Playbooks.run's watch; shown lists the codes in the order they appeared, decided those acted on."""

    CODE = re.compile(r"approve the code ([A-Z]{4}-[A-Z]{4})")
    URL = re.compile(r"(https?://\S+/oauth/v3/device)(?=\s)")

    def __init__(self, zoho, after_polls=0, approve=True, on_shown=None):
        self.zoho = zoho
        self.after_polls = after_polls
        self.approve = approve
        self.on_shown = on_shown  # called with each code as it shows, instead of acting on it
        self.shown, self.decided, self.errors = [], [], []
        self.url = None
        self._threads = []

    def watch(self, line):
        url = self.URL.search(line)
        if url:
            self.url = url.group(1)
        code = self.CODE.search(line)
        if code and code.group(1) not in self.shown:
            self.shown.append(code.group(1))
            if self.on_shown:
                self.on_shown(code.group(1))
            else:
                thread = threading.Thread(target=self._decide, args=(code.group(1),), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _decide(self, user_code):
        try:
            deadline = time.monotonic() + 120
            while self._polls(user_code) < self.after_polls:
                assert time.monotonic() < deadline, f"{user_code} was polled {self._polls(user_code)} times only"
                time.sleep(0.05)
            while self.url is None:  # the URL line follows the code's
                assert time.monotonic() < deadline, "no verification URL was shown"
                time.sleep(0.05)
            self.decided.append((user_code, self.zoho.enter_user_code(self.url, user_code, approve=self.approve)))
        except Exception as exc:  # reported by join(), in the test's thread
            self.errors.append(f"{user_code}: {exc!r}")

    def _polls(self, user_code):
        return next((flow["polls"] for flow in self.zoho.device_flows() if flow["user_code"] == user_code), 0)

    def join(self):
        for thread in self._threads:
            thread.join(timeout=150)
        assert not self.errors, self.errors
        return self.decided


@contextlib.contextmanager
def throwaway_user(name):
    """A system user NAME (no home, /bin/sh) for the duration; yields its uid. Needs root."""
    subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh", name],
                   check=True)
    try:
        yield pwd.getpwnam(name).pw_uid
    finally:
        subprocess.run(["userdel", name], check=True)

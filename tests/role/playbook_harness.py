"""Run the real playbooks with ansible-playbook on localhost, into a temporary OpenClaw home,
against the Zoho stand-in."""

import getpass
import grp
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import zoho_crm_oauth

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


class Playbooks:
    """ansible-playbook against one temporary host; remembers every output for secret searches."""

    def __init__(self, zoho, tmp_path, path=None):
        self.zoho = zoho
        # The PATH ansible-playbook, its modules and the deployed tools see (default: this one).
        self.path = path or os.environ["PATH"]
        self.home = tmp_path / "home" / ".openclaw"
        self.cron_file = tmp_path / "cron.d" / "zoho-crm"
        self.cron_file.parent.mkdir(parents=True)
        self.inventory = tmp_path / "inventory.yml"
        self.client_secret = zoho.client["client_secret"]
        self.outputs = []
        self.write_inventory()

    def write_inventory(self, **overrides):
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
        self.inventory.write_text(json.dumps({"zoho_crm": {"hosts": {"vps": host_vars}}}))

    def run(self, playbook, *args, check=True, verbosity=0):
        command = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory), f"playbooks/{playbook}", *args]
        if verbosity:
            command.append("-" + "v" * verbosity)
        # The deployed tools run with the `python3` on PATH: the venv's.
        env = dict(os.environ, PATH=f"{VENV_BIN}:{self.path}", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        output = completed.stdout + completed.stderr
        self.outputs.append(output)
        if check:
            assert completed.returncode == 0, output
        return completed.returncode, output

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
        env = dict(os.environ, PATH=f"{VENV_BIN}:{self.path}")
        env.pop("ZOHO_CRM_CREDENTIALS_DIR", None)
        env.pop("OPENCLAW_STATE_DIR", None)
        return subprocess.run(["python3", f"tools/{script}", *args], cwd=self.workspace, env=env,
                              capture_output=True, text=True, timeout=120)


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

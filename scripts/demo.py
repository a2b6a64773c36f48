#!/usr/bin/env python3
"""`make demo`: the whole job on the local Zoho stand-in, as the current user, inside the checkout.

Starts the stand-in on a free loopback port, provisions a demo OpenClaw home under demo/ with the
real playbook (the first run asks for authorization, a scripted browser approves, the second run
exchanges the code), runs the deployed tools the way the agent does, shows that a re-run changes
nothing, and stops the stand-in whatever happens.
"""

import getpass
import grp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from zoho_sandbox import browser

ROOT = Path(__file__).resolve().parents[1]
# The demo's own directory: demo/ in the checkout, or the first argument (the tests use a tmp dir).
DEMO = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "demo"
HOME = DEMO / "home" / ".openclaw"
WORKSPACE = HOME / "workspace"
VENV_BIN = Path(sys.executable).parent
ENV = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
STEPS = 6


def step(number, text):
    print(f"\n\033[1m==> Step {number}/{STEPS}: {text}\033[0m", flush=True)


def run(command, cwd=ROOT, capture=False):
    """Run a command in front of the viewer; stop the demo if it fails."""
    print("$ " + " ".join(str(part) for part in command), flush=True)
    completed = subprocess.run([str(part) for part in command], cwd=cwd, env=ENV, text=True,
                               stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT)
    if capture:
        print(completed.stdout, end="", flush=True)
    if completed.returncode != 0:
        raise SystemExit(f"demo: step failed (exit {completed.returncode}): {' '.join(map(str, command))}")
    return completed.stdout


def start_sandbox():
    ready_file = DEMO / "sandbox-url"
    log = open(DEMO / "sandbox.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "zoho_sandbox", "--port", "0", "--ready-file", ready_file],
                               cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("demo: the Zoho stand-in did not start; see demo/sandbox.log")
        time.sleep(0.1)
    return process, ready_file.read_text().strip()


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_inventory(base_url):
    with urllib.request.urlopen(f"{base_url}/_sandbox/client", timeout=10) as response:
        client = json.load(response)
    inventory = {"zoho_crm": {"hosts": {"demo-vps": {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ansible_become": False,  # the demo runs as you, without root
        "zoho_crm_user": getpass.getuser(),
        "zoho_crm_group": grp.getgrgid(os.getgid()).gr_name,
        "zoho_crm_home": str(HOME),
        "zoho_crm_client_id": client["client_id"],
        "zoho_crm_client_secret": client["client_secret"],
        "zoho_crm_redirect_uri": client["redirect_uri"],
        "zoho_crm_accounts_url": client["accounts_url"],
        "zoho_crm_manage_packages": False,  # nothing installed on your machine
        "zoho_crm_cron_file": str(DEMO / "crontab"),  # a cron file inside demo/, not your crontab
    }}}}
    path = DEMO / "inventory.json"
    path.write_text(json.dumps(inventory, indent=2))
    path.chmod(0o600)
    return path


def main():
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    sandbox = None
    try:
        step(1, "Start the local Zoho stand-in (accounts server + CRM v8 API) on a free loopback port")
        sandbox, base_url = start_sandbox()
        print(f"Zoho stand-in: {base_url}  (demo home: {HOME})")
        inventory = write_inventory(base_url)
        playbook = ["ansible-playbook", "-i", inventory, "playbooks/provision.yml"]

        step(2, "First run: no tokens yet, so the playbook installs the tools and prints the authorization URL")
        output = run(playbook, capture=True)
        auth_url = re.search(r"(https?://\S+/oauth/v2/auth\?\S+)", output).group(1).rstrip("\"',")

        step(3, "Approve in the 'browser', then re-run with the redirect URL: the code is exchanged at once")
        redirect = browser.authorize(auth_url)  # what you do in a browser: open the URL, press Approve
        print(f"The browser was sent to: {redirect.split('?')[0]}?code=... (copy the whole address)")
        # A code is a secret until it is used: pass it in a private file, not on the command line.
        code_file = DEMO / "auth-code.json"
        code_file.touch(mode=0o600)
        code_file.write_text(json.dumps({"zoho_crm_auth_code": redirect}))
        try:
            run(playbook + ["-e", f"@{code_file}"])
        finally:
            code_file.unlink()

        step(4, "The agent's view: run the deployed test tool from the workspace, as the guide does")
        run(["python3", "tools/zoho-crm-test.py"], cwd=WORKSPACE)

        step(5, "An agent query, as the OpenClaw skill teaches: the deals in the Qualification stage")
        run(["python3", "tools/zoho-crm.py", "deals", "list", "--stage", "Qualification", "--limit", "3"],
            cwd=WORKSPACE)

        step(6, "Run the playbook again: everything is in place, so nothing changes (changed=0)")
        output = run(playbook, capture=True)
        if not re.search(r"demo-vps\s*:.*changed=0", output):
            raise SystemExit("demo: the second run changed something; it should not")
        print(f"\n\033[1mDone.\033[0m Look around: {HOME} (credentials are 0600). The refresh schedule, in "
              f"{DEMO / 'crontab'} (a cron file: no crontab needed; on a VPS it goes in the agent's crontab):")
        print((DEMO / "crontab").read_text(), end="")
    finally:
        if sandbox is not None:
            stop(sandbox)
            print("Zoho stand-in stopped.")


if __name__ == "__main__":
    main()

"""The module run by ansible itself (ad hoc, -vvvv), against the Zoho stand-in."""

import json
import os
import subprocess
import sys
from pathlib import Path

import zoho_crm_oauth
from module_harness import write_client_file

ROOT = Path(__file__).resolve().parents[2]


def ansible(credentials, *args, code=None, check=False):
    module_args = [f"token_path={credentials / zoho_crm_oauth.TOKENS_FILENAME}",
                   f"client_secret_path={credentials / zoho_crm_oauth.CLIENT_SECRET_FILENAME}"]
    if code:
        module_args.append(f"code={code}")
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
               "-e", f"ansible_python_interpreter={sys.executable}", "-m", "zoho_crm_token",
               "-a", " ".join(module_args + list(args)), "-vvvv"]
    if check:
        command.append("--check")
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    return completed.returncode, completed.stdout + completed.stderr


def test_exchange_once_then_ok_and_nothing_secret_at_vvvv(zoho, credentials):
    write_client_file(credentials / zoho_crm_oauth.CLIENT_SECRET_FILENAME, zoho)
    code = zoho.self_client_code(list(zoho_crm_oauth.DEFAULT_SCOPES))

    rc, checked = ansible(credentials, code=code, check=True)
    assert rc == 0 and "localhost | CHANGED" in checked, checked
    assert not (credentials / zoho_crm_oauth.TOKENS_FILENAME).exists()
    assert zoho.counters()["token"]["authorization_code"] == 0

    rc, first = ansible(credentials, code=code)
    assert rc == 0 and "localhost | CHANGED" in first, first
    rc, second = ansible(credentials, code=code)
    assert rc == 0 and "localhost | SUCCESS" in second, second
    assert zoho.counters()["token"]["authorization_code"] == 1

    rc, refreshed = ansible(credentials, "state=refreshed", "force=true")
    assert rc == 0 and "localhost | CHANGED" in refreshed
    tokens = json.loads((credentials / zoho_crm_oauth.TOKENS_FILENAME).read_text())
    rc, revoked = ansible(credentials, "state=revoked")
    assert rc == 0 and "localhost | CHANGED" in revoked

    output = "\n".join([checked, first, second, refreshed, revoked])
    assert "zoho_crm_token" in output and "ESTABLISH LOCAL CONNECTION" in output  # really at -vvvv
    for secret in (code, zoho.client["client_secret"], tokens["access_token"], tokens["refresh_token"]):
        assert secret not in output


def test_failure_message_reaches_the_operator_without_secrets(zoho, credentials):
    write_client_file(credentials / zoho_crm_oauth.CLIENT_SECRET_FILENAME, zoho, client_secret="wrong-secret-value")
    code = zoho.self_client_code(list(zoho_crm_oauth.DEFAULT_SCOPES))
    rc, output = ansible(credentials, code=code)
    assert rc != 0
    assert "invalid_client_secret" in output and "Fix:" in output
    assert code not in output and "wrong-secret-value" not in output

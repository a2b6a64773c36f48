"""Run library/zoho_crm_token.py in-process, as Ansible would, against the Zoho stand-in."""

import json
import os
import sys
from pathlib import Path

import pytest

import zoho_crm_oauth

# In Ansible the module imports the shared code as ansible.module_utils.zoho_crm_oauth; give the
# test process the same name for the same file.
sys.modules.setdefault("ansible.module_utils.zoho_crm_oauth", zoho_crm_oauth)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "library"))

from ansible.module_utils.testing import patch_module_args  # noqa: E402

import zoho_crm_token  # noqa: E402


def write_client_file(path, zoho, **overrides):
    """The client-secret file the role writes, for the stand-in's client."""
    accounts = zoho.accounts_url()
    content = dict(client_id=zoho.client["client_id"], client_secret=zoho.client["client_secret"],
                   redirect_uri=zoho.client["redirect_uri"], auth_uri=accounts + zoho_crm_oauth.AUTH_PATH,
                   token_uri=accounts + zoho_crm_oauth.TOKEN_PATH, data_center="us",
                   scopes=list(zoho_crm_oauth.DEFAULT_SCOPES))
    content.update(overrides)
    path.write_text(json.dumps(content))
    return path


class ModuleRunner:
    """Calls the module's main() with arguments and returns its JSON result."""

    def __init__(self, zoho, credentials, capsys):
        self.zoho = zoho
        self.capsys = capsys
        self.client_file = write_client_file(credentials / zoho_crm_oauth.CLIENT_SECRET_FILENAME, zoho)
        self.token_path = credentials / zoho_crm_oauth.TOKENS_FILENAME
        self.outputs = []

    def __call__(self, check_mode=False, diff=False, **args):
        args.setdefault("token_path", str(self.token_path))
        args.setdefault("client_secret_path", str(self.client_file))
        args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                zoho_crm_token.main()
        output = self.capsys.readouterr().out
        self.outputs.append(output)
        return json.loads(output)

    def code(self, scopes=zoho_crm_oauth.DEFAULT_SCOPES, **kwargs):
        return self.zoho.self_client_code(list(scopes), **kwargs)

    def tokens(self):
        return json.loads(self.token_path.read_text())

    def token_bytes(self):
        return self.token_path.read_bytes() if self.token_path.exists() else None

    def mode(self):
        return os.stat(self.token_path).st_mode & 0o777


def warnings_of(result):
    """The warning texts of a module result (ansible-core 2.19 sends them as structured events)."""
    return [warning["event"]["msg"] if isinstance(warning, dict) else warning
            for warning in result.get("warnings", [])]

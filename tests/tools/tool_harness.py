"""Helpers for the workspace tools' tests: a credentials directory wired to the Zoho stand-in, and a way
to run each tool as a user would (a real subprocess, ZOHO_CRM_CREDENTIALS_DIR set).

Every run's output is kept, and when a test ends it is searched for every secret involved (client
secret, grant codes, access and refresh tokens): no tool may print one.

The tools run on a python3 that cannot import requests (OpenClaw's image has none): every
subprocess gets REQUESTS_UNAVAILABLE_DIR first on its PYTHONPATH, whose requests.py raises
ImportError, and conftest.py blocks the import inside the test process too.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import zoho_crm_oauth as oauth

REPO = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO / "roles" / "zoho_crm" / "files" / "tools"
ALL_SCOPES = oauth.DEFAULT_SCOPES + (oauth.SEARCH_SCOPE, oauth.COQL_SCOPE, "ZohoCRM.settings.fields.READ")
# Environment variables that would point a tool at another credentials directory, or send its
# requests elsewhere.
LOCATION_VARIABLES = ("ZOHO_CRM_CREDENTIALS_DIR", "OPENCLAW_STATE_DIR", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                      "all_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
REQUESTS_UNAVAILABLE_DIR = Path(__file__).resolve().parent / "requests_unavailable"


def tool_environment(**extra):
    env = {key: value for key, value in os.environ.items() if key not in LOCATION_VARIABLES}
    # Keep the repository free of __pycache__ next to the deployed tools.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(REQUESTS_UNAVAILABLE_DIR)] + (
        [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(extra)
    return env


class Credentials:
    """A credentials directory (0700) on a sandbox, and the tools run against it."""

    def __init__(self, directory, zoho):
        self.directory = directory
        self.zoho = zoho
        self.client_secret_path = directory / oauth.CLIENT_SECRET_FILENAME
        self.token_path = directory / oauth.TOKENS_FILENAME
        self.token_file = oauth.TokenFile(str(self.token_path))
        self.seen_secrets = set()
        self.outputs = []

    # ---- files -----------------------------------------------------------------------------

    def write_client_secret(self, **overrides):
        accounts = self.zoho.accounts_url()
        content = dict(client_id=self.zoho.client["client_id"], client_secret=self.zoho.client["client_secret"],
                       redirect_uri=self.zoho.client["redirect_uri"], auth_uri=accounts + oauth.AUTH_PATH,
                       token_uri=accounts + oauth.TOKEN_PATH, data_center="us", scopes=list(oauth.DEFAULT_SCOPES))
        content.update(overrides)
        self.seen_secrets.add(content["client_secret"])
        self.client_secret_path.write_text(json.dumps(content, indent=2))
        self.client_secret_path.chmod(0o600)

    def client(self):
        return oauth.ClientConfig.load(str(self.client_secret_path))

    def tokens(self):
        """The token file's JSON, as a dict."""
        record = json.loads(self.token_path.read_text())
        self.seen_secrets.update(record[key] for key in ("access_token", "refresh_token") if record.get(key))
        return record

    def token_bytes(self):
        return self.token_path.read_bytes() if self.token_path.exists() else None

    def update_tokens(self, **changes):
        """Change fields of the token file, any value (a broken one too), under its lock."""
        record = self.tokens()
        record.update(changes)
        with self.token_file.locked():
            write_private(self.token_path, json.dumps(record, indent=2))

    def expire_access_token(self):
        """The file says the access token is dead, as after a night without calls."""
        self.update_tokens(expires_at=oauth.format_time(0))

    # ---- Zoho --------------------------------------------------------------------------------

    def self_client_code(self, scopes=oauth.DEFAULT_SCOPES, **kwargs):
        code = self.zoho.self_client_code(list(scopes), **kwargs)
        self.seen_secrets.add(code)
        return code

    def authorize(self, scopes=oauth.DEFAULT_SCOPES):
        """Tokens from a Self Client code, written as the exchange tool would."""
        code = self.self_client_code(scopes)
        record = oauth.exchange_code(self.client(), oauth.parse_authorization_response(code))
        with self.token_file.locked() as locked:
            locked.write(record)
        return self.tokens()

    def secrets(self):
        """Every secret value a tool could have leaked in this test."""
        if self.token_path.exists():
            self.tokens()
        return {value for value in self.seen_secrets | set(self.zoho.secret_values()) if value}

    # ---- running the tools ---------------------------------------------------------------------

    def command(self, tool, *args):
        return [sys.executable, str(TOOLS_DIR / tool)] + [str(arg) for arg in args]

    def run(self, tool, *args, stdin=None, env=None, timeout=120):
        completed = subprocess.run(self.command(tool, *args), input=stdin, capture_output=True, text=True,
                                   cwd=str(REPO), timeout=timeout, env=self.environment(env))
        self.outputs.append(completed.stdout + completed.stderr)
        return completed

    def start(self, tool, *args, env=None):
        return subprocess.Popen(self.command(tool, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, cwd=str(REPO), env=self.environment(env))

    def environment(self, extra=None):
        return tool_environment(ZOHO_CRM_CREDENTIALS_DIR=str(self.directory), **(extra or {}))

    def assert_no_secret_in(self, *texts):
        secrets = self.secrets()
        assert secrets, "the leak check needs secrets to look for"
        for text in texts:
            leaked = [secret[:8] for secret in secrets if secret in text]
            assert not leaked, "secret(s) starting %s leaked into: %s" % (leaked, text[:300])


def json_answer(credentials, *args):
    """The --json answer of a zoho-crm.py run that must succeed, as a dict."""
    completed = credentials.run("zoho-crm.py", *args)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def crm_requests(zoho):
    """Every CRM request the stand-in has seen (its counters), whatever the route."""
    return sum(zoho.counters()["crm"].values())


def write_private(path, text):
    """Write a 0600 file in place (tests only: the product writes atomically)."""
    Path(path).write_text(text)
    Path(path).chmod(0o600)


def assert_one_line_error(completed, *fragments):
    """A failing tool prints exactly one line on stderr, with the hint, and no traceback."""
    assert completed.returncode != 0
    assert "Traceback" not in completed.stdout + completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("Error: ")
    assert "Fix:" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]

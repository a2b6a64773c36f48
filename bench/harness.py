"""What every benchmark shares: the paths, the figure record, a credentials directory with fresh
tokens from the stand-in, interleaved timing and percentiles."""

import http.client
import json
import math
import operator
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
TOOLS_DIR = ROOT / "roles/zoho_crm/files/tools"
VENV_BIN = Path(sys.executable).parent
# Importing this module puts on the path the client as the agent gets it (the role deploys the
# tools directory as it is, with its copy of zoho_crm_oauth.py) and the stand-in: every benchmark
# imports harness first, then zoho_crm_client, zoho_crm_oauth and zoho_sandbox.
sys.path[:0] = [str(TOOLS_DIR), str(ROOT / "sandbox")]

import zoho_crm_oauth as oauth  # noqa: E402

GOAL_OPERATORS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}


@dataclass
class Figure:
    """One line of results.json. goal is "<op> <number>" (op one of <=, >=, ==) or None."""

    name: str
    value: float
    unit: str
    goal: str = None

    def __post_init__(self):
        if isinstance(self.value, float):
            self.value = round(self.value, 3)

    def met(self):
        """True or False against the goal; None without one."""
        if self.goal is None:
            return None
        symbol, number = self.goal.split()
        return GOAL_OPERATORS[symbol](self.value, float(number))

    def as_json(self):
        return asdict(self)


def provision(zoho, directory, scopes=oauth.DEFAULT_SCOPES):
    """A credentials directory as the role leaves it: the client-secret file and fresh tokens
    from a Self Client code. Returns the client config and the token file."""
    path = Path(directory, oauth.CLIENT_SECRET_FILENAME)
    path.touch(mode=0o600)  # as the role writes it: the client refuses a secret others can read
    path.write_text(json.dumps(dict(zoho.client, token_uri=zoho.accounts_url() + oauth.TOKEN_PATH)))
    client = oauth.ClientConfig.load(str(path))
    code = zoho.self_client_code(list(scopes))
    record = oauth.exchange_code(client, oauth.parse_authorization_response(code))
    token_file = oauth.TokenFile(os.path.join(directory, oauth.TOKENS_FILENAME))
    with token_file.locked() as locked:
        locked.write(record)
    return client, token_file


def expire(token_file):
    """Mark the stored access token dead, as it is after the VPS slept past its expiry."""
    with token_file.locked() as locked:
        record = locked.read()
        record.expires_at = 0
        locked.write(record)


class BareKeepAliveGet:
    """The floor of a CRM read: one standard-library http.client connection, kept alive, sending
    GET api_domain + path with the access token and decoding the JSON answer. Nothing else (no
    retry, no expiry check, no flattening)."""

    def __init__(self, api_domain, access_token):
        parts = urlsplit(api_domain)
        self.prefix = parts.path
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.headers = {"Authorization": "Zoho-oauthtoken " + access_token, "Accept": "application/json"}

    def get(self, path, params):
        self.connection.request("GET", f"{self.prefix}{path}?{urlencode(params)}", headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"the bare GET of {path} answered HTTP {response.status}")
        return json.loads(body)


def percentile(values, fraction):
    """Nearest-rank percentile: an observed value, never an interpolation (with 32 samples p99
    is the slowest one)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def interleaved_timings(rounds, *actions):
    """Time each action once per round, rotating which goes first, so slow spells of a shared
    machine land on every action alike. Returns one list of durations (seconds) per action."""
    durations = [[] for _ in actions]
    for round_number in range(rounds):
        for offset in range(len(actions)):
            index = (round_number + offset) % len(actions)
            began = time.perf_counter()
            actions[index]()
            durations[index].append(time.perf_counter() - began)
    return durations

"""What every benchmark shares: the paths, the figure record, a credentials directory with fresh
tokens from the stand-in, interleaved timing and percentiles."""

import http.client
import json
import math
import operator
import os
import subprocess
import sys
import tempfile
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


class StandInProcess:
    """The stand-in in a process of its own (python -m zoho_sandbox), for the timings of calls
    from this process: in-process, its threads and the client would take turns at one
    interpreter's lock, and every switch between them would land in the figures. Offers what
    provision() and the benchmarks use of a Sandbox, through its control endpoints."""

    def __init__(self, *arguments):
        self.arguments = arguments
        self.process = None
        self.transport = oauth.Transport()

    def __enter__(self):
        with tempfile.TemporaryDirectory() as directory:
            ready = os.path.join(directory, "ready")
            self.process = subprocess.Popen([sys.executable, "-m", "zoho_sandbox", "--port", "0", "--ready-file", ready,
                                             *self.arguments], stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while not os.path.exists(ready):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the stand-in did not start (exit {self.process.poll()})")
                time.sleep(0.05)
            with open(ready) as handle:
                self.base_url = handle.read().strip()
        self.info = self._control("GET", "/client")
        return self

    def __exit__(self, *exc):
        self.transport.close()
        self.process.terminate()
        self.process.wait(timeout=30)

    def _control(self, method, path, **form):
        response = self.transport.request(method, f"{self.base_url}/_sandbox{path}", form=form or None)
        if response.status != 200:
            raise RuntimeError(f"the stand-in refused {method} {path}: HTTP {response.status}")
        return json.loads(response.body)

    @property
    def client(self):
        return {key: self.info[key] for key in ("client_id", "client_secret", "redirect_uri")}

    def accounts_url(self):
        return self.info["accounts_url"]

    def self_client_code(self, scopes):
        return self._control("POST", "/self-client-code", scope=",".join(scopes))["code"]

    def counters(self):
        return self._control("GET", "/counters")


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

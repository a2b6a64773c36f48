"""Fault matrix: every fault Zoho's servers can show, transient and persistent, met by the real tools.

Each cell is one route x one fault x one duration, run against the stand-in with real subprocesses:

routes
  token-endpoint/cron   zoho-crm-refresh-token.py (as cron runs it, with --log-file) refreshing an
                        expired access token; the fault is on the token endpoint.
  token-endpoint/agent  zoho-crm.py --json deals get ID with an expired access token: the agent's
                        client refreshes first; the fault is on the token endpoint.
  crm-api/agent         zoho-crm.py --json deals get ID with a valid token; the fault is on the CRM
                        API. Zoho's CRM has no "200 Access Denied": that answer reaches the agent
                        through the refresh that a rejected token sets off, so that cell has the
                        stand-in's clock past the token's expiry (Zoho answers INVALID_TOKEN) and
                        the throttle on the token endpoint.
faults
  500, 503, a delay past the timeout (the tools run with 1-second timeouts, with_short_timeouts.py),
  a connection reset, a body cut off mid-JSON, Zoho's 200 "Access Denied" (its minting throttle),
  and 429 (CRM: TOO_MANY_REQUESTS; token endpoint: a proxy's page, since Zoho throttles there
  with Access Denied).
durations
  transient   the next 2 calls fail, then Zoho answers.
  persistent  every call fails.

What a careful user expects, and what is asserted:
- The agent retries transient faults within the call (jittered backoff, 3 retries), so a
  transient fault is invisible: one run succeeds.
- Except Access Denied: Zoho refuses to mint for up to 10 minutes, and every request inside the
  window keeps it shut, so nobody retries it. The run ends at once with exit 5 (retry later) and
  a line saying to wait; exactly one request reached the token endpoint; a later run succeeds.
- The cron refresh tries once per run. It runs every 10 minutes on tokens with 16 minutes or less
  left (the next run comes while the token still lives), and the agent refreshes on its own 5
  minutes ahead of expiry, so a failed run loses nothing: it exits 5 (retry later) with one line
  for cron's mail, and the next run succeeds.
- Persistent: one line naming the cause and the fix, no traceback, exit 5 (every fault here is
  Zoho's side, so "retry later" is the right advice), a bounded number of requests (1 for cron
  and for Access Denied, 4 for the agent), and once the fault clears the next run succeeds.
- Always: after every run the token file is whole (valid JSON, every field) with the same refresh
  token, and no run prints a secret (the credentials' leak check).
"""

import json
from dataclasses import dataclass

import pytest

import zoho_crm_oauth as oauth
from reliability_harness import assert_one_line_error, authorized_credentials, run_with_short_timeouts, token_file_problem
from with_short_timeouts import SHORT_TIMEOUT

REFRESH_TOOL = "zoho-crm-refresh-token.py"
AGENT_TOOL = "zoho-crm.py"
OAKLAND = "Oakland School District - Grant Funded"
TRANSIENT_CALLS = 2
AGENT_ATTEMPTS = 4  # ZohoCRMClient's default: the call and 3 retries
DELAY_PAST_TIMEOUT = SHORT_TIMEOUT + 1.0

# The matrix's fault names -> the stand-in's fault kinds.
FAULTS = {
    "500": "status_500",
    "503": "status_503",
    "delay-past-timeout": "delay",
    "connection-reset": "reset",
    "truncated-json": "truncated",
    "200-access-denied": "access_denied",
    "429": "status_429",
}
# What the one-line error must name, per endpoint and fault.
CAUSES = {
    ("token", "status_500"): "HTTP 500",
    ("token", "status_503"): "HTTP 503",
    ("token", "status_429"): "HTTP 429",
    ("token", "delay"): "timed out",
    ("token", "reset"): "Cannot reach",
    ("token", "truncated"): "Cannot reach",
    ("token", "access_denied"): "(Access Denied)",
    ("crm", "status_500"): "HTTP 500",
    ("crm", "status_503"): "HTTP 503",
    ("crm", "status_429"): "TOO_MANY_REQUESTS",
    ("crm", "delay"): "timed out",
    ("crm", "reset"): "Cannot reach",
    ("crm", "truncated"): "Cannot reach",
}


@dataclass(frozen=True)
class Route:
    """The tool a user runs, and the endpoint whose fault it meets."""

    name: str
    tool: str
    endpoint: str  # where the fault is injected: "token" or "crm"
    retries_within_a_run: bool


ROUTES = (
    Route("token-endpoint/cron", REFRESH_TOOL, "token", retries_within_a_run=False),
    Route("token-endpoint/agent", AGENT_TOOL, "token", retries_within_a_run=True),
    Route("crm-api/agent", AGENT_TOOL, "crm", retries_within_a_run=True),
)

# Counted across the cells, reported by the last test of this file.
tally = dict(cells=0, passed=0, transient_recovered=0, persistent_clear_errors=0, runs=0, token_files_damaged=0,
             refresh_tokens_lost=0)


class Cell:
    """One cell of the matrix: the credentials, the fault, and the run-and-check routine."""

    def __init__(self, credentials, route, fault):
        self.credentials = credentials
        self.zoho = credentials.zoho
        self.route = route
        self.fault = fault
        self.refresh_token = credentials.tokens()["refresh_token"]
        self.deal_id = self.zoho.org.deals.id(0)
        # Access Denied at the CRM arrives by the refresh of a token Zoho rejects (see the docstring).
        self.target = "token" if fault == "access_denied" else route.endpoint
        self.log_file = credentials.directory.parent / "refresh.log"
        self.problem = None

    def prepare(self):
        if self.route.endpoint == "token":
            self.credentials.expire_access_token()
        elif self.fault == "access_denied":
            self.zoho.clock.advance(3700)  # Zoho's clock passes the token's expiry; the file's has not

    def inject(self, count=None):
        delay = DELAY_PAST_TIMEOUT if self.fault == "delay" else None
        self.zoho.inject_fault(self.target, self.fault, count=count, delay=delay)

    def requests_to_target(self):
        counters = self.zoho.counters()
        if self.target == "token":
            return counters["token"].get("refresh_token", 0)
        return counters["crm"].get("GET /crm/v8/Deals/{id}", 0)

    def run(self):
        if self.route.tool == REFRESH_TOOL:
            completed = run_with_short_timeouts(self.credentials, REFRESH_TOOL, "--log-file", self.log_file)
        else:
            completed = run_with_short_timeouts(self.credentials, AGENT_TOOL, "--json", "deals", "get", self.deal_id)
        tally["runs"] += 1
        self.check_token_file()
        return completed

    def check_token_file(self):
        problem = token_file_problem(self.credentials.token_path, self.refresh_token)
        if problem and not self.problem:  # one count per cell
            self.problem = problem
            tally["refresh_tokens_lost" if problem == "refresh token lost" else "token_files_damaged"] += 1
        assert problem is None, "after a %s fault the token file is %s" % (self.fault, problem)

    def assert_succeeded(self, completed):
        assert completed.returncode == 0, completed.stderr
        assert "Traceback" not in completed.stdout + completed.stderr
        if self.route.tool == AGENT_TOOL:
            assert json.loads(completed.stdout)["deal"]["Deal_Name"] == OAKLAND
        else:
            assert "INFO refreshed the access token" in self.log_file.read_text().splitlines()[-1]

    def assert_retry_later(self, completed):
        assert_one_line_error(completed, CAUSES.get((self.target, self.fault), ""))
        assert completed.returncode == oauth.EXIT_RETRY_LATER, completed.stderr
        if self.fault == "access_denied":
            assert "wait 10 minutes" in completed.stderr

    def attempts_per_run(self):
        retried = self.route.retries_within_a_run and self.fault != "access_denied"
        return AGENT_ATTEMPTS if retried else 1


CELLS = [pytest.param(route, fault, mode, id="%s-%s-%s" % (route.name, name, mode))
         for route in ROUTES for name, fault in FAULTS.items() for mode in ("transient", "persistent")]


@pytest.fixture
def make_cell(make_zoho, tmp_path):
    made = []

    def make(route, fault):
        credentials = authorized_credentials(make_zoho(), tmp_path / "credentials")
        made.append(credentials)
        return Cell(credentials, route, fault)

    yield make
    for cell_credentials in made:
        cell_credentials.assert_no_secret_in(*cell_credentials.outputs)


@pytest.mark.parametrize("route, fault, mode", CELLS)
def test_fault_matrix_cell(make_cell, route, fault, mode):
    tally["cells"] += 1
    cell = make_cell(route, fault)
    cell.prepare()

    if mode == "transient":
        cell.inject(count=TRANSIENT_CALLS)
        # Within the run when the route retries (and the fault may be retried); else one run per faulted call.
        failing_runs = 0 if cell.attempts_per_run() > TRANSIENT_CALLS else TRANSIENT_CALLS
        for _run in range(failing_runs):
            cell.assert_retry_later(cell.run())
        cell.assert_succeeded(cell.run())
        assert cell.requests_to_target() == TRANSIENT_CALLS + 1
        tally["transient_recovered"] += 1
    else:
        cell.inject()
        before = cell.credentials.token_bytes()
        cell.assert_retry_later(cell.run())
        assert cell.requests_to_target() == cell.attempts_per_run()
        assert cell.credentials.token_bytes() == before
        tally["persistent_clear_errors"] += 1
        cell.zoho.clear_faults()
        cell.assert_succeeded(cell.run())
    tally["passed"] += 1


def test_fault_matrix_figures(figure):
    if not tally["cells"]:
        pytest.skip("no cell of the matrix ran")
    figure("fault_matrix_cells", tally["cells"])
    figure("fault_matrix_passed", tally["passed"], goal=tally["cells"])
    figure("fault_matrix_transient_recovered", tally["transient_recovered"])
    figure("fault_matrix_persistent_clear_errors", tally["persistent_clear_errors"])
    figure("fault_matrix_tool_runs", tally["runs"])
    figure("token_files_damaged", tally["token_files_damaged"], goal=0)
    figure("refresh_tokens_lost", tally["refresh_tokens_lost"], goal=0)
    assert tally["token_files_damaged"] == tally["refresh_tokens_lost"] == 0

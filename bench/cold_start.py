"""Cold starts: a new python process that loads stored tokens and fetches one deal, end-to-end wall
time of the process (interpreter start, imports, reading the token store, the call, exit).

cold_start_ratio_vs_official_sdk: ours against Zoho's official SDK (zohocrmsdk8-0) doing the same.
cli_cold_start_ratio_vs_bare_stdlib: the agent's `python3 tools/zoho-crm.py deals get ID --json`
against a bare standard-library script doing the same GET from the same token file.

What each process does (cold_start_ours.py, cold_start_sdk.py, cold_start_bare.py):
- ours: ZohoCRMClient from a workspace laid out as the role deploys it (tools/ copied from the
  role), reading the credentials directory (client-secret and token files), then get_deal;
- the CLI: tools/zoho-crm.py deals get ID --json in that workspace, printing the deal as JSON;
- the bare script: read the token file, one http.client GET, print the deal as JSON;
- the SDK: Initializer.initialize with the token it stored itself in its FileStore (by row id),
  then RecordOperations("Deals").get_record with the same fields.
Neither mints: both stored access tokens are valid. The SDK also needs the field metadata of
the module and of the modules it links to; it caches them in its resource directory. Its
steady state, the fair comparison, is a later process finding that cache on disk; its first
process ever (empty cache) is reported beside it. The SDK's token carries the scopes it needs
for that (settings.fields, users and org READ, on top of the role's three).

Rounds are interleaved (ours, SDK, SDK first run, CLI, bare script, rotating) after one untimed warm-up round that
compiles bytecode and fills the SDK's cache. HTTP calls per get_deal are counted in the stand-in's
request log around each process (accounts and CRM together, so a mint would show). The processes'
CPU time (user + system) is reported too: on a busy machine it moves much less than wall time.
"""

import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# harness first: importing it puts the tools and the stand-in on sys.path.
from harness import ROOT, TOOLS_DIR, Figure, interleaved_timings, provision
import zoho_crm_oauth as oauth
from zoho_crm_client import DEAL_FIELDS
from zoho_sandbox import Sandbox

ROUNDS = 9
# A VPS's python3 caches the tools' bytecode in tools/__pycache__, and pip compiled the SDK's at
# install: both start from bytecode, whatever this shell says.
PROCESS_ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
SDK_SCOPES = oauth.DEFAULT_SCOPES + ("ZohoCRM.settings.fields.READ", "ZohoCRM.users.READ", "ZohoCRM.org.READ")
OURS_SCRIPT = ROOT / "bench/cold_start_ours.py"
SDK_SCRIPT = ROOT / "bench/cold_start_sdk.py"
BARE_SCRIPT = ROOT / "bench/cold_start_bare.py"


def prints(text):
    return lambda stdout: stdout.strip() == text


def prints_deal_named(name):
    return lambda stdout: json.loads(stdout)["Deal_Name"] == name


def answers_deal_named(name):
    """The CLI's --json answer: the flat deal under "deal", beside api_calls and credits_remaining."""
    return lambda stdout: json.loads(stdout)["deal"]["Deal_Name"] == name


class ColdProcess:
    """One way of starting cold: a fresh python running arguments() (called anew for each run) in
    cwd, whose output must pass check. Remembers the HTTP calls and the CPU time of each run."""

    def __init__(self, name, zoho, check, arguments, cwd=None):
        self.name = name
        self.zoho = zoho
        self.check = check
        self.arguments = arguments
        self.cwd = cwd
        self.http_calls = []
        self.cpu_seconds = []

    def __call__(self):
        requests_before, cpu_before = len(self.zoho.request_log()), children_cpu_seconds()
        completed = subprocess.run([sys.executable, *map(str, self.arguments())], capture_output=True, text=True,
                                   env=PROCESS_ENVIRONMENT, cwd=self.cwd, timeout=120)
        if completed.returncode != 0 or not self.check(completed.stdout):
            raise RuntimeError(f"cold start of {self.name} failed (exit {completed.returncode}): "
                               f"{completed.stdout[-300:]}{completed.stderr[-1500:]}")
        self.http_calls.append(len(self.zoho.request_log()) - requests_before)
        self.cpu_seconds.append(children_cpu_seconds() - cpu_before)


def children_cpu_seconds():
    """User and system CPU time of every child process that has ended (one runs at a time here)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def new_directory(path):
    path.mkdir()
    return path


def deploy_workspace(zoho, scratch):
    """The agent's side of a provisioned host: workspace/tools and a credentials directory."""
    shutil.copytree(TOOLS_DIR, scratch / "workspace" / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    credentials = scratch / "credentials"
    credentials.mkdir(mode=0o700)
    provision(zoho, credentials)
    return scratch / "workspace", credentials


def sdk_token_store(zoho, scratch, endpoints):
    """The SDK's FileStore with a token the SDK obtained itself from a Self Client code."""
    store = scratch / "sdk-tokens.csv"
    credentials = dict(zoho.client, code=zoho.self_client_code(list(SDK_SCOPES)))
    setup = subprocess.run([sys.executable, SDK_SCRIPT, "--store-grant-code", store,
                            new_directory(scratch / "sdk-setup"), *endpoints],
                           input=json.dumps(credentials), capture_output=True, text=True, timeout=120)
    if setup.returncode != 0:
        raise RuntimeError(f"the SDK could not store its token: {setup.stderr[-1500:]}")
    return store


def measure(quick=False):
    rounds = 3 if quick else ROUNDS
    with Sandbox(port=0) as zoho, tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        deal_id = zoho.org.deals.id(0)
        deal_name = zoho.org.deals.record(0)["Deal_Name"]
        fields = ",".join(DEAL_FIELDS)
        endpoints = [zoho.api_domain(), zoho.accounts_url() + oauth.TOKEN_PATH]
        workspace, credentials = deploy_workspace(zoho, scratch)
        store = sdk_token_store(zoho, scratch, endpoints)
        warm_cache = new_directory(scratch / "sdk-resources")
        empty_caches = (new_directory(scratch / f"sdk-first-run-{n}") for n in itertools.count())

        ours = ColdProcess("ours", zoho, prints(deal_name), lambda: [OURS_SCRIPT, workspace, credentials, deal_id])
        sdk = ColdProcess("the official SDK", zoho, prints(deal_name), lambda: [
            SDK_SCRIPT, store, warm_cache, *endpoints, deal_id, fields])
        sdk_first_run = ColdProcess("the official SDK's first run", zoho, prints(deal_name), lambda: [
            SDK_SCRIPT, store, next(empty_caches), *endpoints, deal_id, fields])
        # The agent's command, from its workspace: the tools find the credentials from their own place.
        cli = ColdProcess("the agent CLI", zoho, answers_deal_named(deal_name), lambda: [
            "tools/zoho-crm.py", "deals", "get", deal_id, "--json"], cwd=workspace)
        bare = ColdProcess("the bare standard-library GET", zoho, prints_deal_named(deal_name), lambda: [
            BARE_SCRIPT, credentials / oauth.TOKENS_FILENAME, deal_id, fields])
        processes = (ours, sdk, sdk_first_run, cli, bare)

        interleaved_timings(1, *processes)
        for process in processes:  # the warm-up run filled the SDK's cache: count the steady state
            process.http_calls.clear()
            process.cpu_seconds.clear()
        ours_s, sdk_s, sdk_first_s, cli_s, bare_s = (statistics.median(times)
                                                     for times in interleaved_timings(rounds, *processes))
    return [
        Figure("cold_start_ratio_vs_official_sdk", ours_s / sdk_s, "ratio", "<= 0.12"),
        # CPU time barely depends on what else the machine runs: the same comparison, steadier.
        Figure("cold_start_cpu_ratio_vs_official_sdk",
               statistics.median(ours.cpu_seconds) / statistics.median(sdk.cpu_seconds), "ratio"),
        Figure("cold_start_ms_ours", ours_s * 1000, "ms"),
        Figure("cold_start_ms_official_sdk", sdk_s * 1000, "ms"),
        Figure("cold_start_ms_official_sdk_first_run", sdk_first_s * 1000, "ms"),
        Figure("http_calls_per_get_deal_ours", max(ours.http_calls), "calls"),
        Figure("http_calls_per_get_deal_official_sdk", max(sdk.http_calls), "calls"),
        Figure("http_calls_per_get_deal_official_sdk_first_run", max(sdk_first_run.http_calls), "calls"),
        Figure("cli_cold_start_ratio_vs_bare_stdlib", cli_s / bare_s, "ratio", "<= 1.3"),
        Figure("cli_cold_start_cpu_ratio_vs_bare_stdlib",
               statistics.median(cli.cpu_seconds) / statistics.median(bare.cpu_seconds), "ratio"),
        Figure("cli_cold_start_ms", cli_s * 1000, "ms"),
        Figure("bare_stdlib_cold_start_ms", bare_s * 1000, "ms"),
        Figure("http_calls_per_cli_deals_get", max(cli.http_calls), "calls"),
    ]

"""stampede_32_token_calls: N processes wake up with a dead access token (expired in the shared
token file) and each fetches one deal, all released at once. Ours refreshes under the token
file's lock and re-reads the file first, so one process mints and the others use its token.
Counted: token-endpoint calls at the stand-in, and failed calls. Latency per process: from the
start signal to its call's completion; p50 and p99 over the processes (nearest rank: with 8 or
32 processes p99 is the slowest one), the median of each over the rounds.

The baseline is what most Zoho scripts do: each process reads the file, refreshes on its own if
the token is expired, and calls. Zoho allows 10 mints per refresh token in 10 minutes and then
answers "Access Denied" (the stand-in enforces it; the exchange that made the tokens was mint 1).
"""

import multiprocessing
import os
import statistics
import tempfile
import time

# harness first: importing it puts the tools and the stand-in on sys.path.
from harness import Figure, expire, percentile, provision
import zoho_crm_oauth as oauth
from zoho_crm_client import ZohoCRMClient
from zoho_sandbox import Sandbox

PROCESS_COUNTS = (1, 8, 32)
ROUNDS = 3  # each round is one mint: rounds + the exchange stay within Zoho's 10 per 10 minutes
BASELINE_PROCESSES = 32


def fetch_with_client(directory, deal_id):
    ZohoCRMClient(credentials_dir=directory).get_deal(deal_id)


def fetch_each_on_its_own(directory, deal_id):
    """The common pattern: read the file, refresh if expired, call: no lock, no re-read."""
    client = oauth.ClientConfig.load(os.path.join(directory, oauth.CLIENT_SECRET_FILENAME))
    record = oauth.TokenFile(os.path.join(directory, oauth.TOKENS_FILENAME)).read()
    transport = oauth.Transport()
    if record.needs_refresh():
        record = oauth.refresh_access_token(client, record, transport)
    response = transport.request("GET", f"{record.api_domain}/crm/v8/Deals/{deal_id}", params={"fields": "Deal_Name"},
                                 headers={"Authorization": "Zoho-oauthtoken " + record.access_token})
    if response.status != 200:
        raise oauth.ZohoError(f"HTTP {response.status}", code=(response.json_object() or {}).get("code"))


def racer(fetch, directory, deal_id, start, results):
    """One process of the stampede: wait for the start signal, fetch, report when it finished.
    perf_counter is the system-wide monotonic clock on Linux, comparable across processes."""
    start.wait()
    try:
        fetch(directory, deal_id)
        outcome = "ok"
    except Exception as exc:  # a failed call is a figure, not a broken measurement
        outcome = getattr(exc, "code", type(exc).__name__)
    results.put((outcome, time.perf_counter()))


def race(zoho, directory, token_file, fetch, processes):
    """One stampede: returns (token-endpoint calls, failed calls, latencies in seconds)."""
    expire(token_file)
    minted_before = zoho.counters()["token"]["refresh_token"]
    start, results = multiprocessing.Event(), multiprocessing.Queue()
    racers = [multiprocessing.Process(target=racer, args=(fetch, directory, zoho.org.deals.id(0), start, results))
              for _ in range(processes)]
    for process in racers:
        process.start()
    released = time.perf_counter()
    start.set()
    finished = [results.get(timeout=120) for _ in racers]
    for process in racers:
        process.join(30)
    token_calls = zoho.counters()["token"]["refresh_token"] - minted_before
    failed = sum(outcome != "ok" for outcome, _ in finished)
    return token_calls, failed, [done - released for _, done in finished]


def races(fetch, processes, rounds):
    """Rounds of one stampede on one stand-in and token file: a list of race() results."""
    with Sandbox(port=0) as zoho, tempfile.TemporaryDirectory() as directory:
        _client, token_file = provision(zoho, directory)
        return [race(zoho, directory, token_file, fetch, processes) for _round in range(rounds)]


def measure(quick=False):
    rounds = 1 if quick else ROUNDS
    figures, failed_calls = [], 0
    for processes in PROCESS_COUNTS:
        results = races(fetch_with_client, processes, rounds)
        failed_calls += sum(failed for _calls, failed, _latencies in results)
        figures += [
            Figure(f"stampede_{processes}_token_calls", max(calls for calls, _, _ in results), "calls", "== 1"),
            Figure(f"stampede_{processes}_p50_ms",
                   statistics.median(percentile(latencies, 0.50) for _, _, latencies in results) * 1000, "ms"),
            Figure(f"stampede_{processes}_p99_ms",
                   statistics.median(percentile(latencies, 0.99) for _, _, latencies in results) * 1000, "ms"),
        ]
    [(baseline_calls, baseline_failed, _latencies)] = races(fetch_each_on_its_own, BASELINE_PROCESSES, 1)
    return figures + [
        Figure("stampede_failed_calls", failed_calls, "calls", "== 0"),
        Figure(f"stampede_{BASELINE_PROCESSES}_token_calls_without_lock", baseline_calls, "calls"),
        Figure(f"stampede_{BASELINE_PROCESSES}_failed_calls_without_lock", baseline_failed, "calls"),
    ]

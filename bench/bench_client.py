#!/usr/bin/env python3
"""Benchmarks of the agent's client against the local Zoho stand-in, each one ours against a
baseline measured side by side in the same run. They print ratios, never pass/fail on time:
these machines are shared and noisy.

1. Refresh stampede: N processes wake up with an expired access token and make one call each.
   Ours refreshes under the token file's lock and re-reads it first; the baseline is what most
   Zoho scripts do, each process refreshing on its own. Counted: token-endpoint mints and failed
   calls (Zoho allows 10 mints per refresh token per 10 minutes, then answers "Access Denied").
2. Per-call overhead: ZohoCRMClient.get_deal against a bare requests.Session GET with the same
   token, interleaved, N calls each. The client's extra work (token-file state, expiry check,
   retry loop, flattening) should cost little next to the HTTP round trip.
3. Listing every deal of a 5,000-deal org: ours (page numbers, then page_token past 2,000)
   against page numbers only. Counted: records reached and list calls.

Run: make bench   (or .venv/bin/python bench/bench_client.py [--processes 20] [--calls 300])
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "module_utils"), str(ROOT / "roles/zoho_crm/files/tools"), str(ROOT / "sandbox")]

import zoho_crm_oauth as oauth  # noqa: E402
from zoho_crm_client import ZohoCRMClient  # noqa: E402
from zoho_sandbox import Sandbox  # noqa: E402


def provision(zoho, directory):
    """A credentials directory with fresh tokens from a Self Client code."""
    path = Path(directory, oauth.CLIENT_SECRET_FILENAME)
    path.write_text(json.dumps(dict(zoho.client, token_uri=zoho.accounts_url() + oauth.TOKEN_PATH)))
    client = oauth.ClientConfig.load(str(path))
    code = zoho.self_client_code(list(oauth.DEFAULT_SCOPES))
    record = oauth.exchange_code(client, oauth.parse_authorization_response(code))
    token_file = oauth.TokenFile(os.path.join(directory, oauth.TOKENS_FILENAME))
    with token_file.locked():
        token_file.write(record)
    return client, token_file


def expire(token_file):
    with token_file.locked():
        token_file.write(dict(token_file.read(), expires_at=oauth.format_time(0)))


# ---- 1. refresh stampede -------------------------------------------------------------------

def _ours(directory, start, results):
    start.wait()
    try:
        ZohoCRMClient(credentials_dir=directory).list_deals(limit=1).__next__()
        results.put("ok")
    except oauth.ZohoError as exc:
        results.put(exc.code)


def _each_on_its_own(directory, start, results):
    """The common pattern: read the file, refresh if expired, call: no lock, no re-read."""
    start.wait()
    client = oauth.ClientConfig.load(os.path.join(directory, oauth.CLIENT_SECRET_FILENAME))
    record = oauth.TokenFile(os.path.join(directory, oauth.TOKENS_FILENAME)).read()
    try:
        if oauth.needs_refresh(record):
            record = oauth.refresh_access_token(client, record)
        response = requests.get(record["api_domain"] + "/crm/v8/Deals", params={"fields": "Deal_Name", "per_page": 1},
                                headers={"Authorization": "Zoho-oauthtoken " + record["access_token"]}, timeout=30)
        results.put("ok" if response.status_code == 200 else response.json().get("code", response.status_code))
    except oauth.ZohoError as exc:
        results.put(exc.code)


def stampede(worker, processes):
    with Sandbox(port=0) as zoho, tempfile.TemporaryDirectory() as directory:
        _client, token_file = provision(zoho, directory)
        expire(token_file)
        before = zoho.counters()["token"]["refresh_token"]
        start, results = multiprocessing.Event(), multiprocessing.Queue()
        workers = [multiprocessing.Process(target=worker, args=(directory, start, results)) for _ in range(processes)]
        for process in workers:
            process.start()
        began = time.perf_counter()
        start.set()
        outcomes = [results.get(timeout=120) for _ in workers]
        elapsed = time.perf_counter() - began
        for process in workers:
            process.join(30)
        mints = zoho.counters()["token"]["refresh_token"] - before
        return mints, sum(outcome != "ok" for outcome in outcomes), elapsed


# ---- 2. per-call overhead ------------------------------------------------------------------

def overhead(calls):
    with Sandbox(port=0) as zoho, tempfile.TemporaryDirectory() as directory:
        provision(zoho, directory)
        crm = ZohoCRMClient(credentials_dir=directory)
        deal_id = next(crm.list_deals(limit=1))["id"]
        url = crm.api_domain + "/crm/v8/Deals/" + deal_id
        headers = {"Authorization": "Zoho-oauthtoken " + crm.access_token()}
        bare = requests.Session()
        params = {"fields": "Deal_Name,Stage,Contact_Name,Amount,Closing_Date,Description"}
        ours, baseline = [], []
        for _ in range(calls):  # interleaved, so both see the same machine load
            began = time.perf_counter()
            crm.get_deal(deal_id)
            ours.append(time.perf_counter() - began)
            began = time.perf_counter()
            bare.get(url, params=params, headers=headers, timeout=30).json()
            baseline.append(time.perf_counter() - began)
        return statistics.median(ours), statistics.median(baseline)


# ---- 3. listing past 2,000 -----------------------------------------------------------------

def listing(deals):
    with Sandbox(port=0, deals=deals) as zoho, tempfile.TemporaryDirectory() as directory:
        provision(zoho, directory)
        crm = ZohoCRMClient(credentials_dir=directory)
        began = time.perf_counter()
        ours = sum(1 for _ in crm.list_deals(limit=None))
        ours_time = time.perf_counter() - began
        ours_calls = zoho.counters()["crm"].get("GET /crm/v8/Deals", 0)
        page_only = sum(1 for _ in crm._pages("/Deals", {"fields": "Deal_Name"}, page_tokens=False))
        page_calls = zoho.counters()["crm"].get("GET /crm/v8/Deals", 0) - ours_calls
        return ours, ours_calls, ours_time, page_only, page_calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=20)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--deals", type=int, default=5000)
    args = parser.parse_args()

    print(f"1. Refresh stampede: {args.processes} processes, expired access token, one call each")
    ours = stampede(_ours, args.processes)
    naive = stampede(_each_on_its_own, args.processes)
    print(f"   shared token file + lock : {ours[0]:3d} mint(s), {ours[1]:3d} failed call(s), {ours[2]:.2f} s")
    print(f"   each process on its own  : {naive[0]:3d} mint(s), {naive[1]:3d} failed call(s), {naive[2]:.2f} s")
    print(f"   ratio of mints (baseline/ours): {naive[0] / max(ours[0], 1):.1f}x")

    print(f"\n2. Per-call overhead: get_deal vs a bare requests GET, {args.calls} calls each, interleaved")
    client_median, bare_median = overhead(args.calls)
    print(f"   ZohoCRMClient.get_deal   : {client_median * 1000:.2f} ms median")
    print(f"   bare requests.Session    : {bare_median * 1000:.2f} ms median")
    print(f"   ratio (ours/bare): {client_median / bare_median:.2f}x")

    print(f"\n3. Listing every deal of a {args.deals}-deal org")
    reached, calls, seconds, page_only, page_calls = listing(args.deals)
    print(f"   page, then page_token    : {reached:6d} deals in {calls} calls ({seconds:.2f} s)")
    print(f"   page numbers only        : {page_only:6d} deals in {page_calls} calls")
    print(f"   ratio of deals reached (ours/page-only): {reached / max(page_only, 1):.2f}x")


if __name__ == "__main__":
    main()

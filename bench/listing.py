"""list_5000_deals_calls: every deal of a 5,000-deal org through ZohoCRMClient.list_deals.
Zoho serves at most 200 records a call, so 25 calls is the minimum; page numbers stop at 2,000
records and page_token goes on. The wall time is set against a bare loop making the same GETs
(the standard library's http.client on one kept-alive connection, same fields, 200 a page, page
numbers then next_page_token, the JSON decoded), interleaved, after one untimed listing each that
checks the two sent the same requests.

The ratio is the median of each round's ratio, not of the two medians: a round is two listings
back to back, under one second, so a slow spell of the shared machine lands on both of a round
more often than on both of the medians. The stand-in serves in a thread of this process, so its
work (about two thirds of a listing here) is in both sides' time; what the client itself costs
is reported beside the ratio, as CPU time of the listing thread beyond the bare loop's."""

import statistics
import tempfile
import time

# harness first: importing it puts the tools and the stand-in on sys.path.
from harness import BareKeepAliveGet, Figure, interleaved_timings, provision
from zoho_crm_client import DEAL_FIELDS, PAGE_NUMBER_RECORD_LIMIT, PAGE_SIZE, ZohoCRMClient
from zoho_sandbox import Sandbox

DEALS = 5000
ROUNDS = 21
LIST_CALL = "GET /crm/v8/Deals"


def list_with_bare_loop(bare):
    """The shortest loop making the client's GETs: page numbers for the first 2,000 records (the
    stand-in serves those a little faster than page_token pages), then next_page_token. Returns
    the number of deals listed."""
    params = {"fields": ",".join(DEAL_FIELDS), "per_page": PAGE_SIZE, "page": 1}
    listed = 0
    while True:
        payload = bare.get("/crm/v8/Deals", params)
        listed += len(payload["data"])
        info = payload["info"]
        if not info["more_records"]:
            return listed
        if "page" in params and params["page"] * PAGE_SIZE < PAGE_NUMBER_RECORD_LIMIT:
            params["page"] += 1
        else:
            params.pop("page", None)
            params["page_token"] = info["next_page_token"]


def listing_queries(log):
    """The query of each deal listing GET in the stand-in's log entries, page tokens blanked (each
    is signed afresh)."""
    return [dict(entry["params"], page_token="...") if "page_token" in entry["params"] else entry["params"]
            for entry in log if (entry["method"], entry["path"]) == ("GET", "/crm/v8/Deals")]


def measure(quick=False):
    rounds = 1 if quick else ROUNDS
    with Sandbox(port=0, deals=DEALS) as zoho, tempfile.TemporaryDirectory() as directory:
        provision(zoho, directory)
        crm = ZohoCRMClient(credentials_dir=directory)
        bare = BareKeepAliveGet(crm.api_domain, crm.access_token())
        listed, calls, cpu_ours, cpu_bare = [], [], [], []

        def list_with_client():
            before, cpu = zoho.counters()["crm"].get(LIST_CALL, 0), time.thread_time()
            listed.append(sum(1 for _deal in crm.list_deals()))
            cpu_ours.append(time.thread_time() - cpu)
            calls.append(zoho.counters()["crm"][LIST_CALL] - before)

        def list_bare():
            cpu = time.thread_time()
            listed.append(list_with_bare_loop(bare))
            cpu_bare.append(time.thread_time() - cpu)

        # Untimed: the stand-in builds its records on the first listing, which would slow whoever
        # goes first; and the two must make the same GETs, or the ratio compares different work.
        start = len(zoho.request_log())
        list_with_client()
        middle = len(zoho.request_log())
        list_bare()
        log = zoho.request_log()
        queries = listing_queries(log[start:middle])
        if not queries or queries != listing_queries(log[middle:]):
            raise RuntimeError("the bare loop's GETs differ from the client's: the ratio would compare different work")
        del cpu_ours[:], cpu_bare[:]
        ours, floor = interleaved_timings(rounds, list_with_client, list_bare)
    if set(listed) != {DEALS}:
        raise RuntimeError(f"a listing of {DEALS} deals returned {sorted(set(listed))} deals")
    return [
        Figure("list_5000_deals_calls", max(calls), "calls", "== 25"),
        Figure("list_5000_deals_time_ratio_vs_bare",
               statistics.median(mine / bare for mine, bare in zip(ours, floor)), "ratio", "<= 1.15"),
        Figure("list_5000_deals_s_ours", statistics.median(ours), "s"),
        Figure("list_5000_deals_s_bare", statistics.median(floor), "s"),
        Figure("list_5000_deals_client_cpu_us_per_deal_beyond_bare",
               (statistics.median(cpu_ours) - statistics.median(cpu_bare)) / DEALS * 1e6, "us"),
    ]

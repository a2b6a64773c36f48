"""list_5000_deals_calls: every deal of a 5,000-deal org through ZohoCRMClient.list_deals.
Zoho serves at most 200 records a call, so 25 calls is the minimum; page numbers stop at 2,000
records and page_token goes on. The wall time is set against a bare loop making the same GETs
(the standard library's http.client on one kept-alive connection, same fields, 200 a page, page
numbers then next_page_token, the JSON decoded), interleaved, after one untimed listing each that
checks the two sent the same requests."""

import statistics
import tempfile

# harness first: importing it puts the tools and the stand-in on sys.path.
from harness import BareKeepAliveGet, Figure, interleaved_timings, provision
from zoho_crm_client import DEAL_FIELDS, PAGE_NUMBER_RECORD_LIMIT, PAGE_SIZE, ZohoCRMClient
from zoho_sandbox import Sandbox

DEALS = 5000
ROUNDS = 9
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
        listed, calls = [], []

        def list_with_client():
            before = zoho.counters()["crm"].get(LIST_CALL, 0)
            listed.append(sum(1 for _deal in crm.list_deals()))
            calls.append(zoho.counters()["crm"][LIST_CALL] - before)

        def list_bare():
            listed.append(list_with_bare_loop(bare))

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
        ours, floor = (statistics.median(times) for times in interleaved_timings(rounds, list_with_client, list_bare))
    if set(listed) != {DEALS}:
        raise RuntimeError(f"a listing of {DEALS} deals returned {sorted(set(listed))} deals")
    return [
        Figure("list_5000_deals_calls", max(calls), "calls", "== 25"),
        Figure("list_5000_deals_time_ratio_vs_bare", ours / floor, "ratio", "<= 1.15"),
        Figure("list_5000_deals_s_ours", ours, "s"),
    ]

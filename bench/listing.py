"""list_5000_deals_calls: every deal of a 5,000-deal org through ZohoCRMClient.list_deals.
Zoho serves at most 200 records a call, so 25 calls is the minimum; page numbers stop at 2,000
records and page_token goes on. The wall time is set against a bare loop over the same listing
(the standard library's http.client on one kept-alive connection, same fields, 200 a page,
following next_page_token), interleaved."""

import statistics
import tempfile

# harness first: importing it puts the tools and the stand-in on sys.path.
from harness import BareKeepAliveGet, Figure, interleaved_timings, provision
from zoho_crm_client import DEAL_FIELDS, PAGE_SIZE, ZohoCRMClient
from zoho_sandbox import Sandbox

DEALS = 5000
ROUNDS = 9
LIST_CALL = "GET /crm/v8/Deals"


def list_with_bare_loop(bare):
    """The shortest correct loop: follow next_page_token from the first page on. Returns the
    number of deals listed."""
    params = {"fields": ",".join(DEAL_FIELDS), "per_page": PAGE_SIZE}
    listed = 0
    while True:
        payload = bare.get("/crm/v8/Deals", params)
        listed += len(payload["data"])
        if not payload["info"]["more_records"]:
            return listed
        params["page_token"] = payload["info"]["next_page_token"]


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

        ours, floor = (statistics.median(times) for times in interleaved_timings(rounds, list_with_client, list_bare))
    if set(listed) != {DEALS}:
        raise RuntimeError(f"a listing of {DEALS} deals returned {sorted(set(listed))} deals")
    return [
        Figure("list_5000_deals_calls", max(calls), "calls", "== 25"),
        Figure("list_5000_deals_time_ratio_vs_bare", ours / floor, "ratio", "<= 1.15"),
        Figure("list_5000_deals_s_ours", ours, "s"),
    ]

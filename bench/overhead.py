"""get_deal_overhead_ratio: ZohoCRMClient.get_deal in steady state against the floor, a bare
keep-alive GET of the same record with the standard library's http.client (same URL, fields,
headers and token), interleaved call by call. The client's own work (token-file state, expiry
check, retry loop, flattening) should cost little next to one HTTP round trip, even on loopback
where that round trip is short."""

import statistics
import tempfile

# harness first: importing it puts the tools and the stand-in on sys.path.
from harness import BareKeepAliveGet, Figure, interleaved_timings, provision
from zoho_crm_client import DEAL_FIELDS, ZohoCRMClient
from zoho_sandbox import Sandbox

CALLS = 2000
WARM_UP_CALLS = 50


def measure(quick=False):
    calls = CALLS // 10 if quick else CALLS
    with Sandbox(port=0) as zoho, tempfile.TemporaryDirectory() as directory:
        provision(zoho, directory)
        crm = ZohoCRMClient(credentials_dir=directory)
        deal_id = zoho.org.deals.id(0)
        bare = BareKeepAliveGet(crm.api_domain, crm.access_token())
        params = {"fields": ",".join(DEAL_FIELDS)}

        def bare_get():
            return bare.get(f"/crm/v8/Deals/{deal_id}", params)["data"][0]

        def client_get():
            return crm.get_deal(deal_id)

        if client_get()["id"] != bare_get()["id"]:
            raise RuntimeError("the client and the bare GET fetched different records")
        interleaved_timings(WARM_UP_CALLS, client_get, bare_get)  # connections open, caches warm
        ours, floor = (statistics.median(times) for times in interleaved_timings(calls, client_get, bare_get))
    return [
        Figure("get_deal_overhead_ratio", ours / floor, "ratio", "<= 1.1"),
        Figure("get_deal_ms_ours", ours * 1000, "ms"),
        Figure("get_deal_ms_bare_keep_alive", floor * 1000, "ms"),
    ]

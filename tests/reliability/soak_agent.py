"""One agent of the concurrency soak: a long-lived process reading a deal through ZohoCRMClient
until the stop file appears, as an agent's runtime would between its tasks.

    python soak_agent.py DEAL_ID STOP_FILE SEED    (tools directory on PYTHONPATH)

Prints one JSON line at the end: {"calls": n, "failures": ["one-line error", ...]}.
"""

import json
import os
import random
import sys
import time

from zoho_crm_client import ZohoCRMClient, ZohoError

MAX_CALLS = 100_000  # a bound on the loop; the stop file ends it long before
PAUSE = (0.2, 0.8)  # real seconds between calls


def main():
    deal_id, stop_file, seed = sys.argv[1:4]
    pause = random.Random(seed)
    crm = ZohoCRMClient()
    calls, failures = 0, []
    for _call in range(MAX_CALLS):
        if os.path.exists(stop_file):
            break
        calls += 1
        try:
            if crm.get_deal(deal_id)["id"] != deal_id:
                failures.append("get_deal returned another deal")
        except ZohoError as exc:
            failures.append(str(exc))
        time.sleep(pause.uniform(*PAUSE))
    print(json.dumps({"calls": calls, "failures": failures}))


if __name__ == "__main__":
    main()

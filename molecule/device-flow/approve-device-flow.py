#!/usr/bin/env python3
"""The person at the browser in the device-flow scenario. Waits until the stand-in has been polled
for a pending user code (the play shows the code before it polls), then opens the verification
URL, types the code and presses Accept with the stand-in's scripted browser, and writes what it
did to RESULT_FILE (JSON) for verify. Gives up after 240 s.

    approve-device-flow.py SANDBOX_URL RESULT_FILE
"""

import json
import sys
import time
import urllib.request

from zoho_sandbox import browser

GIVE_UP_AFTER = 240


def control(sandbox_url, path):
    with urllib.request.urlopen(sandbox_url + path, timeout=10) as answer:
        return json.load(answer)


def main(sandbox_url, result_file):
    data_centers = control(sandbox_url, "/_sandbox/client")["data_centers"]
    deadline = time.monotonic() + GIVE_UP_AFTER
    result = {"error": "no pending user code was polled within %d s" % GIVE_UP_AFTER}
    while time.monotonic() < deadline:
        polled = [flow for flow in control(sandbox_url, "/_sandbox/device")
                  if flow["status"] == "pending" and flow["polls"] >= 1]
        if polled:
            flow = polled[0]
            url = data_centers[flow["dc"]]["accounts_url"] + "/oauth/v3/device"
            result = {"user_code": flow["user_code"], "polls_before": flow["polls"],
                      "outcome": browser.enter_user_code(url, flow["user_code"])}
            break
        time.sleep(0.5)
    with open(result_file, "w") as handle:
        json.dump(result, handle)
    return 0 if "outcome" in result else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

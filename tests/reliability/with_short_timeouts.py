"""Run a workspace tool with every HTTP timeout cut to SHORT_TIMEOUT seconds.

    python with_short_timeouts.py TOOL_PATH [ARGS...]

The tools wait up to 30 s for Zoho, so a "delay past the timeout" fault would cost half a minute
per call; here it costs one second. Nothing else changes: the tool runs as __main__ with its own
arguments, retries and error handling, and exits with its own status.
"""

import os
import runpy
import sys

SHORT_TIMEOUT = 1.0


def shorten_timeouts(tool):
    """Cap the timeout of every HTTP call the tool makes: the token endpoint's (zoho_crm_oauth._send)
    and, except in the cron tool, which must run without requests, the CRM's (requests)."""
    import zoho_crm_oauth  # the very module object the tool imports next

    send = zoho_crm_oauth._send

    def send_with_short_timeout(request, timeout, validate_certs):
        return send(request, min(timeout, SHORT_TIMEOUT), validate_certs)

    zoho_crm_oauth._send = send_with_short_timeout
    if not tool.endswith("zoho-crm-refresh-token.py"):
        import requests

        request = requests.Session.request

        def request_with_short_timeout(self, method, url, **kwargs):
            kwargs["timeout"] = SHORT_TIMEOUT
            return request(self, method, url, **kwargs)

        requests.Session.request = request_with_short_timeout


def main():
    tool = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(tool)))
    shorten_timeouts(tool)
    runpy.run_path(tool, run_name="__main__")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Print the Zoho CRM authorization URL and how to finish; with --listen, also catch the redirect;
with --device, authorize by Zoho's device flow (a code to approve on any browser, no redirect).

    cd <home>/workspace && python3 tools/zoho-crm-oauth-init.py [--listen | --device]

Standard library only.
"""

import argparse
import html
import http.server
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import zoho_crm_oauth as oauth
import zoho_crm_tools as tools

LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
EXCHANGE_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoho-crm-oauth-exchange.py")
# How long a browser's idle pre-connection may hold the single-threaded callback server.
IDLE_CONNECTION_TIMEOUT = 5

EPILOG = """\
Without --listen: open the URL, approve, and paste the redirect URL (or its code) into
zoho-crm-oauth-exchange.py, or use a Self Client code instead (both are printed).

With --listen: a server on the redirect URI's port (bound to 127.0.0.1 only) catches Zoho's
redirect, checks its state, and hands the code to zoho-crm-oauth-exchange.py over stdin at once.
From a laptop, tunnel the port first: ssh -L 8080:127.0.0.1:8080 user@vps

With --device: Zoho's device flow, for a client of the type Non-browser Mobile Applications.
The tool shows a URL and a user code; approve it on any browser (a phone will do) within 5
minutes, and the tool saves the tokens by itself. Nothing to copy, no port, no tunnel. Running
it again while a code is pending shows the same code; the playbook (zoho_crm_auth_flow: device)
shares it too.

exit status: 0 printed (or, with --listen or --device, tokens saved, or already there), 1 other
failure, 2 bad arguments, 3 configuration error, 4 authorization denied, mismatched, expired or
not received in time, 5 transient (e.g. Zoho's limit of 10 codes per 10 minutes).
"""


def print_instructions(client, state, listening):
    console = oauth.data_center(client.data_center or oauth.data_center_of(client.accounts_server) or "us")
    print("Zoho CRM OAuth Authorization URL:")
    print(oauth.authorization_url(client, state))
    print()
    print("Copy this URL and open it in your browser.")
    if listening:
        return
    print("After you approve, the browser goes to %s?code=... (the page itself may not load)." % client.redirect_uri)
    print("Within 2 minutes (the code expires), copy that whole address-bar URL, or only its code, and run:")
    print("  python3 tools/zoho-crm-oauth-exchange.py -      (then paste it and press Enter)")
    print()
    print("Alternative without a redirect (Self Client):")
    print("  1. Open %s, choose Self Client, then Generate Code.%s" % (
        console.console_url, "" if console.confirmed else " (This data center's hosts are not confirmed by Zoho's SDKs.)"))
    print("  2. Scope: %s" % ",".join(client.scopes))
    print("  3. Pick a duration (10 minutes), create, copy the code, and run:")
    print("     python3 tools/zoho-crm-oauth-exchange.py -")


def loopback_address(redirect_uri):
    parts = urlsplit(redirect_uri)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise oauth.ConfigError("--listen needs a plain-http loopback redirect URI (http://localhost:PORT/...), "
                                "not %s. Fix: register http://localhost:8080/oauth/callback for the client and set "
                                "redirect_uri to it, or finish with zoho-crm-oauth-exchange.py." % redirect_uri)
    return "127.0.0.1", parts.port or 80


def run_exchange(redirect_url, force):
    """Hand the redirect to the exchange tool through stdin, never through its arguments.
    Returns (exit status, its last line on stderr)."""
    command = [sys.executable, EXCHANGE_SCRIPT, "-"] + (["--force"] if force else [])
    # Bounded by the exchange's own waits: the lock, then a probe and an exchange at Zoho.
    limit = oauth.LOCK_TIMEOUT + 2 * oauth.DEFAULT_TIMEOUT + 10
    try:
        completed = subprocess.run(command, input=redirect_url + "\n", stderr=subprocess.PIPE,
                                   universal_newlines=True, timeout=limit)
    except subprocess.TimeoutExpired:
        message = "Error: the exchange did not finish within %d s. Fix: retry with a new code." % limit
        print(message, file=sys.stderr)
        return oauth.EXIT_RETRY_LATER, message
    sys.stderr.write(completed.stderr)
    lines = completed.stderr.strip().splitlines()
    return completed.returncode, lines[-1] if lines else ""


def make_handler(redirect_uri, state, force, outcome):
    callback_path = urlsplit(redirect_uri).path or "/"

    class CallbackHandler(http.server.BaseHTTPRequestHandler):
        timeout = IDLE_CONNECTION_TIMEOUT

        def do_GET(self):
            if urlsplit(self.path).path != callback_path:
                self.respond(404, "Not found", "This server only waits for Zoho's redirect.")
                return
            redirect_url = redirect_uri.split("?")[0] + self.path[len(callback_path):]
            try:
                oauth.parse_authorization_response(redirect_url, expected_state=state)
            except oauth.AuthorizationError as exc:
                print("Error: %s" % exc, file=sys.stderr)
                outcome.append((exc.exit_status, "Error: %s" % exc))
            else:
                outcome.append(run_exchange(redirect_url, force))
            status, message = outcome[-1]
            if status == oauth.EXIT_OK:
                self.respond(200, "Zoho CRM connected", "The tokens are saved on the server. You can close this tab.")
            else:
                self.respond(400, "Zoho CRM authorization failed", message + " Run zoho-crm-oauth-init.py again.")

        def respond(self, status, title, text):
            body = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body><h1>%s</h1>"
                    "<p>%s</p></body></html>" % (html.escape(title), html.escape(title), html.escape(text)))
            payload = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args):
            pass  # the default access log would print the request line, grant code included

    return CallbackHandler


class CallbackServer(http.server.HTTPServer):
    def handle_error(self, request, client_address):
        # A browser dropping its connection is no reason for a traceback on the operator's terminal.
        print("Warning: a browser connection to the callback server failed (%s)." % sys.exc_info()[0].__name__,
              file=sys.stderr)


def listen(client, state, force, timeout):
    address = loopback_address(client.redirect_uri)
    outcome = []
    try:
        server = CallbackServer(address, make_handler(client.redirect_uri, state, force, outcome))
    except OSError as exc:
        raise oauth.ConfigError("Cannot listen on %s:%d (%s). Fix: free the port, or finish with "
                                "zoho-crm-oauth-exchange.py." % (address[0], address[1], exc.strerror or exc))
    print("Waiting up to %d s for Zoho's redirect on http://%s:%d%s ..." % (
        timeout, address[0], address[1], urlsplit(client.redirect_uri).path), flush=True)
    print("If the browser runs on another machine, first run there: ssh -L %d:127.0.0.1:%d user@vps"
          % (address[1], address[1]), flush=True)
    deadline = time.monotonic() + timeout
    with server:
        while not outcome and time.monotonic() < deadline:
            server.timeout = max(0.1, deadline - time.monotonic())
            server.handle_request()
    if not outcome:
        raise oauth.AuthorizationError("No redirect reached %s within %d s. Fix: open the URL and approve, with the "
                                       "ssh tunnel up; or finish with zoho-crm-oauth-exchange.py." % (
                                           client.redirect_uri, timeout))
    return outcome[0][0]


def authorize_device(client, force, timeout):
    """Zoho's device flow: show the code, wait for the approval, save the tokens."""
    token_file = tools.token_file()
    # One try per request: a lost start would spend a grant code; polls have their own schedule.
    transport = oauth.Transport()
    existing = tools.readable_record(token_file)
    if existing and not force and not oauth.missing_scopes(existing, client.scopes) and \
            existing.client_id in (None, client.client_id) and \
            tools.stored_refresh_token_works(token_file, client, existing, transport):
        print("✓ %s already holds a working refresh token: nothing to do (each authorization uses one of Zoho's 20 "
              "refresh-token slots). Check with python3 tools/zoho-crm-test.py; --force replaces it." % token_file.path)
        return oauth.EXIT_OK
    flow, started = oauth.start_device_flow(token_file, client, transport=transport)
    view = flow.redacted()
    print("Zoho CRM device authorization%s" % ("" if started else " (the code from before, still valid)"))
    print("1. Open %s in any browser (a phone will do), signed in to Zoho." % view["verification_url"])
    print("2. Enter the code: %s" % view["user_code"])
    if view["verification_uri_complete"]:
        print("   Or open %s (the code filled in)." % view["verification_uri_complete"])
    print("The code is valid for %d min %d s (until %s). Waiting for your approval%s ..." % (
        view["expires_in"] // 60, view["expires_in"] % 60, view["expires_at"],
        "" if timeout >= view["expires_in"] else " (up to %d s)" % timeout), flush=True)
    tools.report_saved_tokens(oauth.wait_for_device_flow(token_file, client, transport=transport, timeout=timeout),
                              token_file)
    return oauth.EXIT_OK


def bounded_timeout(text):
    seconds = int(text)
    if not 1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError("must be 1 to 3600 seconds")
    return seconds


def main(argv=None):
    parser = tools.argument_parser(
        prog="zoho-crm-oauth-init.py", description="Start the Zoho CRM authorization.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--listen", action="store_true",
                     help="catch the redirect on the redirect URI's port (127.0.0.1 only) and save the tokens")
    how.add_argument("--device", action="store_true",
                     help="authorize by Zoho's device flow: show a code to approve on any browser, wait, save the tokens")
    parser.add_argument("--timeout", type=bounded_timeout, default=300, metavar="SECONDS",
                        help="with --listen or --device, how long to wait for the redirect or the approval (default 300)")
    parser.add_argument("--force", action="store_true",
                        help="with --listen or --device, replace tokens whose refresh token still works")
    args = parser.parse_args(argv)

    client = tools.load_client()
    if args.device:
        return authorize_device(client, args.force, args.timeout)
    if args.listen:
        loopback_address(client.redirect_uri)  # refuse before printing a URL that cannot be caught
    token_path = tools.token_file().path
    if os.path.exists(token_path):
        print("Note: %s already exists. Its refresh token is kept unless it no longer works or --force is given: "
              "each authorization uses one of Zoho's 20 refresh-token slots.\n" % token_path)
    # The playbook's URL has the same state, so the exchange tool and the module can check any redirect.
    state = oauth.authorization_state(client, token_path)
    print_instructions(client, state, args.listen)
    if not args.listen:
        return oauth.EXIT_OK
    return listen(client, state, args.force, args.timeout)


if __name__ == "__main__":
    sys.exit(tools.run_tool(main))

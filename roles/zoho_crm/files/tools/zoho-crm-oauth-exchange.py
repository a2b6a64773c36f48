#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Exchange a Zoho grant code for tokens and save them to zoho-crm-tokens.json.

    cd <home>/workspace && python3 tools/zoho-crm-oauth-exchange.py -

Pass "-" and paste the code (or the whole redirect URL) so it never shows in the process list.
Standard library only.
"""

import argparse
import sys

import zoho_crm_oauth as oauth
import zoho_crm_tools as tools

EPILOG = """\
CODE_OR_REDIRECT_URL is the code from a Self Client or from the redirect's address bar
(1000.xxxx.yyyy), or the whole redirect URL, whose accounts-server then picks the data center.
Use "-" to read it from standard input.

Existing tokens are kept: Zoho allows 20 refresh tokens per user and client and silently
revokes the oldest for the 21st, so a new authorization is never made lightly. When the stored
refresh token still works the exchange is refused unless --force; when it no longer works it is
replaced. A replaced refresh token is revoked at Zoho after the new one is saved.

exit status: 0 saved (or this very code was already exchanged), 1 refused or other failure,
2 bad arguments, 3 configuration error (client-secret file, client ID, secret, redirect URI),
4 the code or the authorization was rejected (get a new code), 5 transient (retry).
"""


def read_authorization_text(argument):
    if argument != "-":
        return argument
    if sys.stdin.isatty():
        print("Paste the code or the redirect URL, then press Enter:", file=sys.stderr)
    return sys.stdin.readline()


def main(argv=None):
    parser = tools.argument_parser(
        prog="zoho-crm-oauth-exchange.py", description="Exchange a Zoho grant code for tokens.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("code", metavar="CODE_OR_REDIRECT_URL", help='grant code or redirect URL, or "-" for stdin')
    parser.add_argument("--force", action="store_true",
                        help="replace tokens whose refresh token still works (the old one is then revoked)")
    args = parser.parse_args(argv)

    client = tools.load_client()
    token_file = tools.token_file()
    # One try: a grant code works once, so a lost answer is not retried.
    transport = oauth.Transport()
    # A pasted redirect must come from this host's authorization URL (the init tool's or the playbook's).
    authorization = oauth.parse_authorization_response(
        read_authorization_text(args.code), expected_state=oauth.authorization_state(client, token_file.path))

    existing = tools.readable_record(token_file)
    if existing and existing.code_sha256 == oauth.code_digest(authorization.code):
        print("✓ This code was already exchanged; the tokens in %s came from it." % token_file.path)
        return oauth.EXIT_OK
    if existing and not args.force and tools.stored_refresh_token_works(token_file, client, existing, transport):
        print("Error: %s already holds a working refresh token, so this code was not used. Authorizing again "
              "burns one of Zoho's 20 refresh-token slots. Fix: nothing to do (check with python3 "
              "tools/zoho-crm-test.py), or re-run with --force to replace it." % token_file.path, file=sys.stderr)
        return oauth.EXIT_FAILED

    # Replacing tokens: the new ones must carry the scopes and read the CRM before the swap.
    tools.report_saved_tokens(oauth.store_exchanged_tokens(token_file, client, authorization, transport=transport),
                              token_file)
    return oauth.EXIT_OK


if __name__ == "__main__":
    sys.exit(tools.run_tool(main))

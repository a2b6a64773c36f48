#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Check that the saved tokens can read Zoho CRM: fetch five deals.

    cd <home>/workspace && python3 tools/zoho-crm-test.py
"""

import argparse
import sys

import zoho_crm_oauth as oauth
import zoho_crm_tools as tools
from zoho_crm_client import ZohoCRMClient

EPILOG = """\
exit status: 0 working, 1 other failure, 2 bad arguments, 3 configuration error (files, client),
4 authorize again (refresh token revoked, scope missing), 5 transient (network, Zoho busy).
"""
DEALS_SHOWN = 5


def main(argv=None):
    parser = tools.argument_parser(prog="zoho-crm-test.py", description="Test Zoho CRM API access.",
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)

    print("Testing Zoho CRM API access...", flush=True)
    crm = ZohoCRMClient()
    # One call proves the token, the API domain and the deals scope together, so the lines below
    # are printed once it has succeeded.
    deals = list(crm.list_deals(limit=DEALS_SHOWN))
    print("✓ Access token valid")
    print("✓ Connected to: %s" % crm.api_domain)
    print("Fetching deals (limit %d)..." % DEALS_SHOWN)
    for number, deal in enumerate(deals, 1):
        print("Deal #%d: %s - Stage: %s" % (number, deal.get("Deal_Name"), deal.get("Stage")))
    if not deals:
        print("No deals yet (none exist, or this Zoho user may see none).")
    print("✓ Test successful! Zoho CRM API is working.")
    return oauth.EXIT_OK


if __name__ == "__main__":
    sys.exit(tools.run_tool(main))

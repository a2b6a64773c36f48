#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Read Zoho CRM deals, contacts and notes from the command line; --json for agents.

    cd <home>/workspace && python3 tools/zoho-crm.py --json deals list --stage Qualification
    python3 tools/zoho-crm.py context 1234567890
    python3 tools/zoho-crm.py doctor

The commands are in zoho_crm_cli.py (see python3 tools/zoho-crm.py --help).
"""

import sys

import zoho_crm_tools as tools
from zoho_crm_cli import main

if __name__ == "__main__":
    # --json anywhere on the command line: every failure, bad arguments too, also prints its error object.
    sys.exit(tools.run_tool(main, json_errors="--json" in sys.argv[1:]))

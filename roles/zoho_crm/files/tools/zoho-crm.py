#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Read Zoho CRM deals, contacts and notes from the command line; --json for agents.

    cd <home>/workspace && python3 tools/zoho-crm.py deals find oakland --json
    python3 tools/zoho-crm.py deals changed --since 7d
    python3 tools/zoho-crm.py deals pipeline
    python3 tools/zoho-crm.py context 1234567890
    python3 tools/zoho-crm.py doctor

The commands are in zoho_crm_cli.py (see python3 tools/zoho-crm.py --help).
"""

import sys

from zoho_crm_cli import main

if __name__ == "__main__":
    sys.exit(main())

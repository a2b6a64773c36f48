"""One cold start of ours, run in a fresh python by cold_start.py: load the stored tokens and fetch
one deal, the way the agent does from its workspace (`from tools.zoho_crm_client import ...`).

    python cold_start_ours.py WORKSPACE CREDENTIALS_DIR DEAL_ID    # prints the deal's name
"""

import sys

workspace, credentials_dir, deal_id = sys.argv[1:]
sys.path.insert(0, workspace)

from tools.zoho_crm_client import ZohoCRMClient  # noqa: E402

print(ZohoCRMClient(credentials_dir=credentials_dir).get_deal(deal_id)["Deal_Name"])

"""The floor of a cold agent call, run in a fresh python by cold_start.py: a bare standard-library
script doing the GET of `zoho-crm.py deals get ID --json` from the same token file, and nothing
else (no client-secret file, lock, expiry check, retry or flattening).

    python cold_start_bare.py TOKEN_FILE DEAL_ID FIELDS    # prints the deal as JSON
"""

import http.client
import json
import sys
from urllib.parse import urlencode, urlsplit

token_file, deal_id, fields = sys.argv[1:]
with open(token_file) as handle:
    tokens = json.load(handle)
api = urlsplit(tokens["api_domain"])
connection_class = http.client.HTTPSConnection if api.scheme == "https" else http.client.HTTPConnection
connection = connection_class(api.hostname, api.port, timeout=30)
connection.request("GET", f"{api.path}/crm/v8/Deals/{deal_id}?{urlencode({'fields': fields})}",
                   headers={"Authorization": "Zoho-oauthtoken " + tokens["access_token"], "Accept": "application/json"})
print(json.dumps(json.loads(connection.getresponse().read())["data"][0], indent=2))

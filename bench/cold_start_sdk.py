"""One cold start of Zoho's official SDK (zohocrmsdk8-0, unmodified), run in a fresh python by
cold_start.py: load the token the SDK stored in its file store and fetch one deal.

    python cold_start_sdk.py STORE RESOURCE_DIR API_DOMAIN TOKEN_URL DEAL_ID FIELDS   # prints the deal's name
    python cold_start_sdk.py --store-grant-code STORE RESOURCE_DIR API_DOMAIN TOKEN_URL < credentials.json

The second form is the untimed setup: the SDK exchanges a Self Client code ({"client_id",
"client_secret", "redirect_uri", "code"} on stdin: secrets stay out of process arguments) and
writes the tokens to STORE itself, so the timed runs read a store in the SDK's own format.
The stand-in's URLs are a custom DataCenter.Environment, as Zoho documents for other domains.
"""

import json
import sys

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import GetRecordParam, RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

# The FileStore numbers its rows from 1: the one token the setup stored.
STORED_TOKEN_ID = "1"


def initialize(store, resource_dir, api_domain, token_url, token):
    environment = DataCenter.Environment(api_domain, token_url, api_domain)
    Initializer.initialize(environment=environment, token=token, store=FileStore(store), sdk_config=SDKConfig(),
                           resource_path=resource_dir)


def store_grant_code(store, resource_dir, api_domain, token_url):
    credentials = json.load(sys.stdin)
    initialize(store, resource_dir, api_domain, token_url, OAuthToken(
        client_id=credentials["client_id"], client_secret=credentials["client_secret"],
        redirect_url=credentials["redirect_uri"], grant_token=credentials["code"]))


def get_deal(store, resource_dir, api_domain, token_url, deal_id, fields):
    initialize(store, resource_dir, api_domain, token_url, OAuthToken(id=STORED_TOKEN_ID))
    params = ParameterMap()
    params.add(GetRecordParam.fields, fields)
    response = RecordOperations("Deals").get_record(int(deal_id), params)
    if response.get_status_code() != 200:
        raise SystemExit(f"the SDK's get_record answered HTTP {response.get_status_code()}")
    print(response.get_object().get_data()[0].get_key_value("Deal_Name"))


if __name__ == "__main__":
    if sys.argv[1] == "--store-grant-code":
        store_grant_code(*sys.argv[2:])
    else:
        get_deal(*sys.argv[1:])

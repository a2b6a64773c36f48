"""Zoho's official Python SDK (zohocrmsdk8-0, unmodified) against the stand-in, in process.

Pointing it at a local URL is reference §10.1: DataCenter.Environment(api_domain, token URL,
api_domain). The SDK keeps global state (Initializer), so one test walks the whole journey.
"""

import csv
from datetime import date, datetime, timedelta, timezone

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.coql import BodyWrapper, CoqlOperations
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import (GetRecordsHeader, GetRecordsParam, RecordOperations,
                                                    ResponseWrapper, SearchRecordsParam)
from zohocrmsdk.src.com.zoho.crm.api.related_records import GetRelatedRecordsParam, RelatedRecordsOperations
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

SCOPES = ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.users.READ", "ZohoCRM.org.READ",
          "ZohoSearch.securesearch.READ", "ZohoCRM.coql.READ"]


def initialize(zoho, tmp_path, name, **token):
    environment = DataCenter.Environment(zoho.api_domain(), zoho.accounts_url() + "/oauth/v2/token", zoho.api_domain())
    oauth_token = OAuthToken(client_id=zoho.client["client_id"], client_secret=zoho.client["client_secret"],
                             redirect_url=zoho.client["redirect_uri"], **token)
    store = tmp_path / f"{name}.csv"
    Initializer.initialize(environment=environment, token=oauth_token, store=FileStore(str(store)),
                           sdk_config=SDKConfig(), resource_path=str(tmp_path),
                           logger=Logger.get_instance(Logger.Levels.INFO, str(tmp_path / "sdk.log")))
    return store


def data_of(response):
    assert response.get_status_code() == 200
    wrapper = response.get_object()
    assert isinstance(wrapper, ResponseWrapper) or hasattr(wrapper, "get_data"), vars(wrapper)
    return wrapper.get_data()


def test_official_sdk_end_to_end(zoho, tmp_path):
    store = initialize(zoho, tmp_path, "exchange", grant_token=zoho.self_client_code(SCOPES))
    assert zoho.counters()["token"]["authorization_code"] == 1
    row = next(csv.DictReader(store.open()))
    assert row["user_name"].startswith(zoho.org.current_user["email"] + ":")  # it read users and org
    assert row["refresh_token"] in zoho.secret_values()

    oakland_id = int(zoho.org.deals.id(0))
    deal = data_of(RecordOperations("Deals").get_record(oakland_id))[0]
    assert deal.get_id() == oakland_id
    assert deal.get_key_value("Deal_Name") == "Oakland School District - Grant Funded"
    assert deal.get_key_value("Stage").get_value() == "Qualification"
    assert deal.get_key_value("Amount") == 50000
    assert deal.get_key_value("Closing_Date") == date(2026, 3, 15)
    assert deal.get_key_value("Contact_Name").get_key_value("name") == "Jane Smith"

    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Deal_Name,Stage,Amount")
    response = RecordOperations("Deals").get_records(params)
    deals = data_of(response)
    assert len(deals) == 60 and deals[0].get_id() == oakland_id
    assert response.get_object().get_info().get_more_records() is False

    params = ParameterMap()
    params.add(SearchRecordsParam.criteria, "(Deal_Name:starts_with:Oakland)")
    found = data_of(RecordOperations("Deals").search_records(params))
    assert found and all(d.get_key_value("Deal_Name").startswith("Oakland") for d in found)

    params = ParameterMap()
    params.add(GetRelatedRecordsParam.fields, "Note_Title,Note_Content")
    notes = data_of(RelatedRecordsOperations("Notes", "Deals").get_related_records(oakland_id, params))
    assert [n.get_key_value("Note_Title") for n in notes] == ["Discovery call with Jane Smith", "Budget follow-up"]

    body = BodyWrapper()
    body.set_select_query("select Deal_Name, Amount from Deals where Stage = 'Qualification' "
                          "order by Amount desc limit 3")
    rows = data_of(CoqlOperations().get_records(body))
    amounts = [r.get_key_value("Amount") for r in rows]
    assert len(rows) == 3 and amounts == sorted(amounts, reverse=True)

    body.set_select_query("select Deal_Name Deals where id is not null")
    response = CoqlOperations().get_records(body)
    assert response.get_status_code() == 400
    error = response.get_object()  # the SDK parses the details keys its v8 model knows, with their types
    assert error.get_code().get_value() == "SYNTAX_ERROR"
    assert error.get_details() == {"line": 1, "column": 18, "near": "Deals"}

    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Deal_Name,Modified_Time")
    headers = HeaderMap()
    headers.add(GetRecordsHeader.if_modified_since, datetime.now(timezone.utc) - timedelta(days=7))
    changed = data_of(RecordOperations("Deals").get_records(params, headers))
    week_ago = datetime.now(timezone.utc) - timedelta(days=7)
    assert 0 < len(changed) < 60 and all(d.get_key_value("Modified_Time") > week_ago for d in changed)
    headers = HeaderMap()
    headers.add(GetRecordsHeader.if_modified_since, datetime.now(timezone.utc))
    unchanged = RecordOperations("Deals").get_records(params, headers)
    assert unchanged.get_status_code() == 304 and unchanged.get_object() is None

    # A new process with only the stored refresh token: the SDK refreshes, and calls go on.
    initialize(zoho, tmp_path, "refresh", refresh_token=row["refresh_token"])
    assert zoho.counters()["token"] == {"authorization_code": 1, "refresh_token": 1}
    assert data_of(RecordOperations("Deals").get_record(oakland_id))[0].get_id() == oakland_id
    assert zoho.counters()["token_errors"] == {}
    assert zoho.counters()["crm"]["GET /crm/v8/settings/fields"] >= 1

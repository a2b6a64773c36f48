"""CRM v8 stand-in: authentication, scopes, records, paging, notes, errors and value shapes."""

import re

import pytest
import requests
from zoho_sandbox.fields import STAGES

JSON = "application/json;charset=UTF-8"
ID = re.compile(r"^\d{19}$")
GUIDE_DEAL = {"Deal_Name": "Oakland School District - Grant Funded", "Stage": "Qualification", "Amount": 50000,
              "Closing_Date": "2026-03-15", "Description": "ELOP grant, 150 students, after-school program"}


def error_of(response, status):
    """The error envelope of reference §7, checked for shape; returns (code, details)."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == JSON
    body = response.json()
    assert set(body) == {"code", "details", "message", "status"} and body["status"] == "error"
    assert isinstance(body["details"], dict) and body["message"]
    return body["code"], body["details"]


def deal_id(zoho, index=0):
    return zoho.org.deals.id(index)


# -- authentication -------------------------------------------------------------------------

def test_missing_authorization_is_authentication_failure(zoho):
    response = requests.get(zoho.api_domain() + "/crm/v8/Deals", params={"fields": "Deal_Name"}, timeout=10)
    assert error_of(response, 401)[0] == "AUTHENTICATION_FAILURE"


def test_bearer_is_rejected_like_a_missing_header(zoho, grant):
    token = grant(zoho)["access_token"]
    response = requests.get(zoho.api_domain() + "/crm/v8/Deals", params={"fields": "Deal_Name"}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert error_of(response, 401)[0] == "AUTHENTICATION_FAILURE"


def test_bearer_is_accepted_when_configured(make_zoho, grant):
    zoho = make_zoho(accept_bearer=True)
    token = grant(zoho)["access_token"]
    response = requests.get(zoho.api_domain() + "/crm/v8/Deals", params={"fields": "Deal_Name"}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_unknown_token_is_invalid_token(zoho, api):
    api.access_token = "1000.00000000000000000000000000000000.00000000000000000000000000000000"
    assert error_of(api.get("/Deals", fields="Deal_Name"), 401) == ("INVALID_TOKEN", {})


# -- scopes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scopes, path, params", [
    (["ZohoCRM.modules.deals.READ"], "/Contacts", {"fields": "Email"}),
    (["ZohoCRM.modules.contacts.READ"], "/Deals", {"fields": "Deal_Name"}),
    (["ZohoCRM.modules.deals.READ"], "/Deals/{deal}/Notes", {"fields": "Note_Title"}),
    (["ZohoCRM.modules.notes.READ"], "/Deals/{deal}/Notes", {"fields": "Note_Title"}),
    (["ZohoCRM.modules.deals.READ"], "/Deals/search", {"word": "Oakland"}),
    (["ZohoCRM.modules.deals.READ"], "/settings/fields", {"module": "Deals"}),
    (["ZohoCRM.modules.deals.READ"], "/users", {"type": "CurrentUser"}),
    (["ZohoCRM.modules.deals.READ"], "/org", {}),
])
def test_missing_scope_is_oauth_scope_mismatch(zoho, api_for, scopes, path, params):
    api = api_for(zoho, scopes)
    response = api.get(path.format(deal=deal_id(zoho)), **params)
    assert error_of(response, 401)[0] == "OAUTH_SCOPE_MISMATCH"


@pytest.mark.parametrize("scopes", [
    ["ZohoCRM.modules.deals.READ", "ZohoCRM.modules.notes.READ"],
    ["ZohoCRM.modules.deals.ALL", "ZohoCRM.modules.notes.ALL"],
    ["ZohoCRM.modules.ALL"],
    ["zohocrm.modules.DEALS.read", "ZOHOCRM.MODULES.NOTES.READ"],
])
def test_module_scopes_in_every_accepted_form(zoho, api_for, scopes):
    api = api_for(zoho, scopes)
    assert api.get(f"/Deals/{deal_id(zoho)}/Notes", fields="Note_Title").status_code == 200


def test_coql_needs_coql_module_and_fields_scopes(make_zoho, api_for):
    query = "select Deal_Name from Deals where id is not null"
    zoho = make_zoho()
    without_fields = api_for(zoho, ["ZohoCRM.coql.READ", "ZohoCRM.modules.deals.READ"])
    assert error_of(without_fields.coql(query), 401)[0] == "OAUTH_SCOPE_MISMATCH"
    without_module = api_for(zoho, ["ZohoCRM.coql.READ", "ZohoCRM.settings.fields.READ"])
    assert error_of(without_module.coql(query), 401)[0] == "OAUTH_SCOPE_MISMATCH"
    without_coql = api_for(zoho, ["ZohoCRM.modules.deals.READ", "ZohoCRM.settings.fields.READ"])
    assert error_of(without_coql.coql(query), 401)[0] == "OAUTH_SCOPE_MISMATCH"
    assert api_for(zoho, ["ZohoCRM.coql.READ", "ZohoCRM.modules.deals.READ", "ZohoCRM.settings.fields.READ"]
                   ).coql(query).status_code == 200
    lenient = make_zoho(coql_requires_fields_scope=False)
    assert api_for(lenient, ["ZohoCRM.coql.READ", "ZohoCRM.modules.deals.READ"]).coql(query).status_code == 200


# -- listing --------------------------------------------------------------------------------

def test_fields_is_mandatory_when_listing(zoho, api):
    for path in ("/Deals", "/Contacts", "/Notes", f"/Deals/{deal_id(zoho)}/Notes"):
        assert error_of(api.get(path), 400) == ("REQUIRED_PARAM_MISSING", {"param_name": "fields"})
    assert error_of(api.get("/Deals", fields=""), 400)[0] == "REQUIRED_PARAM_MISSING"


def test_more_than_fifty_fields_is_limit_exceeded(api):
    fields = ",".join(f"Field_{n}" for n in range(51))
    assert error_of(api.get("/Deals", fields=fields), 400)[0] == "LIMIT_EXCEEDED"
    assert api.get("/Deals", fields=",".join(f"Field_{n}" for n in range(50))).status_code == 200


def test_default_order_starts_with_the_guides_deal(api):
    response = api.get("/Deals", fields=",".join(GUIDE_DEAL) + ",Contact_Name")
    assert response.status_code == 200 and response.headers["Content-Type"] == JSON
    first = response.json()["data"][0]
    assert {k: first[k] for k in GUIDE_DEAL} == GUIDE_DEAL
    assert first["Contact_Name"]["name"] == "Jane Smith"


def test_list_returns_id_requested_fields_and_meta_keys_only(api):
    rows = api.get("/Deals", fields="Stage").json()["data"]
    assert len(rows) == 60
    for row in rows:
        plain = {k for k in row if not k.startswith("$")}
        assert plain == {"id", "Stage"} and ID.match(row["id"])
    assert all("$approval_state" in row for row in rows)


def test_every_standard_stage_appears_and_owners_vary(api):
    rows = api.get("/Deals", fields="Stage,Owner").json()["data"]
    assert {row["Stage"] for row in rows} == set(STAGES)
    assert len({row["Owner"]["id"] for row in rows}) >= 4


def test_info_block_has_every_documented_key(api):
    body = api.get("/Deals", fields="Deal_Name", per_page=5).json()
    assert set(body["info"]) == {"per_page", "next_page_token", "count", "sort_by", "page", "previous_page_token",
                                 "page_token_expiry", "sort_order", "email", "call", "more_records"}
    info = body["info"]
    assert (info["per_page"], info["count"], info["page"], info["more_records"]) == (5, 5, 1, True)
    assert (info["sort_by"], info["sort_order"], info["previous_page_token"]) == ("id", "desc", None)
    assert info["next_page_token"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", info["page_token_expiry"])


def test_ids_descend_by_default_and_sort_params_work(api):
    ids = [int(r["id"]) for r in api.get("/Deals", fields="Deal_Name").json()["data"]]
    assert ids == sorted(ids, reverse=True)
    ids = [int(r["id"]) for r in api.get("/Deals", fields="Deal_Name", sort_order="asc").json()["data"]]
    assert ids == sorted(ids)
    rows = api.get("/Deals", fields="Modified_Time", sort_by="Modified_Time").json()["data"]
    times = [r["Modified_Time"] for r in rows]
    assert times == sorted(times, reverse=True) and times != sorted(times)
    assert error_of(api.get("/Deals", fields="Deal_Name", sort_by="Amount"), 400)[0] == "INVALID_DATA"


def test_past_the_last_page_is_204_with_no_body(api):
    response = api.get("/Deals", fields="Deal_Name", page=2)
    assert response.status_code == 204 and response.content == b""


def test_ids_param_selects_records(zoho, api):
    wanted = [deal_id(zoho, 5), deal_id(zoho, 2)]
    rows = api.get("/Deals", fields="Deal_Name", ids=",".join(wanted)).json()["data"]
    assert [r["id"] for r in rows] == wanted[::-1]  # still sorted by id descending
    assert api.get("/Deals", fields="Deal_Name", ids="5725767000000000000").status_code == 204


def test_cvid_cannot_be_combined_with_sort_by(zoho, api):
    response = api.get("/Deals", fields="Deal_Name", cvid="5725767000000087001", sort_by="id")
    assert error_of(response, 400)[0] == "AMBIGUITY_DURING_PROCESSING"
    mine = api.get("/Deals", fields="Owner", cvid="5725767000000087003").json()["data"]
    me = zoho.org.current_user["id"]
    assert mine and all(r["Owner"]["id"] == me for r in mine) and len(mine) < 60


def test_page_eleven_is_refused_and_page_token_goes_on(make_zoho, api_for):
    zoho = make_zoho(deals=2500)
    api = api_for(zoho)
    error = error_of(api.get("/Deals", fields="Deal_Name", page=11, per_page=200), 400)
    assert error[0] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    page10 = api.get("/Deals", fields="Deal_Name", page=10, per_page=200).json()
    assert page10["info"]["more_records"]
    token = page10["info"]["next_page_token"]
    page11 = api.get("/Deals", fields="Deal_Name", per_page=200, page_token=token).json()
    assert page11["data"][0]["id"] == zoho.org.deals.id(2000) and page11["info"]["page"] == 11
    pages, seen = 0, set()
    params = {"fields": "Deal_Name", "per_page": 200}
    while pages < 20:  # walk everything with tokens only
        body = api.get("/Deals", **params).json()
        seen.update(r["id"] for r in body["data"])
        pages += 1
        if not body["info"]["more_records"]:
            break
        params["page_token"] = body["info"]["next_page_token"]
    assert pages == 13 and len(seen) == 2500


def test_previous_page_token_goes_back(api):
    first = api.get("/Deals", fields="Deal_Name", per_page=10).json()
    second = api.get("/Deals", fields="Deal_Name", per_page=10, page_token=first["info"]["next_page_token"]).json()
    back = api.get("/Deals", fields="Deal_Name", per_page=10, page_token=second["info"]["previous_page_token"]).json()
    assert back["data"] == first["data"]


def test_page_token_is_bound_to_the_other_parameters(api):
    token = api.get("/Deals", fields="Deal_Name", per_page=10).json()["info"]["next_page_token"]
    for changed in ({"fields": "Stage", "per_page": 10}, {"fields": "Deal_Name", "per_page": 20},
                    {"fields": "Deal_Name", "per_page": 10, "sort_order": "asc"}):
        assert error_of(api.get("/Deals", page_token=token, **changed), 400)[0] == "TOKEN_BOUND_DATA_MISMATCH"
    assert error_of(api.get("/Contacts", fields="Deal_Name", per_page=10, page_token=token), 400)[0] == \
        "TOKEN_BOUND_DATA_MISMATCH"
    assert error_of(api.get("/Deals", fields="Deal_Name", per_page=10, page_token=token + "x"), 400)[0] == \
        "INVALID_DATA"


def test_page_token_expires_after_24_hours_of_stand_in_time(zoho, api, grant):
    token = api.get("/Deals", fields="Deal_Name", per_page=10).json()["info"]["next_page_token"]
    zoho.clock.advance(86400)
    api.access_token = grant(zoho)["access_token"]  # the old access token expired too
    assert error_of(api.get("/Deals", fields="Deal_Name", per_page=10, page_token=token), 400)[0] == "EXPIRED_VALUE"


def test_page_token_stops_at_the_pagination_cap(make_zoho, api_for):
    zoho = make_zoho(deals=700, page_token_limit=500)  # the 100,000 cap, scaled down to stay quick
    api = api_for(zoho)
    params = {"fields": "Deal_Name", "per_page": 100}
    for _ in range(5):
        body = api.get("/Deals", **params).json()
        params["page_token"] = body["info"]["next_page_token"]
    assert error_of(api.get("/Deals", **params), 400)[0] == "PAGINATION_LIMIT_EXCEEDED"


def test_per_page_above_200_is_refused(api):
    assert error_of(api.get("/Deals", fields="Deal_Name", per_page=201), 400)[0] == "INVALID_DATA"


# -- single records and notes ---------------------------------------------------------------

def test_get_record_is_an_array_of_one_with_every_field(zoho, api):
    body = api.get(f"/Deals/{deal_id(zoho)}").json()
    assert list(body) == ["data"] and len(body["data"]) == 1
    deal = body["data"][0]
    assert {k: deal[k] for k in GUIDE_DEAL} == GUIDE_DEAL
    assert deal["id"] == deal_id(zoho)


def test_get_record_value_shapes(zoho, api):
    deal = api.get(f"/Deals/{deal_id(zoho, 7)}").json()["data"][0]
    assert set(deal["Account_Name"]) == {"name", "id"} and ID.match(deal["Account_Name"]["id"])
    assert set(deal["Owner"]) == {"name", "id", "email"} and "@" in deal["Owner"]["email"]
    assert re.match(r"^\d{4}-\d\d-\d\d$", deal["Closing_Date"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-08:00$", deal["Created_Time"])
    assert isinstance(deal["Amount"], (int, float)) and isinstance(deal["Probability"], int)
    assert deal["Probability"] == STAGES[deal["Stage"]]
    contact = api.get(f"/Contacts/{deal['Contact_Name']['id']}").json()["data"][0]
    assert contact["Full_Name"] == deal["Contact_Name"]["name"]
    assert contact["Account_Name"] == deal["Account_Name"]


def test_get_record_with_fields_projects(zoho, api):
    deal = api.get(f"/Deals/{deal_id(zoho)}", fields="Stage").json()["data"][0]
    assert {k for k in deal if not k.startswith("$")} == {"id", "Stage"}


def test_unknown_id_is_204_and_malformed_id_is_invalid_data(zoho, api):
    assert api.get("/Deals/5725767000000000001").status_code == 204
    assert error_of(api.get("/Deals/not-a-number"), 400) == ("INVALID_DATA", {"id": "not-a-number"})


def test_deal_notes_are_oldest_first_and_name_the_parent(zoho, api):
    body = api.get(f"/Deals/{deal_id(zoho)}/Notes", fields="Note_Title,Note_Content,Parent_Id,Created_Time").json()
    titles = [n["Note_Title"] for n in body["data"]]
    assert titles == ["Discovery call with Jane Smith", "Budget follow-up"]
    times = [n["Created_Time"] for n in body["data"]]
    assert times == sorted(times)
    assert body["data"][0]["Parent_Id"] == {"name": GUIDE_DEAL["Deal_Name"], "id": deal_id(zoho)}
    assert set(body["info"]) == {"per_page", "next_page_token", "count", "page", "previous_page_token",
                                 "page_token_expiry", "more_records"}


def test_a_deal_without_notes_is_204(zoho, api):
    assert api.get(f"/Deals/{deal_id(zoho, 2)}/Notes", fields="Note_Title").status_code == 204


def test_contact_notes(zoho, api):
    contact = zoho.org.contacts.id(0)
    notes = api.get(f"/Contacts/{contact}/Notes", fields="Note_Content,Parent_Id").json()["data"]
    assert len(notes) == 1 and notes[0]["Parent_Id"]["name"] == "Jane Smith"


def test_all_notes_is_admin_only(make_zoho, api_for):
    admin = api_for(make_zoho())
    body = admin.get("/Notes", fields="Note_Title,Parent_Id").json()
    assert body["data"][0]["Parent_Id"]["module"]["api_name"] in ("Deals", "Contacts")
    assert body["info"]["sort_order"] == "asc"
    user = api_for(make_zoho(admin=False))
    assert error_of(user.get("/Notes", fields="Note_Title"), 403)[0] == "NOT_SUPPORTED"


# -- routing errors -------------------------------------------------------------------------

def test_unknown_module_is_invalid_module(api):
    assert error_of(api.get("/Widgets", fields="Name"), 400) == ("INVALID_MODULE", {"resource_path_index": 0})


def test_unknown_path_is_invalid_url_pattern(api):
    assert error_of(api.get("/Deals/1/2/3"), 404)[0] == "INVALID_URL_PATTERN"
    response = requests.get(api.base.replace("/crm/v8", "/crm/v2") + "/Deals", timeout=10)
    assert error_of(response, 404)[0] == "INVALID_URL_PATTERN"


def test_wrong_method_is_invalid_request_method(api):
    response = api.session.delete(api.base + "/Deals", headers={"Authorization": f"Zoho-oauthtoken {api.access_token}"})
    assert error_of(response, 400)[0] == "INVALID_REQUEST_METHOD"
    response = api.session.get(api.base + "/coql", headers={"Authorization": f"Zoho-oauthtoken {api.access_token}"})
    assert error_of(response, 400)[0] == "INVALID_REQUEST_METHOD"


# -- what the official SDK reads ------------------------------------------------------------

def test_settings_fields_describe_every_field(api):
    fields = api.get("/settings/fields", module="Deals").json()["fields"]
    by_name = {f["api_name"]: f for f in fields}
    assert by_name["Stage"]["data_type"] == "picklist"
    assert [v["display_value"] for v in by_name["Stage"]["pick_list_values"]] == list(STAGES)
    assert by_name["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    assert by_name["Amount"]["json_type"] == "double" and by_name["Owner"]["data_type"] == "ownerlookup"
    assert error_of(api.get("/settings/fields"), 400) == ("REQUIRED_PARAM_MISSING", {"param_name": "module"})


def test_current_user_and_org(zoho, api):
    users = api.get("/users", type="CurrentUser").json()
    assert [u["email"] for u in users["users"]] == [zoho.org.current_user["email"]]
    assert len(api.get("/users", type="AllUsers").json()["users"]) == 5
    org = api.get("/org").json()["org"][0]
    assert org["company_name"] == "BrightPath Learning" and org["zgid"].isdigit()

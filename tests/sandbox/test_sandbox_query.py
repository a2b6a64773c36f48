"""Search API and COQL in the stand-in (reference §6.3, §6.6)."""

import pytest

JSON = "application/json;charset=UTF-8"


def error_code(response, status=400):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == JSON
    return response.json()["code"]


def all_deals(api, fields="Deal_Name,Stage,Amount,Owner,Account_Name,Closing_Date"):
    return api.get("/Deals", fields=fields).json()["data"]


# -- search ---------------------------------------------------------------------------------

def test_search_equals_on_text_behaves_like_contains(api):
    rows = api.get("/Deals/search", criteria="(Deal_Name:equals:Grant Funded)").json()["data"]
    expected = [d["id"] for d in all_deals(api) if "grant funded" in d["Deal_Name"].lower()]
    assert [r["id"] for r in rows] == expected and len(expected) > 1


def test_search_criteria_with_and_or_and_brackets(api):
    criteria = "((Stage:equals:Closed Won)and(Amount:greater_than:100000))or(Stage:equals:Qualification)"
    rows = api.get("/Deals/search", criteria=criteria, fields="Stage,Amount").json()["data"]
    expected = [d["id"] for d in all_deals(api)
                if (d["Stage"] == "Closed Won" and d["Amount"] > 100000) or d["Stage"] == "Qualification"]
    assert [r["id"] for r in rows] == expected and expected
    assert {k for k in rows[0] if not k.startswith("$")} == {"id", "Stage", "Amount"}


def test_search_in_between_starts_with_and_escapes(api):
    stages = api.get("/Deals/search", criteria="(Stage:in:Qualification,Needs Analysis)").json()["data"]
    assert {r["Stage"] for r in stages} == {"Qualification", "Needs Analysis"}
    between = api.get("/Deals/search", criteria="(Amount:between:40000,60000)").json()["data"]
    assert between and all(40000 <= r["Amount"] <= 60000 for r in between)
    starts = api.get("/Deals/search", criteria="(Deal_Name:starts_with:YMCA)").json()["data"]
    assert starts and all(r["Deal_Name"].startswith("YMCA") for r in starts)
    escaped = api.get("/Deals/search", criteria=r"(Description:equals:ELOP grant\, 150 students)").json()["data"]
    assert escaped[0]["Deal_Name"] == "Oakland School District - Grant Funded"


def test_search_by_owner_and_dates(zoho, api):
    me = zoho.org.current_user
    owned = api.get("/Deals/search", criteria=f"(Owner:equals:{me['id']})").json()["data"]
    assert owned and all(r["Owner"]["id"] == me["id"] for r in owned)
    later = api.get("/Deals/search", criteria="(Closing_Date:greater_equal:2026-03-01)").json()["data"]
    assert later and all(r["Closing_Date"] >= "2026-03-01" for r in later)


def test_search_email_phone_and_word(zoho, api):
    jane = zoho.org.contacts.record(0)
    by_email = api.get("/Contacts/search", email=jane["Email"].upper()).json()["data"]
    assert [r["id"] for r in by_email] == [jane["id"]]
    by_phone = api.get("/Contacts/search", phone=jane["Phone"]).json()["data"]
    assert jane["id"] in [r["id"] for r in by_phone]
    by_word = api.get("/Contacts/search", word="smith").json()["data"]
    assert jane["id"] in [r["id"] for r in by_word] and all("smith" in str(r).lower() for r in by_word)


def test_search_without_any_search_param_is_expected_param_missing(api):
    assert error_code(api.get("/Deals/search", fields="Deal_Name")) == "EXPECTED_PARAM_MISSING"


def test_search_word_needs_two_characters(api):
    assert error_code(api.get("/Deals/search", word="a")) == "INVALID_DATA"


@pytest.mark.parametrize("criteria", [
    "(Nope:equals:1)", "(Amount:starts_with:5)", "(Amount:equals:lots)", "Stage:equals:Qualification",
    "(Stage:equals:Qualification", "(Closing_Date:greater_than:March)",
])
def test_bad_criteria_is_invalid_query(api, criteria):
    assert error_code(api.get("/Deals/search", criteria=criteria)) == "INVALID_QUERY"


def test_more_than_ten_criteria_is_refused(api):
    criteria = "and".join(["(Amount:greater_than:1)"] * 11)
    assert error_code(api.get("/Deals/search", criteria=criteria)) == "LIMIT_EXCEEDED"
    assert api.get("/Deals/search", criteria="and".join(["(Amount:greater_than:1)"] * 10)).status_code == 200


def test_search_stops_at_two_thousand_results(make_zoho, api_for):
    zoho = make_zoho(deals=2100)
    api = api_for(zoho)
    page10 = api.get("/Deals/search", criteria="(Amount:greater_than:0)", page=10, per_page=200).json()
    assert page10["info"]["count"] == 200 and page10["info"]["more_records"] is False
    page11 = api.get("/Deals/search", criteria="(Amount:greater_than:0)", page=11, per_page=200)
    assert error_code(page11) == "LIMIT_REACHED"


def test_search_with_no_match_is_204(api):
    assert api.get("/Deals/search", word="zzzzzz").status_code == 204


# -- COQL -----------------------------------------------------------------------------------

def test_coql_select_where_returns_ids_and_fields_in_id_order(api):
    response = api.coql("select Deal_Name, Stage, Amount from Deals where Stage = 'Qualification'")
    body = response.json()
    expected = sorted((d for d in all_deals(api) if d["Stage"] == "Qualification"), key=lambda d: int(d["id"]))
    assert [r["id"] for r in body["data"]] == [d["id"] for d in expected]
    assert set(body["data"][0]) == {"id", "Deal_Name", "Stage", "Amount"}
    assert body["info"] == {"count": len(expected), "more_records": False}


@pytest.mark.parametrize("where, keep", [
    ("Amount >= 100000", lambda d: d["Amount"] >= 100000),
    ("Amount < 20000", lambda d: d["Amount"] < 20000),
    ("Stage != 'Closed Lost'", lambda d: d["Stage"] != "Closed Lost"),
    ("Deal_Name like '%YMCA%'", lambda d: "ymca" in d["Deal_Name"].lower()),
    ("Deal_Name not like 'Oakland%'", lambda d: not d["Deal_Name"].startswith("Oakland")),
    ("Stage in ('Closed Won', 'Closed Lost')", lambda d: d["Stage"] in ("Closed Won", "Closed Lost")),
    ("Stage not in ('Closed Won', 'Closed Lost')", lambda d: d["Stage"] not in ("Closed Won", "Closed Lost")),
    ("Closing_Date between '2025-12-01' and '2026-03-31'", lambda d: "2025-12-01" <= d["Closing_Date"] <= "2026-03-31"),
    ("(Stage = 'Closed Won' and Amount > 100000) or Stage = 'Qualification'",
     lambda d: (d["Stage"] == "Closed Won" and d["Amount"] > 100000) or d["Stage"] == "Qualification"),
    ("Campaign_Source is null", lambda d: True),
    ("Account_Name is not null", lambda d: True),
    ("Account_Name.Account_Name like '%Oakland%'", lambda d: "Oakland" in d["Account_Name"]["name"]),
])
def test_coql_where_operators(api, where, keep):
    response = api.coql(f"select Deal_Name, Stage, Amount, Closing_Date from Deals where {where} limit 200")
    rows = response.json()["data"] if response.status_code == 200 else []
    expected = sorted(d["id"] for d in all_deals(api) if keep(d))
    assert sorted(r["id"] for r in rows) == expected and expected


def test_coql_lookups_users_and_dot_notation(zoho, api):
    row = api.coql("select Owner, Account_Name, Account_Name.Billing_City, Owner.email from Deals "
                   f"where id = '{zoho.org.deals.id(0)}'").json()["data"][0]
    assert row["Owner"] == {"name": "Alvarez", "id": zoho.org.current_user["id"]}  # users show last name
    assert row["Account_Name"]["name"] == "Oakland School District"
    assert row["Account_Name.Billing_City"] == "Oakland" and row["Owner.email"] == zoho.org.current_user["email"]


def test_coql_order_limit_and_offset_in_both_syntaxes(api):
    base = "select Deal_Name, Amount from Deals where Amount > 0 order by Amount desc, id asc"
    everything = api.coql(base + " limit 2000").json()["data"]
    amounts = [r["Amount"] for r in everything]
    assert amounts == sorted(amounts, reverse=True)
    assert api.coql(base + " limit 5 offset 10").json()["data"] == everything[10:15]
    page = api.coql(base + " limit 10, 5").json()
    assert page["data"] == everything[10:15] and page["info"]["more_records"] is True
    default = api.coql("select Deal_Name from Deals where id is not null").json()
    assert default["info"]["count"] == 60  # default limit 200, all 60 fit


def test_coql_aggregates_with_group_by(api):
    body = api.coql("select Stage, COUNT(id), SUM(Amount) from Deals where id is not null group by Stage").json()
    deals = all_deals(api)
    by_stage = {r["Stage"]: (r["COUNT(id)"], r["SUM(Amount)"]) for r in body["data"]}
    expected = {}
    for deal in deals:
        count, total = expected.get(deal["Stage"], (0, 0))
        expected[deal["Stage"]] = (count + 1, total + deal["Amount"])
    assert by_stage == expected


def test_coql_no_rows_is_204_or_empty_by_option(make_zoho, api_for):
    query = "select Deal_Name from Deals where Deal_Name = 'nothing like this'"
    assert api_for(make_zoho()).coql(query).status_code == 204
    response = api_for(make_zoho(coql_no_rows="empty")).coql(query)
    assert response.status_code == 200 and response.json() == {"data": [], "info": {"count": 0, "more_records": False}}


@pytest.mark.parametrize("query, details", [
    ("select Deal_Name from Deals", {"clause": "where"}),  # WHERE is mandatory
    ("select Deal_Name Deals where id is not null", {"line": 1, "column": 18, "near": "Deals"}),
    ("update Deals set Stage = 'x' where id is not null", {"line": 1, "column": 1, "near": "update"}),
    ("select * from Deals where id is not null", {"line": 1, "column": 8, "near": "*"}),
    ("select Deal_Name from Deals where Stage = 'A' and Amount > 1 and Amount < 5",  # needs brackets
     {"line": 1, "column": 62, "near": "and"}),
    ("select Deal_Name from Deals where Amount >", {"line": 1, "column": 42, "near": ">"}),  # at the last token
    ("select Deal_Name from Deals where id is not null limit 0", {"line": 1, "column": 56, "near": "0"}),
    ("select Deal_Name,\n  Stage\nfrom Deals\nwhere Amount # 5", {"line": 4, "column": 14, "near": "#"}),
    ("select Stage, COUNT(id) from Deals where id is not null", {"clause": "group by"}),
    ("select Deal_Name from Deals where id is not null order by limit 5", {"line": 1, "column": 59, "near": "limit"}),
])
def test_coql_syntax_errors_locate_the_problem_as_the_v8_spec_does(api, query, details):
    response = api.coql(query)
    assert error_code(response) == "SYNTAX_ERROR"
    body = response.json()
    assert body["details"] == details
    assert body["message"].startswith("error occurred while parsing the query: ")


@pytest.mark.parametrize("query", [
    "select Nope from Deals where id is not null",
    "select Deal_Name from Widgets where id is not null",
    "select Deal_Name from Deals where Deal_Name > 'A'",
    "select Deal_Name from Deals where Amount = 'lots'",
    "select Deal_Name from Deals where Amount like '%5%'",
    "select Deal_Name from Deals where Closing_Date > 'soon'",
])
def test_coql_invalid_query(api, query):
    assert error_code(api.coql(query)) == "INVALID_QUERY"


@pytest.mark.parametrize("query, message, details", [
    ("select Deal_Name from Deals where Deal_Name >= 'A'", "invalid query formed",
     {"column_name": "Deal_Name", "operator": ">=", "reason": "invalid operator found"}),
    ("select Deal_Name from Deals where Amount = 'lots'", "invalid query formed",
     {"column_name": "Amount", "operator": "=", "reason": "the value given seems to be invalid"}),
    ("select Nope from Deals where id is not null", "column given seems to be invalid", {"column_name": "Nope"}),
    ("select Deal_Name from Widgets where id is not null", "invalid module given", {"module": "Widgets"}),
    ("select SUM(Deal_Name) from Deals where id is not null", "SUM needs a number field", {"column_name": "Deal_Name"}),
])
def test_coql_invalid_query_details_have_the_v8_spec_shapes(api, query, message, details):
    body = api.coql(query).json()
    assert (body["code"], body["message"], body["details"]) == ("INVALID_QUERY", message, details)


@pytest.mark.parametrize("query", [
    "select Deal_Name from Deals where id is not null limit 2001",
    "select Deal_Name from Deals where id is not null limit 99990, 20",
    "select Deal_Name from Deals where Amount in (" + ",".join(str(n) for n in range(101)) + ")",
])
def test_coql_limits(api, query):
    assert error_code(api.coql(query)) == "LIMIT_EXCEEDED"


def test_coql_body_errors(api):
    response = api.session.post(api.base + "/coql", data="not json", timeout=10,
                                headers={"Authorization": f"Zoho-oauthtoken {api.access_token}"})
    assert error_code(response) == "INVALID_DATA"
    response = api.session.post(api.base + "/coql", json={"query": "x"}, timeout=10,
                                headers={"Authorization": f"Zoho-oauthtoken {api.access_token}"})
    assert error_code(response) == "REQUIRED_PARAM_MISSING"


def test_coql_credits_follow_the_limit(make_zoho, api_for):
    zoho = make_zoho(daily_credits=1000)
    api = api_for(zoho)
    for limit, cost in ((200, 1), (1000, 2), (2000, 3)):
        before = zoho.credits.used()
        api.coql(f"select Deal_Name from Deals where id is not null limit {limit}")
        assert zoho.credits.used() - before == cost

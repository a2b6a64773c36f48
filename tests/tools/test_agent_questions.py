"""What the agent can answer on the guide's three scopes, against the stand-in: find deals and
contacts by name (a scan, or Zoho's search when granted), what changed since a time
(If-Modified-Since), the pipeline per stage. Every answer's api_calls is checked against the
stand-in's own count of the requests it saw."""

import json
from datetime import datetime, timedelta, timezone

import pytest

import zoho_crm_oauth as oauth
from zoho_crm_client import ZohoCRMClient, parse_since

from tool_harness import ALL_SCOPES, assert_one_line_error, crm_requests, json_answer

CLI = "zoho-crm.py"
OAKLAND = "Oakland School District - Grant Funded"
SEARCH_SCOPES = oauth.DEFAULT_SCOPES + (oauth.SEARCH_SCOPE,)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
# The fields each answer needs, and no more: a scan's pages stay small.
DEAL_SUMMARY_FIELDS = ("Deal_Name", "Stage", "Amount", "Closing_Date", "Contact_Name", "Account_Name", "Owner",
                       "Modified_Time")
CONTACT_SUMMARY_FIELDS = ("Full_Name", "Email", "Phone", "Title", "Account_Name", "Owner", "Modified_Time")
PIPELINE_FIELDS = ("Stage", "Amount", "Closing_Date")


def answer(credentials, *args):
    """The --json answer, after checking that its api_calls is what the stand-in saw."""
    before = crm_requests(credentials.zoho)
    result = json_answer(credentials, "--json", *args)
    assert result["api_calls"] == crm_requests(credentials.zoho) - before
    assert set(result) >= {"api_calls", "credits_remaining"}
    return result


def listed(zoho, path="/crm/v8/Deals"):
    """The query parameters of every GET of path the stand-in logged, in order."""
    return [entry["params"] for entry in zoho.request_log() if (entry["method"], entry["path"]) == ("GET", path)]


def every_deal(credentials):
    return answer(credentials, "deals", "list", "--limit", "0")["deals"]


def modified(record):
    return datetime.fromisoformat(record["Modified_Time"])


@pytest.fixture
def big(make_zoho, make_credentials):
    """Credentials on a 5,000-deal org (the three default scopes)."""
    credentials = make_credentials(make_zoho(deals=5000))
    credentials.authorize()
    return credentials


@pytest.fixture
def searching(credentials):
    credentials.authorize(scopes=SEARCH_SCOPES)
    return credentials


def missing_deals_scope(credentials):
    credentials.authorize(scopes=("ZohoCRM.modules.contacts.READ", "ZohoCRM.modules.notes.READ"))
    return credentials


# ---- find by name, without the search scope: a scan --------------------------------------------------

def test_find_scans_named_fields_in_any_case_and_says_so(authorized):
    found = answer(authorized, "deals", "find", "OAKLAND school")
    names = [deal["Deal_Name"] for deal in found["deals"]]
    assert names[0] == OAKLAND and all("oakland school" in name.lower() for name in names)
    assert (found["method"], found["scanned"], found["more"], found["api_calls"]) == ("scan", 60, False, 1)
    # The scan names only the summary's fields, 200 a page.
    assert listed(authorized.zoho) == [{"fields": ",".join(DEAL_SUMMARY_FIELDS), "per_page": "200", "page": "1"}]
    assert set(found["deals"][0]) == set(DEAL_SUMMARY_FIELDS) | {"id", "Contact_Name_id", "Account_Name_id",
                                                                 "Owner_id"}
    assert [d["id"] for d in found["deals"]] == [
        d["id"] for d in every_deal(authorized) if "oakland school" in d["Deal_Name"].lower()]


def test_find_with_no_match_reads_everything_once(authorized):
    found = answer(authorized, "deals", "find", "no such district")
    assert (found["deals"], found["scanned"], found["more"], found["api_calls"]) == ([], 60, False, 1)
    text = authorized.run(CLI, "deals", "find", "no such district").stdout
    assert text == ("No deals found.\n"
                    "0 deals whose name contains 'no such district', from a scan of 60 deals (1 API call).\n")


def test_find_with_many_matches_stops_at_the_limit_and_says_more_may_match(authorized):
    schools = [d for d in every_deal(authorized) if "school" in d["Deal_Name"].lower()]
    assert len(schools) > 10
    first = answer(authorized, "deals", "find", "school")  # the default limit, 10
    assert [d["id"] for d in first["deals"]] == [d["id"] for d in schools[:10]] and first["more"] is True
    two = answer(authorized, "deals", "find", "school", "--limit", "2")
    assert len(two["deals"]) == 2 and two["more"] is True
    every = answer(authorized, "deals", "find", "school", "--limit", "0")
    assert [d["id"] for d in every["deals"]] == [d["id"] for d in schools] and every["more"] is False
    text = authorized.run(CLI, "deals", "find", "school", "--limit", "2").stdout.splitlines()
    assert len(text) == 3 and text[0].startswith(schools[0]["id"] + "  ")
    assert text[2] == ("2 deals whose name contains 'school', from a scan of 60 deals (1 API call); more may match "
                       "(raise --limit).")


def test_finding_in_5000_deals_stops_at_the_page_of_the_match(big):
    org = big.zoho.org.deals
    wanted = org.record(450)["Deal_Name"]
    first_index = next(i for i in range(org.count) if wanted.lower() in org.record(i)["Deal_Name"].lower())
    found = answer(big, "deals", "find", wanted, "--limit", "1")
    assert found["deals"][0]["id"] == org.id(first_index)
    assert found["api_calls"] == first_index // 200 + 1 and found["scanned"] == 200 * found["api_calls"]


def test_finding_nothing_in_5000_deals_costs_25_calls_and_page_token_past_2000(big):
    found = answer(big, "deals", "find", "no such district")
    assert (found["deals"], found["scanned"], found["api_calls"]) == ([], 5000, 25)
    pages = listed(big.zoho)
    assert [params.get("page") for params in pages[:10]] == [str(n) for n in range(1, 11)]
    assert all(params.get("page_token") and "page" not in params for params in pages[10:])


def test_find_contacts_by_full_name(authorized):
    found = answer(authorized, "contacts", "find", "jane smi")
    assert [c["Full_Name"] for c in found["contacts"]] == ["Jane Smith"]
    assert (found["method"], found["scanned"], found["api_calls"]) == ("scan", 40, 1)
    assert listed(authorized.zoho, "/crm/v8/Contacts")[0]["fields"] == ",".join(CONTACT_SUMMARY_FIELDS)
    line = authorized.run(CLI, "contacts", "find", "jane smi").stdout.splitlines()[0]
    assert line == "%s  Jane Smith <jane.smith@oaklandsd.example> - Oakland School District" % (
        found["contacts"][0]["id"])


def test_a_retried_page_counts_as_two_calls(authorized):
    authorized.zoho.inject_fault("GET /crm/v8/Deals", "status_503", count=1)
    found = answer(authorized, "deals", "find", "oakland")
    assert found["api_calls"] == 2 and found["deals"][0]["Deal_Name"] == OAKLAND


# ---- find by name, with the search scope: Zoho's search --------------------------------------------

def test_with_the_search_scope_find_is_one_search_call_by_itself(searching):
    found = answer(searching, "deals", "find", "oakland")
    assert (found["method"], found["scanned"], found["api_calls"]) == ("search", None, 1)
    assert listed(searching.zoho) == []
    assert listed(searching.zoho, "/crm/v8/Deals/search") == [
        {"criteria": "(Deal_Name:equals:oakland)", "fields": ",".join(DEAL_SUMMARY_FIELDS), "per_page": "10",
         "page": "1"}]
    scanned = answer(searching, "deals", "find", "oakland", "--scan", "--limit", "0")
    searched = answer(searching, "deals", "find", "oakland", "--limit", "0")
    assert scanned["method"] == "scan" and searched["method"] == "search"
    assert sorted(d["id"] for d in searched["deals"]) == sorted(d["id"] for d in scanned["deals"])
    assert searching.run(CLI, "deals", "find", "zzz").stdout.splitlines()[-1] == \
        "0 deals whose name contains 'zzz', from Zoho's search (1 API call)."


def test_search_criteria_escape_what_zoho_needs_escaped(searching):
    found = answer(searching, "deals", "find", r"a(b),c\d")
    assert found["deals"] == [] and found["api_calls"] == 1
    assert listed(searching.zoho, "/crm/v8/Deals/search")[0]["criteria"] == r"(Deal_Name:equals:a\(b\)\,c\\d)"


def test_find_contacts_with_the_search_scope(searching):
    found = answer(searching, "contacts", "find", "smith", "--limit", "0")
    assert found["method"] == "search" and found["contacts"]
    assert all("smith" in contact["Full_Name"].lower() for contact in found["contacts"])
    assert listed(searching.zoho, "/crm/v8/Contacts/search")[0]["criteria"] == "(Full_Name:equals:smith)"


def test_finding_in_5000_deals_with_the_search_scope_is_one_call(make_zoho, make_credentials):
    credentials = make_credentials(make_zoho(deals=5000))
    credentials.authorize(scopes=SEARCH_SCOPES)
    found = answer(credentials, "deals", "find", "no such district")
    assert (found["deals"], found["method"], found["api_calls"]) == ([], "search", 1)


# ---- what changed since: If-Modified-Since ------------------------------------------------------------

def test_changed_since_gives_exactly_the_deals_modified_after_it_newest_first(authorized):
    changed = answer(authorized, "deals", "changed", "--since", "7d", "--limit", "0")
    since = datetime.fromisoformat(changed["since"])
    assert abs(since - (datetime.now(timezone.utc) - timedelta(days=7))) < timedelta(minutes=1)
    expected = sorted((d for d in every_deal(authorized) if modified(d) > since), key=modified, reverse=True)
    assert 0 < len(expected) < 60
    assert [d["id"] for d in changed["deals"]] == [d["id"] for d in expected]
    assert (changed["more"], changed["api_calls"]) == (False, 1)
    sent = listed(authorized.zoho)[0]
    assert (sent["fields"], sent["sort_by"], sent["sort_order"]) == (",".join(DEAL_SUMMARY_FIELDS), "Modified_Time",
                                                                     "desc")


def test_nothing_changed_is_zohos_304_and_one_call(authorized):
    changed = answer(authorized, "deals", "changed", "--since", "1m")
    assert (changed["deals"], changed["more"], changed["api_calls"]) == ([], False, 1)
    assert [entry["status"] for entry in authorized.zoho.request_log() if entry["path"] == "/crm/v8/Deals"] == [304]
    text = authorized.run(CLI, "deals", "changed", "--since", "1m").stdout
    assert text.startswith("No deals changed since ") and text.endswith(" (1 API call).\n")


def test_an_edit_is_seen_once_it_is_made(authorized):
    deal_id = authorized.zoho.org.deals.id(5)
    assert answer(authorized, "deals", "changed", "--since", "1m")["deals"] == []
    authorized.zoho.touch_record("Deals", deal_id)
    changed = answer(authorized, "deals", "changed", "--since", "1m")
    assert [d["id"] for d in changed["deals"]] == [deal_id] and changed["api_calls"] == 1
    deal = changed["deals"][0]
    lines = authorized.run(CLI, "deals", "changed", "--since", "1m").stdout.splitlines()
    assert lines[0] == "%s  %s  %s - Stage: %s - Amount: %s - Contact: %s - Closing: %s" % (
        deal["Modified_Time"], deal_id, deal["Deal_Name"], deal["Stage"], deal["Amount"], deal["Contact_Name"],
        deal["Closing_Date"])
    assert lines[1].startswith("1 deal changed since ") and lines[1].endswith(" (1 API call).")


def test_changed_honours_the_limit_and_says_there_are_more(authorized):
    changed = answer(authorized, "deals", "changed", "--since", "7d", "--limit", "2")
    assert len(changed["deals"]) == 2 and changed["more"] is True and changed["api_calls"] == 1
    assert listed(authorized.zoho)[0]["per_page"] == "2"


def test_changed_in_5000_deals_costs_a_call_per_200_changed(big):
    changed = answer(big, "deals", "changed", "--since", "7d", "--limit", "0")
    assert len(changed["deals"]) > 200
    assert changed["api_calls"] == -(-len(changed["deals"]) // 200)
    assert len({d["id"] for d in changed["deals"]}) == len(changed["deals"])
    assert answer(big, "deals", "changed", "--since", "1m")["api_calls"] == 1


def test_contacts_changed_since(authorized):
    changed = answer(authorized, "contacts", "changed", "--since", "7d", "--limit", "0")
    since = datetime.fromisoformat(changed["since"])
    contacts = answer(authorized, "contacts", "list", "--limit", "0")["contacts"]
    assert [c["id"] for c in changed["contacts"]] == [
        c["id"] for c in sorted(contacts, key=modified, reverse=True) if modified(c) > since]
    assert changed["contacts"] and changed["api_calls"] == 1


def test_the_client_takes_an_aware_datetime_and_refuses_a_naive_one(authorized):
    crm = ZohoCRMClient(credentials_dir=str(authorized.directory))
    a_week_ago = datetime.now(timezone.utc) - timedelta(days=7)
    assert crm.changed_deals(a_week_ago)["since"] == a_week_ago.replace(microsecond=0).isoformat()
    with pytest.raises(oauth.BadArgumentError, match="has no time zone. Fix: pass an aware datetime"):
        crm.changed_deals(datetime.now())
    assert crm.api_calls == 1


@pytest.mark.parametrize("text, expected", [
    ("7d", NOW - timedelta(days=7)), ("24h", NOW - timedelta(hours=24)), ("90m", NOW - timedelta(minutes=90)),
    ("2w", NOW - timedelta(weeks=2)), ("7D", NOW - timedelta(days=7)), (" 3 d ", NOW - timedelta(days=3)),
    ("0d", NOW),
    ("2026-11-20T09:00:00+01:00", datetime(2026, 11, 20, 8, tzinfo=timezone.utc)),
    ("2026-11-20T09:00:00Z", datetime(2026, 11, 20, 9, tzinfo=timezone.utc)),
])
def test_since_accepts_how_long_ago_and_iso_times(text, expected):
    assert parse_since(text, now=NOW) == expected


def test_since_without_an_offset_is_local_time(monkeypatch):
    import time
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        assert parse_since("2026-11-20", now=NOW) == datetime(2026, 11, 20, 8, tzinfo=timezone.utc)
        assert parse_since("2026-11-20T09:30", now=NOW) == datetime(2026, 11, 20, 17, 30, tzinfo=timezone.utc)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("text, cause", [
    ("last week", "'last week' is not a time."), ("", "'' is not a time."), ("7x", "'7x' is not a time."),
    ("-7d", "'-7d' is not a time."), ("2026-13-01", "'2026-13-01' is not a time."),
    ("2026-12-02", "2026-12-02T00:00:00+00:00 is in the future"),
])
def test_since_refuses_what_is_not_a_past_time(text, cause, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    with pytest.raises(oauth.BadArgumentError) as refused:
        parse_since(text, now=NOW)
    assert str(refused.value).startswith(cause) and "Fix: pass how long ago (90m, 24h, 7d, 2w)" in str(refused.value)
    assert refused.value.code == "invalid_since"


# ---- the pipeline ---------------------------------------------------------------------------------

def expected_pipeline(deals):
    stages = {}
    for deal in deals:
        stages.setdefault(deal["Stage"], []).append(deal)
    return {stage: (len(rows), sum(d["Amount"] for d in rows), min(d["Closing_Date"] for d in rows),
                    max(d["Closing_Date"] for d in rows)) for stage, rows in stages.items()}


def summary(stage):
    return stage["count"], stage["amount"], stage["closing_from"], stage["closing_to"]


def test_the_pipeline_is_one_scan_with_three_fields(authorized):
    pipeline = answer(authorized, "deals", "pipeline")
    deals = every_deal(authorized)
    assert {s["stage"]: summary(s) for s in pipeline["stages"]} == expected_pipeline(deals)
    assert [s["stage"] for s in pipeline["stages"]] == [
        "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers", "Perception Analysis",
        "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"]
    assert all(s["no_amount"] == 0 for s in pipeline["stages"])
    assert pipeline["total"] == {"count": 60, "amount": sum(d["Amount"] for d in deals), "no_amount": 0,
                                 "closing_from": min(d["Closing_Date"] for d in deals),
                                 "closing_to": max(d["Closing_Date"] for d in deals)}
    assert (pipeline["scanned"], pipeline["api_calls"]) == (60, 1)
    assert listed(authorized.zoho)[0] == {"fields": ",".join(PIPELINE_FIELDS), "per_page": "200", "page": "1"}


def test_open_stages_per_owner_and_one_owners_pipeline(authorized):
    deals = every_deal(authorized)
    open_deals = [d for d in deals if not d["Stage"].startswith("Closed")]
    pipeline = answer(authorized, "deals", "pipeline", "--open", "--by-owner")
    assert {s["stage"]: summary(s) for s in pipeline["stages"]} == expected_pipeline(open_deals)
    assert pipeline["total"]["count"] == len(open_deals) and pipeline["scanned"] == 60
    for stage in pipeline["stages"]:
        owners = stage["owners"]
        assert sum(o["count"] for o in owners) == stage["count"] and sum(o["amount"] for o in owners) == stage["amount"]
        assert [o["amount"] for o in owners] == sorted((o["amount"] for o in owners), reverse=True)
    assert listed(authorized.zoho)[-1]["fields"] == ",".join(PIPELINE_FIELDS + ("Owner",))
    marias = answer(authorized, "deals", "pipeline", "--owner", "maria alvarez")
    assert {s["stage"]: summary(s) for s in marias["stages"]} == expected_pipeline(
        [d for d in deals if d["Owner"] == "Maria Alvarez"])
    assert marias["api_calls"] == 1


def test_the_pipeline_of_5000_deals_is_25_calls(big):
    pipeline = answer(big, "deals", "pipeline")
    assert (pipeline["total"]["count"], pipeline["scanned"], pipeline["api_calls"]) == (5000, 5000, 25)
    assert sum(stage["count"] for stage in pipeline["stages"]) == 5000


def test_the_pipeline_as_text(authorized):
    pipeline = answer(authorized, "deals", "pipeline")
    lines = authorized.run(CLI, "deals", "pipeline").stdout.splitlines()
    assert lines[0].split() == ["Stage", "Deals", "Amount", "Closing", "dates"]
    qualification = pipeline["stages"][0]
    assert lines[1].split() == ["Qualification", str(qualification["count"]), "{:,}".format(qualification["amount"]),
                                qualification["closing_from"], "..", qualification["closing_to"]]
    assert lines[-2].split()[:2] == ["Total", "60"] and lines[-1] == "(60 deals read, 1 API call)"
    by_owner = answer(authorized, "deals", "pipeline", "--by-owner")["stages"][0]["owners"][0]
    by_owner_lines = authorized.run(CLI, "deals", "pipeline", "--by-owner").stdout.splitlines()
    assert by_owner_lines[1] == lines[1]
    assert by_owner_lines[2] == "%-28s %6d %16s  %s .. %s" % (
        "  " + by_owner["owner"], by_owner["count"], "{:,}".format(by_owner["amount"]), by_owner["closing_from"],
        by_owner["closing_to"])


class OnePageTransport(oauth.Transport):
    """Zoho answering the Deals listing with one page of deals that lack an Amount or a Stage (the
    token endpoint is real)."""

    PAGE = {"data": [{"id": "1", "Stage": "Qualification", "Amount": None, "Closing_Date": "2026-12-10"},
                     {"id": "2", "Stage": None, "Amount": 99.5, "Closing_Date": None},
                     {"id": "3", "Stage": "Qualification", "Amount": 100.25, "Closing_Date": "2026-12-01"},
                     {"id": "4", "Stage": "Custom Stage", "Amount": 1, "Closing_Date": "2027-01-01"},
                     {"id": "5", "Stage": "Closed Won", "Amount": 7, "Closing_Date": "2026-11-01"}],
            "info": {"more_records": False, "count": 5, "page": 1, "per_page": 200}}

    def send(self, method, parts, target, body, headers):
        if "/crm/" not in target:
            return super().send(method, parts, target, body, headers)
        return oauth.Response(200, {"content-type": "application/json"}, json.dumps(self.PAGE).encode())


def test_deals_without_an_amount_or_a_stage_are_counted_apart(authorized):
    crm = ZohoCRMClient(credentials_dir=str(authorized.directory))
    crm.transport = OnePageTransport()
    pipeline = crm.pipeline()
    assert [(s["stage"], s["count"], s["amount"], s["no_amount"], s["closing_from"], s["closing_to"])
            for s in pipeline["stages"]] == [
        ("Qualification", 2, 100.25, 1, "2026-12-01", "2026-12-10"),
        ("(no stage)", 1, 99.5, 0, None, None),
        ("Custom Stage", 1, 1, 0, "2027-01-01", "2027-01-01"),
        ("Closed Won", 1, 7, 0, "2026-11-01", "2026-11-01")]
    assert pipeline["total"] == {"count": 5, "amount": 207.75, "no_amount": 1, "closing_from": "2026-11-01",
                                 "closing_to": "2027-01-01"}


# ---- errors: bad input, a missing scope, Zoho failing ------------------------------------------------

@pytest.mark.parametrize("args, code, cause", [
    (("deals", "find", "  "), "invalid_name", "Finding deals by name needs a part of the name."),
    (("contacts", "find", ""), "invalid_name", "Finding contacts by name needs a part of the name."),
    (("deals", "find"), "bad_argument", "the following arguments are required: name."),
    (("deals", "changed", "--since", "last week"), "invalid_since", "'last week' is not a time."),
    (("contacts", "changed", "--since", "2999-01-01"), "invalid_since", "is in the future"),
    (("deals", "find", "x", "--limit", "-2"), "bad_argument", "must be 0 (no limit) or more"),
    (("deals", "pipeline", "--stage", "Qualification"), "bad_argument", "unrecognized arguments: --stage"),
    (("contacts", "pipeline"), "bad_argument", "invalid choice: 'pipeline'"),
])
def test_bad_input_is_one_line_with_the_fix_and_calls_nothing(authorized, args, code, cause):
    before = (authorized.token_bytes(), crm_requests(authorized.zoho))
    completed = authorized.run(CLI, "--json", *args)
    assert_one_line_error(completed, cause)
    assert completed.returncode == oauth.EXIT_BAD_ARGUMENTS
    assert json.loads(completed.stdout) == {
        "error": {"code": code, "message": completed.stderr.strip()[len("Error: "):],
                  "exit_status": oauth.EXIT_BAD_ARGUMENTS, "retry": oauth.RETRY_NEVER},
        "api_calls": 0, "credits_remaining": None}
    assert (authorized.token_bytes(), crm_requests(authorized.zoho)) == before


@pytest.mark.parametrize("args", [("deals", "find", "oakland"), ("deals", "changed"), ("deals", "pipeline")])
def test_without_the_deals_scope_the_error_names_it(credentials, args):
    missing_deals_scope(credentials)
    completed = credentials.run(CLI, "--json", *args)
    assert_one_line_error(completed, "OAUTH_SCOPE_MISMATCH", "the token lacks ZohoCRM.modules.deals.READ",
                          "Fix: add it to the scopes")
    assert completed.returncode == oauth.EXIT_REAUTHORIZE
    error_answer = json.loads(completed.stdout)
    assert (error_answer["error"]["code"], error_answer["api_calls"]) == ("OAUTH_SCOPE_MISMATCH", 1)
    assert crm_requests(credentials.zoho) == 1


def test_contacts_need_their_scope_too(credentials):
    credentials.authorize(scopes=("ZohoCRM.modules.deals.READ", "ZohoCRM.modules.notes.READ"))
    for args in (("contacts", "find", "smith"), ("contacts", "changed")):
        completed = credentials.run(CLI, *args)
        assert_one_line_error(completed, "the token lacks ZohoCRM.modules.contacts.READ")


def test_a_failing_search_is_retried_then_one_line(credentials):
    credentials.authorize(scopes=SEARCH_SCOPES)
    credentials.zoho.inject_fault("GET /crm/v8/Deals/search", "status_500")
    completed = credentials.run(CLI, "--json", "deals", "find", "oakland")
    assert_one_line_error(completed, "Zoho CRM failed on GET /crm/v8/Deals/search (HTTP 500", "Fix: retry later")
    assert completed.returncode == oauth.EXIT_RETRY_LATER
    error_answer = json.loads(completed.stdout)
    assert error_answer["error"]["retry"] == oauth.RETRY_NOW
    assert error_answer["api_calls"] == 4 == crm_requests(credentials.zoho)  # 1 + 3 retries, all counted
    assert "--scan" in credentials.run(CLI, "deals", "find", "--help").stdout


def test_a_scan_counts_its_retries_and_a_failed_one_says_what_it_cost(big):
    big.zoho.inject_fault("GET /crm/v8/Deals", "status_500", count=1)  # retried: the scan goes on
    assert answer(big, "deals", "pipeline")["api_calls"] == 26
    big.zoho.inject_fault("GET /crm/v8/Deals", "status_500")
    completed = big.run(CLI, "--json", "deals", "find", "no such district")
    assert_one_line_error(completed, "HTTP 500")
    assert json.loads(completed.stdout)["api_calls"] == 4


def test_everything_works_with_every_scope(credentials):
    credentials.authorize(scopes=ALL_SCOPES)
    assert answer(credentials, "deals", "find", "oakland")["method"] == "search"
    assert answer(credentials, "deals", "pipeline")["total"]["count"] == 60
    assert answer(credentials, "contacts", "changed", "--since", "2w")["contacts"]

"""ZohoCRMClient against the stand-in: shapes, paging, refresh, retries, errors, secrets."""

import json
import subprocess
import sys
from itertools import islice

import pytest

import zoho_crm_oauth as oauth
from zoho_crm_client import (DEAL_FIELDS, RecordNotFoundError, RequestsSessionTransport, ZohoCRMClient, flatten,
                             flatten_all)

from tool_harness import ALL_SCOPES, TOOLS_DIR, tool_environment

OAKLAND = {"Deal_Name": "Oakland School District - Grant Funded", "Stage": "Qualification",
           "Contact_Name": "Jane Smith", "Amount": 50000}


def client_for(credentials, **kwargs):
    kwargs.setdefault("backoff", 0.01)
    return ZohoCRMClient(credentials_dir=str(credentials.directory), **kwargs)


def crm_calls(zoho, template):
    return zoho.counters()["crm"].get(template, 0)


class RejectingTransport(oauth.Transport):
    """Zoho answering INVALID_TOKEN to every CRM call, whatever the token (the token endpoint is real)."""

    def send(self, method, parts, target, body, headers):
        if "/crm/" not in target:
            return super().send(method, parts, target, body, headers)
        return oauth.Response(401, {"content-type": "application/json;charset=UTF-8"},
                              b'{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}')


@pytest.fixture
def crm(authorized):
    return client_for(authorized)


def first_deal_id(crm):
    return next(iter(crm.list_deals(limit=1)))["id"]


def test_get_deal_has_the_guides_flat_shape(crm):
    deal = crm.get_deal(first_deal_id(crm))

    assert {key: deal[key] for key in OAKLAND} == OAKLAND
    assert list(deal)[:6] == ["Deal_Name", "Stage", "Contact_Name", "Amount", "Closing_Date", "Description"]
    assert deal["Closing_Date"] and deal["Description"]
    assert deal["id"].isdigit()
    assert deal["Contact_Name_id"].isdigit()  # the lookup's id, to fetch the contact
    assert isinstance(deal["Owner"], str) and isinstance(deal["Account_Name"], str)
    assert not [key for key in deal if key.startswith("$")]


def test_flat_shape_whatever_the_order_and_layout_of_zoho_keys():
    fields = ("Deal_Name", "Stage", "Owner", "$approval_state")
    owner = {"name": "Maria", "id": "9", "email": "maria@example.com"}
    records = [
        # Zoho's order differs from the fields': id first, lookups in between, meta keys anywhere.
        {"id": "1", "Stage": "Won", "$state": "save", "Owner": owner, "Deal_Name": "A", "Extra": 5,
         "$approval_state": "approved"},
        # The same keys: a null lookup has no _id; a dict without an id is not a lookup.
        {"id": "2", "Stage": {"name": "no id"}, "$state": "save", "Owner": None, "Deal_Name": "B", "Extra": 6,
         "$approval_state": "approved"},
        # Other keys mid-listing: shaped by its own keys, not the previous record's.
        {"Deal_Name": "C", "Contact_Name": {"name": "Jane", "id": "7"}, "id": "3", "Owner": owner},
    ]
    given = json.dumps(records)

    flat = list(flatten_all(records, fields))

    assert [list(deal.items()) for deal in flat] == [
        [("Deal_Name", "A"), ("Stage", "Won"), ("Owner", "Maria"), ("$approval_state", "approved"), ("id", "1"),
         ("Extra", 5), ("Owner_id", "9")],
        [("Deal_Name", "B"), ("Stage", {"name": "no id"}), ("Owner", None), ("$approval_state", "approved"),
         ("id", "2"), ("Extra", 6)],
        [("Deal_Name", "C"), ("Owner", "Maria"), ("id", "3"), ("Contact_Name", "Jane"), ("Owner_id", "9"),
         ("Contact_Name_id", "7")],
    ]
    assert [flatten(record, fields) for record in records] == flat
    assert json.dumps(records) == given  # the records themselves are left as they were


def test_list_deals_is_lazy(crm, authorized):
    deals = crm.list_deals()
    assert crm_calls(authorized.zoho, "GET /crm/v8/Deals") == 0
    assert len(list(islice(deals, 3))) == 3
    assert crm_calls(authorized.zoho, "GET /crm/v8/Deals") == 1


def test_listing_5000_deals_takes_25_calls_and_page_token_past_2000(make_zoho, make_credentials):
    zoho = make_zoho(deals=5000)
    credentials = make_credentials(zoho)
    credentials.authorize()

    deals = list(client_for(credentials).list_deals())

    assert len(deals) == 5000
    assert len({deal["id"] for deal in deals}) == 5000
    assert crm_calls(zoho, "GET /crm/v8/Deals") == 25
    listing = [entry["params"] for entry in zoho.request_log()
               if (entry["method"], entry["path"]) == ("GET", "/crm/v8/Deals")]
    assert [params.get("page") for params in listing[:10]] == [str(n) for n in range(1, 11)]
    assert all("page_token" not in params for params in listing[:10])
    assert all(params.get("page_token") and "page" not in params for params in listing[10:])
    assert all(params["fields"] == ",".join(DEAL_FIELDS) for params in listing)


def test_stage_and_owner_filters_match_a_client_side_filter(crm):
    every = list(crm.list_deals())
    stage = every[0]["Stage"]
    owner = every[-1]["Owner"]

    assert [d["id"] for d in crm.list_deals(stage=stage.upper())] == [d["id"] for d in every
                                                                        if d["Stage"] == stage]
    owned = [d["id"] for d in crm.list_deals(owner=owner)]
    assert owned == [d["id"] for d in every if d["Owner"] == owner] and owned
    assert list(crm.list_deals(stage="No Such Stage")) == []
    assert len(list(crm.list_deals(stage=stage, limit=2))) == min(2, sum(d["Stage"] == stage for d in every))


def test_empty_module_is_no_rows_not_an_error(make_zoho, make_credentials):
    credentials = make_credentials(make_zoho(deals=0))
    credentials.authorize()
    assert list(client_for(credentials).list_deals()) == []


def test_contacts_and_notes(crm):
    deal = crm.get_deal(first_deal_id(crm))
    contact = crm.get_contact(deal["Contact_Name_id"])
    assert contact["Full_Name"] == "Jane Smith"
    assert contact["id"] == deal["Contact_Name_id"]
    contacts = list(crm.list_contacts(limit=3))
    assert len(contacts) == 3 and all(c["id"].isdigit() for c in contacts)
    owner = contacts[0]["Owner"]
    assert all(c["Owner"] == owner for c in crm.list_contacts(owner=owner, limit=5))

    notes = crm.get_deal_notes(deal["id"])
    assert isinstance(notes, list)
    for note in notes:
        assert note["Parent_Id_id"] == deal["id"]
        assert "Note_Content" in note
    assert isinstance(crm.get_contact_notes(contact["id"]), list)


def test_notes_of_some_record_exist_and_name_their_parent(crm):
    with_notes = [d for d in islice(crm.list_deals(), 20) if crm.get_deal_notes(d["id"])]
    assert with_notes, "the stand-in's first 20 deals have no notes at all"
    note = crm.get_deal_notes(with_notes[0]["id"])[0]
    assert note["Parent_Id"] == with_notes[0]["Deal_Name"]


def test_deal_context_takes_three_calls(crm, authorized):
    deal_id = first_deal_id(crm)
    before = sum(authorized.zoho.counters()["crm"].values())

    context = crm.deal_context(deal_id)

    assert sum(authorized.zoho.counters()["crm"].values()) - before == 3
    assert context["deal"]["Deal_Name"] == OAKLAND["Deal_Name"]
    assert context["contact"]["Full_Name"] == "Jane Smith"
    assert context["notes"] == crm.get_deal_notes(deal_id)


def test_missing_record_and_malformed_id(crm):
    with pytest.raises(RecordNotFoundError, match="has no Deals record 1111111111111111111") as missing:
        crm.get_deal("1" * 19)
    assert "Fix:" in str(missing.value) and missing.value.exit_status == oauth.EXIT_FAILED
    with pytest.raises(oauth.BadArgumentError, match="not a Zoho record id") as malformed:
        crm.get_deal("../Contacts")
    assert malformed.value.code == "invalid_id" and malformed.value.exit_status == oauth.EXIT_BAD_ARGUMENTS


def test_search_without_its_scope_names_the_scope(crm, authorized):
    with pytest.raises(oauth.ScopeMismatchError) as raised:
        list(crm.search_deals(text="Oakland"))
    assert raised.value.missing_scopes == (oauth.SEARCH_SCOPE,)
    assert oauth.SEARCH_SCOPE in str(raised.value)
    assert raised.value.exit_status == oauth.EXIT_REAUTHORIZE


def test_search_and_coql_with_their_scopes(credentials):
    credentials.authorize(scopes=ALL_SCOPES)
    crm = client_for(credentials)

    found = list(crm.search_deals(text="Oakland"))
    assert OAKLAND["Deal_Name"] in [d["Deal_Name"] for d in found]
    assert [c["Full_Name"] for c in crm.search_contacts(criteria="(Last_Name:equals:Smith)", limit=5)]
    rows = crm.coql("select Deal_Name, Stage from Deals where Stage = 'Qualification' limit 3")
    assert 1 <= len(rows) <= 3 and all(row["Stage"] == "Qualification" for row in rows)
    with pytest.raises(oauth.BadArgumentError, match="needs a text, criteria or email"):
        list(crm.search_deals())


def test_coql_without_its_scope_names_the_scope(crm):
    with pytest.raises(oauth.ScopeMismatchError, match=oauth.COQL_SCOPE.replace(".", r"\.")):
        crm.coql("select id from Deals where id is not null limit 1")


def test_expired_token_is_refreshed_once_ahead_of_the_call(crm, authorized):
    authorized.expire_access_token()
    crm = client_for(authorized)
    old = authorized.tokens()

    assert crm.get_deal(first_deal_id(crm))["Deal_Name"] == OAKLAND["Deal_Name"]

    assert authorized.zoho.counters()["token"]["refresh_token"] == 1
    new = authorized.tokens()
    assert new["refresh_token"] == old["refresh_token"] and new["access_token"] != old["access_token"]


def test_invalid_token_refreshes_once_and_retries(crm, authorized):
    authorized.zoho.clock.advance(3700)  # Zoho's token expired; the file does not know yet

    assert len(list(crm.list_deals(limit=2))) == 2

    assert authorized.zoho.counters()["token"]["refresh_token"] == 1
    assert authorized.zoho.counters()["crm"]["GET /crm/v8/Deals"] == 2


def test_revoked_access_ends_in_the_refresh_tokens_hint(crm, authorized):
    record = authorized.tokens()
    oauth.revoke_refresh_token(record["accounts_server"], record["refresh_token"])
    before = authorized.token_bytes()

    with pytest.raises(oauth.InvalidCodeError, match="authorize again"):
        crm.get_deal("1" * 19)

    assert authorized.token_bytes() == before


def test_invalid_token_that_a_refresh_does_not_cure_gives_its_hint(authorized):
    refresh_token = authorized.tokens()["refresh_token"]
    crm = client_for(authorized)
    crm.transport = RejectingTransport()

    with pytest.raises(oauth.InvalidTokenError) as raised:
        crm.get_deal("1" * 19)

    assert "(INVALID_TOKEN)" in str(raised.value) and "Fix:" in str(raised.value)
    assert raised.value.exit_status == oauth.EXIT_REAUTHORIZE
    assert crm.api_calls == 2  # the call, then once more after the refresh
    assert authorized.zoho.counters()["token"]["refresh_token"] == 1  # one refresh, not a loop
    assert authorized.tokens()["refresh_token"] == refresh_token


@pytest.mark.parametrize("kind", ["status_500", "status_503", "reset", "truncated"])
def test_transient_failures_are_retried(crm, authorized, kind):
    authorized.zoho.inject_fault("GET /crm/v8/Deals", kind, count=2)
    assert len(list(crm.list_deals(limit=1))) == 1
    assert crm_calls(authorized.zoho, "GET /crm/v8/Deals") == 3
    assert crm.api_calls == 3  # what the caller can read: retries included


def test_retries_are_bounded(authorized):
    crm = client_for(authorized, max_retries=2)
    authorized.zoho.inject_fault("GET /crm/v8/Deals", "status_500")
    with pytest.raises(oauth.ServerError) as raised:
        list(crm.list_deals(limit=1))
    assert crm_calls(authorized.zoho, "GET /crm/v8/Deals") == 3
    assert raised.value.exit_status == oauth.EXIT_RETRY_LATER and raised.value.retry == oauth.RETRY_NOW


@pytest.mark.parametrize("rejected_by_zoho", [False, True], ids=["expired-per-the-file", "rejected-by-zoho"])
def test_a_transient_token_endpoint_failure_is_retried(authorized, rejected_by_zoho):
    if rejected_by_zoho:
        authorized.zoho.clock.advance(3700)  # Zoho's clock passes the expiry; the file's has not
    else:
        authorized.expire_access_token()
    authorized.zoho.inject_fault("token", "status_503", count=2)
    assert len(list(client_for(authorized).list_deals(limit=1))) == 1
    assert authorized.zoho.counters()["token"]["refresh_token"] == 3


def test_access_denied_on_refresh_is_not_retried(authorized):
    authorized.expire_access_token()
    authorized.zoho.inject_fault("token", "access_denied")
    crm = client_for(authorized)
    with pytest.raises(oauth.TokenThrottledError) as raised:
        list(crm.list_deals(limit=1))
    assert authorized.zoho.counters()["token"]["refresh_token"] == 1  # retrying cannot lift the limit
    assert raised.value.retry == oauth.RETRY_LATER and raised.value.retry_after == 600
    assert crm.api_calls == 0


def test_a_slow_answer_times_out_and_is_retried(authorized):
    crm = client_for(authorized, timeout=(2, 0.3))
    authorized.zoho.inject_fault("GET /crm/v8/Deals", "delay", count=1, delay=1.0)
    assert len(list(crm.list_deals(limit=1))) == 1
    assert crm_calls(authorized.zoho, "GET /crm/v8/Deals") == 2


def test_other_client_errors_are_not_retried(crm, authorized):
    with pytest.raises(oauth.ScopeMismatchError):
        crm.coql("select id from Deals where id is not null limit 1")
    assert crm_calls(authorized.zoho, "POST /crm/v8/coql") == 1


def test_unreachable_api_is_a_transient_transport_error(authorized):
    authorized.update_tokens(api_domain="http://127.0.0.1:9")
    crm = client_for(authorized, max_retries=1)
    with pytest.raises(oauth.TransportError, match="Cannot reach 127.0.0.1:9 .*ConnectionRefusedError") as raised:
        crm.get_deal("1" * 19)
    assert raised.value.exit_status == oauth.EXIT_RETRY_LATER
    assert crm.api_calls == 2


@pytest.mark.parametrize("api_domain", ["zohoapis.example", "http://www.zohoapis.com"])
def test_broken_or_plain_http_api_domain_is_refused_before_any_call(authorized, api_domain):
    authorized.update_tokens(api_domain=api_domain)
    with pytest.raises(oauth.TokenFileError, match="api_domain") as raised:
        client_for(authorized).get_deal("1" * 19)
    assert raised.value.exit_status == oauth.EXIT_CONFIG
    assert sum(authorized.zoho.counters()["crm"].values()) == 0


@pytest.mark.uses_requests
def test_a_callers_requests_session_carries_the_refresh_and_the_calls(authorized):
    requests = pytest.importorskip("requests")

    class RecordingSession(requests.Session):
        def __init__(self):
            super().__init__()
            self.calls = []

        def request(self, method, url, **kwargs):
            self.calls.append((method, url.split("?")[0], kwargs.get("timeout")))
            return super().request(method, url, **kwargs)

    session = RecordingSession()
    authorized.expire_access_token()
    crm = client_for(authorized, session=session)
    assert isinstance(crm.transport, RequestsSessionTransport)
    deal_id = first_deal_id(crm)
    crm.deal_context(deal_id)

    assert [method for method, _url, _timeout in session.calls] == ["POST", "GET", "GET", "GET", "GET"]
    assert session.calls[0][1] == authorized.zoho.accounts_url() + oauth.TOKEN_PATH
    assert all(timeout == crm.transport.timeout and all(timeout) for _m, _u, timeout in session.calls)
    assert crm.api_calls == 4 and authorized.zoho.counters()["token"]["refresh_token"] == 1


@pytest.mark.uses_requests
def test_a_callers_session_failure_is_a_transport_error_without_the_url(authorized):
    requests = pytest.importorskip("requests")
    authorized.update_tokens(api_domain="http://127.0.0.1:9")
    crm = client_for(authorized, session=requests.Session(), max_retries=1)
    with pytest.raises(oauth.TransportError, match=r"127\.0\.0\.1:9 through the caller's session \(ConnectionError\)"):
        list(crm.list_deals(limit=1))
    assert crm.api_calls == 2


def test_credits_remaining_is_exposed_once_zoho_sends_it(make_zoho, make_credentials):
    zoho = make_zoho(daily_credits=4)
    credentials = make_credentials(zoho)
    credentials.authorize()
    crm = client_for(credentials)
    assert crm.credits_remaining is None
    list(crm.list_deals(limit=1))
    list(crm.list_deals(limit=1))
    list(crm.list_deals(limit=1))
    assert crm.credits_remaining == 1


def test_missing_files_raise_typed_errors(credentials):
    with pytest.raises(oauth.TokenFileError, match="No token file"):
        client_for(credentials)
    credentials.client_secret_path.unlink()
    with pytest.raises(oauth.ConfigError, match="does not exist"):
        client_for(credentials)


def test_error_texts_and_reprs_hold_no_secret(authorized):
    crm = client_for(authorized)
    texts = [repr(crm), repr(crm.oauth_client)]
    authorized.zoho.clock.advance(3700)
    record = authorized.tokens()
    oauth.revoke_refresh_token(record["accounts_server"], record["refresh_token"])
    for call in (lambda: crm.get_deal("1" * 19), lambda: crm.coql("select id from Deals")):
        with pytest.raises(oauth.ZohoError) as raised:
            call()
        texts += [str(raised.value), repr(raised.value)]
    authorized.assert_no_secret_in(*texts)


def test_workspace_import_as_the_guide_shows(authorized, tmp_path):
    """From <home>/workspace, `from tools.zoho_crm_client import ZohoCRMClient` finds
    <home>/credentials by itself (tools/ is a plain directory, not a package)."""
    home = tmp_path / "home"
    tools = home / "workspace" / "tools"
    tools.mkdir(parents=True)
    for name in ("zoho_crm_client.py", "zoho_crm_tools.py", "zoho_crm_oauth.py"):
        (tools / name).write_bytes((TOOLS_DIR / name).read_bytes())
    authorized.directory.rename(home / "credentials")
    script = ("from tools.zoho_crm_client import ZohoCRMClient\n"
              "crm = ZohoCRMClient()\n"
              "print(crm.token_file.path)\n"
              "print(next(iter(crm.list_deals(limit=1)))['Deal_Name'])\n")

    completed = subprocess.run([sys.executable, "-c", script], cwd=str(home / "workspace"), capture_output=True,
                               text=True, env=tool_environment(), timeout=60)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [str(home / "credentials" / oauth.TOKENS_FILENAME),
                                             OAKLAND["Deal_Name"]]


def test_a_running_client_picks_up_a_rotated_client_secret(authorized):
    crm = client_for(authorized)
    deal_id = first_deal_id(crm)
    new_secret = authorized.zoho.rotate_client_secret()
    authorized.seen_secrets.add(new_secret)
    authorized.write_client_secret(client_secret=new_secret)  # what rotate.yml installs
    authorized.expire_access_token()
    crm._tokens = authorized.token_file.read()  # as if the access token had aged in this process

    assert crm.get_deal(deal_id)["id"] == deal_id
    assert authorized.zoho.counters()["token"]["refresh_token"] == 1


def test_a_plain_number_timeout_is_accepted(authorized):
    crm = client_for(authorized, timeout=7)
    authorized.expire_access_token()
    crm._tokens = authorized.token_file.read()
    assert crm.get_deal(first_deal_id(crm))["Deal_Name"]
    assert crm.transport.timeout == (7, 7)

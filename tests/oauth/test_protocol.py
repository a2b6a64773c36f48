"""The parts of zoho_crm_oauth that need no server: URLs, parsing, errors, records."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

import zoho_crm_oauth as oauth

CODE = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"


def make_client(**overrides):
    fields = dict(client_id="1000.CLIENTID", client_secret="s3cret-value",
                  token_uri="https://accounts.zoho.com/oauth/v2/token")
    fields.update(overrides)
    return oauth.ClientConfig(**fields)


def test_authorization_url_asks_for_offline_access_with_forced_consent():
    url = oauth.authorization_url(make_client(), state="abc")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.zoho.com/oauth/v2/auth"
    assert query["scope"] == [",".join(oauth.DEFAULT_SCOPES)]
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]
    assert query["response_type"] == ["code"]
    assert query["state"] == ["abc"]
    assert query["redirect_uri"] == [oauth.DEFAULT_REDIRECT_URI]
    # Readable like the guide's URL: commas and the redirect URI are not percent-encoded.
    assert "scope=ZohoCRM.modules.deals.READ,ZohoCRM.modules.contacts.READ," in url
    assert "redirect_uri=http://localhost:8080/oauth/callback" in url


@pytest.mark.parametrize("text", [CODE, f"  {CODE}\n"])
def test_bare_code_is_accepted(text):
    assert oauth.parse_authorization_response(text) == oauth.AuthorizationResponse(CODE, None, None, None)


def test_redirect_url_gives_code_state_and_data_center():
    url = (f"http://localhost:8080/oauth/callback?state=xyz&code={CODE}&location=eu"
           "&accounts-server=https%3A%2F%2Faccounts.zoho.eu&")
    response = oauth.parse_authorization_response(url, expected_state="xyz")
    assert response == oauth.AuthorizationResponse(CODE, "xyz", "eu", "https://accounts.zoho.eu")


def test_query_string_alone_is_accepted():
    assert oauth.parse_authorization_response(f"code={CODE}&location=us").code == CODE


@pytest.mark.parametrize("text, fragment", [
    ("", "No grant code given"),
    ("not a code", "No usable grant code"),
    ("http://localhost:8080/oauth/callback?error=access_denied&state=x", "refused (access_denied)"),
    (f"http://localhost:8080/cb?code={CODE}%26grant_type%3Dx", "No usable grant code"),
])
def test_unusable_input_is_refused_with_a_fix(text, fragment):
    with pytest.raises(oauth.AuthorizationError) as caught:
        oauth.parse_authorization_response(text)
    assert fragment in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_state_mismatch_is_refused():
    with pytest.raises(oauth.AuthorizationError, match="state does not match"):
        oauth.parse_authorization_response(f"http://x/cb?code={CODE}&state=forged", expected_state="mine")


def test_redirected_accounts_server_is_used_when_it_is_zohos():
    client = make_client()
    response = oauth.AuthorizationResponse(CODE, None, "eu", "https://accounts.zoho.eu")
    assert oauth.token_endpoint_for(client, response) == (
        "https://accounts.zoho.eu", "https://accounts.zoho.eu/oauth/v2/token")


def test_redirected_accounts_server_on_the_configured_origin_is_used():
    client = make_client(token_uri="http://127.0.0.1:9000/us/accounts/oauth/v2/token")
    response = oauth.AuthorizationResponse(CODE, None, "eu", "http://127.0.0.1:9000/eu/accounts")
    assert oauth.token_endpoint_for(client, response)[0] == "http://127.0.0.1:9000/eu/accounts"


def test_client_secret_is_never_sent_to_a_pasted_foreign_server():
    response = oauth.AuthorizationResponse(CODE, None, "us", "https://accounts.evil.example")
    with pytest.raises(oauth.AuthorizationError, match="not Zoho's"):
        oauth.token_endpoint_for(make_client(), response)


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/crm/v8/Deals", ("ZohoCRM.modules.deals.READ",)),
    ("GET", "https://www.zohoapis.com/crm/v8/Deals/123?fields=a", ("ZohoCRM.modules.deals.READ",)),
    ("GET", "/crm/v8/Deals/123/Notes", ("ZohoCRM.modules.deals.READ", "ZohoCRM.modules.notes.READ")),
    ("GET", "/crm/v8/Contacts/search", ("ZohoCRM.modules.contacts.READ", oauth.SEARCH_SCOPE)),
    ("POST", "/crm/v8/coql", (oauth.COQL_SCOPE,)),
    ("GET", "/crm/v8/settings/fields", ("ZohoCRM.settings.fields.READ",)),
    ("GET", "/crm/v8/users", ("ZohoCRM.users.READ",)),
])
def test_required_scopes_follow_the_path(method, path, expected):
    assert oauth.required_scopes(method, path) == expected


@pytest.mark.parametrize("granted, ok", [
    (["ZohoCRM.modules.deals.READ"], True),
    (["zohocrm.modules.deals.read"], True),
    (["ZohoCRM.modules.deals.ALL"], True),
    (["ZohoCRM.modules.ALL"], True),
    (["ZohoCRM.modules.contacts.READ"], False),
    ([], False),
])
def test_scope_satisfied(granted, ok):
    assert oauth.scope_satisfied("ZohoCRM.modules.deals.READ", granted) is ok


def test_scope_mismatch_names_the_missing_scope():
    body = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "invalid oauth scope", "status": "error"}
    exc = oauth.api_error(401, body, "GET", "/crm/v8/Deals/search",
                          granted_scopes=["ZohoCRM.modules.deals.READ"])
    assert isinstance(exc, oauth.ScopeMismatchError)
    assert exc.missing_scopes == (oauth.SEARCH_SCOPE,)
    assert oauth.SEARCH_SCOPE in str(exc) and "Fix:" in str(exc)


@pytest.mark.parametrize("status, code, cls", [
    (401, "INVALID_TOKEN", oauth.InvalidTokenError),
    (401, "AUTHENTICATION_FAILURE", oauth.InvalidTokenError),
    (429, "TOO_MANY_REQUESTS", oauth.RateLimitError),
    (403, "NO_PERMISSION", oauth.PermissionDeniedError),
    (500, "INTERNAL_ERROR", oauth.ServerError),
    (400, "REQUIRED_PARAM_MISSING", oauth.ApiError),
])
def test_api_errors_are_typed(status, code, cls):
    exc = oauth.api_error(status, {"code": code, "details": {"param_name": "fields"}, "message": "m"}, "GET",
                          "/crm/v8/Deals")
    assert type(exc) is cls
    assert exc.status == status and exc.code == code
    assert "\n" not in str(exc)


def test_api_error_without_json_body():
    exc = oauth.api_error(502, None, "GET", "/crm/v8/Deals")
    assert isinstance(exc, oauth.ServerError) and exc.retry == oauth.RETRY_NOW
    assert "HTTP 502" in str(exc)


def test_unknown_data_center_names_the_valid_ones():
    with pytest.raises(oauth.ConfigError, match="us"):
        oauth.data_center("mars")
    assert oauth.data_center("EU").accounts_url == "https://accounts.zoho.eu"
    assert oauth.data_center_of("https://accounts.zohocloud.ca/") == "ca"
    assert oauth.data_center_of("http://127.0.0.1:1/us/accounts") is None
    assert not oauth.DATA_CENTERS["uk"].confirmed


def test_client_config_loads_the_guides_file(tmp_path):
    path = tmp_path / oauth.CLIENT_SECRET_FILENAME
    path.write_text(json.dumps({
        "client_id": "1000.ABC", "client_secret": "xyz", "redirect_uri": "http://localhost:8080/oauth/callback",
        "auth_uri": "https://accounts.zoho.eu/oauth/v2/auth", "token_uri": "https://accounts.zoho.eu/oauth/v2/token",
    }))
    client = oauth.ClientConfig.load(str(path))
    assert client.accounts_server == "https://accounts.zoho.eu"
    assert client.scopes == oauth.DEFAULT_SCOPES
    assert "xyz" not in repr(client)
    assert client.auth_uri == "https://accounts.zoho.eu/oauth/v2/auth"


@pytest.mark.parametrize("content, fragment", [
    (None, "does not exist"),
    ("{not json", "not a JSON object"),
    ('["a"]', "not a JSON object"),
    ('{"client_id": "1000.A"}', "lacks client_secret, token_uri"),
    ('{"client_id": "PASTE_CLIENT_ID_HERE", "client_secret": "s3cret", "token_uri": "https://a/oauth/v2/token"}',
     "placeholder"),
    ('{"client_id": "1000.A", "client_secret": "s3cret", "token_uri": "ftp://a/oauth/v2/token"}', "not an http(s) URL"),
    ('{"client_id": "1000.A", "client_secret": "s3cret", "token_uri": "https://a/t", "data_center": "mars"}',
     "Unknown Zoho data center"),
])
def test_bad_client_secret_file_is_refused_with_a_fix(tmp_path, content, fragment):
    path = tmp_path / "client.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(oauth.ConfigError) as caught:
        oauth.ClientConfig.load(str(path))
    assert fragment in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_token_record_from_an_exchange():
    response = {"access_token": "1000.a.b", "refresh_token": "1000.r.t", "api_domain": "https://www.zohoapis.eu",
                "token_type": "Bearer", "expires_in": 3600, "scope": "ZohoCRM.modules.deals.READ"}
    record = oauth.TokenRecord.from_token_response(response, make_client(), "https://accounts.zoho.eu", now=1_000_000,
                                                   code=CODE)
    data = record.to_json()
    assert list(data)[:6] == list(oauth.GUIDE_TOKEN_FIELDS)
    assert data["expires_at"] == oauth.format_time(1_003_600) and record.expires_at == 1_003_600
    assert data["data_center"] == "eu"
    assert data["code_sha256"] == oauth.code_digest(CODE)
    assert data["client_id"] == "1000.CLIENTID"
    assert oauth.TokenRecord.from_json(data, "a file") == record


def test_refresh_keeps_the_refresh_token_code_hash_and_unknown_fields():
    previous = oauth.TokenRecord.from_json(
        {"access_token": "old", "refresh_token": "1000.keep.me", "api_domain": "https://www.zohoapis.com",
         "scope": "ZohoCRM.modules.deals.READ", "code_sha256": "abc", "written_by": "someone else"}, "a file")
    response = {"access_token": "new", "api_domain": "https://www.zohoapis.com", "expires_in": 3600}
    record = oauth.TokenRecord.from_token_response(response, make_client(), "https://accounts.zoho.com", now=0,
                                                   previous=previous)
    assert record.refresh_token == "1000.keep.me"
    assert record.code_sha256 == "abc"
    assert record.scopes == ("ZohoCRM.modules.deals.READ",)
    assert record.to_json()["written_by"] == "someone else"


def test_legacy_milliseconds_expiry_is_understood():
    response = {"access_token": "a", "refresh_token": "r", "api_domain": "https://x", "expires_in": 3600000,
                "expires_in_sec": 3600}
    record = oauth.TokenRecord.from_token_response(response, make_client(), "https://accounts.zoho.com", now=0)
    assert record.expires_in == 3600
    assert record.expires_at == 3600


def test_an_access_only_record_is_valid_but_cannot_refresh():
    """A token file may hold only an access token (a refresher the agent cannot read keeps the
    refresh token): it reads, its access token serves, and a refresh says what is missing."""
    record = oauth.TokenRecord.from_json({"access_token": "1000.a.b", "api_domain": "https://www.zohoapis.com",
                                          "expires_at": oauth.format_time(4000), "scope": "A B"}, "tokens.json")
    assert record.refresh_token is None and record.scopes == ("A", "B")
    assert not record.needs_refresh(now=0)
    assert "refresh_token" not in record.to_json()
    with pytest.raises(oauth.TokenFileError, match="tokens.json lacks refresh_token, which a refresh needs"):
        oauth.refresh_access_token(make_client(), record)


@pytest.mark.parametrize("data, fragment", [
    ({"api_domain": "https://x"}, "lacks access_token"),
    ({"access_token": "a"}, "lacks api_domain"),
    ({"access_token": 5, "api_domain": "https://x"}, "lacks access_token"),
    ({"access_token": "a", "api_domain": "http://www.zohoapis.com"}, "plain http"),
])
def test_a_record_without_what_every_call_needs_is_refused(data, fragment):
    with pytest.raises(oauth.TokenFileError, match=fragment):
        oauth.TokenRecord.from_json(data, "tokens.json")


@pytest.mark.parametrize("expires_at", [None, "", "tomorrow", "2026-13-01T00:00:00Z", 12345])
def test_a_file_without_a_readable_expiry_counts_as_expired(expires_at):
    record = oauth.TokenRecord.from_json({"access_token": "a", "api_domain": "https://x", "expires_at": expires_at},
                                         "a file")
    assert record.expires_at is None and record.needs_refresh(now=10)


def test_needs_refresh_uses_min_ttl():
    record = oauth.TokenRecord("a", "https://x", expires_at=1000)
    assert not record.needs_refresh(min_ttl=300, now=600)
    assert record.needs_refresh(min_ttl=300, now=701)
    assert record.seconds_left(now=600) == 400


def test_times_round_trip_as_utc():
    import calendar
    for timestamp in (0, 951782400, 1_000_000_000, 1_709_164_800, 4_102_444_800):  # 2000-02-29, 2024-02-29, 2100
        assert oauth.parse_time(oauth.format_time(timestamp)) == timestamp
        assert oauth.parse_time(oauth.format_time(timestamp)) == calendar.timegm(time.gmtime(timestamp))


def test_redacted_view_and_repr_hold_no_token():
    record = oauth.TokenRecord("1000.secret.access", "https://www.zohoapis.com", refresh_token="1000.secret.refresh",
                               scopes="A B", expires_at=oauth.parse_time("2026-01-01T00:00:00Z"))
    view = record.redacted()
    for text in (json.dumps(view), repr(record), str(record)):
        assert "secret" not in text
    assert view["scopes"] == ["A", "B"] and view["expires_at"] == "2026-01-01T00:00:00Z"
    assert view["refresh_token"] == oauth.fingerprint("1000.secret.refresh")
    assert oauth.redacted(None) == {}


def test_mask_shows_only_the_guides_prefix():
    assert oauth.mask("1000.abcdef123456.xyz") == "1000.abcdef..."
    assert oauth.mask("") == ""


def test_parse_scopes_accepts_lists_and_strings():
    assert oauth.parse_scopes("a, b c,a") == ("a", "b", "c")
    assert oauth.parse_scopes(["a", "a", " b "]) == ("a", "b")

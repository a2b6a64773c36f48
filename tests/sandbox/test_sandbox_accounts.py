"""Zoho Accounts stand-in: token endpoint, consent, revoke, data centers and the token limits."""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from zoho_sandbox import GrantLimitReached

JSON = "application/json;charset=UTF-8"
TOKEN_SHAPE = re.compile(r"^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$")
SEED_SCOPES = ["ZohoCRM.modules.deals.READ", "ZohoCRM.modules.contacts.READ", "ZohoCRM.modules.notes.READ"]


def auth_url(sandbox, dc=None, **params):
    query = {"client_id": sandbox.client["client_id"], "response_type": "code",
             "redirect_uri": sandbox.client["redirect_uri"], "scope": ",".join(SEED_SCOPES),
             "access_type": "offline", "state": "xyz-123", **params}
    return sandbox.accounts_url(dc) + "/oauth/v2/auth?" + urlencode({k: v for k, v in query.items() if v is not None})


def redirect_params(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def revoke(sandbox, token, dc=None, transport="data"):
    url = sandbox.accounts_url(dc) + "/oauth/v2/token/revoke"
    return requests.post(url, **{transport: {"token": token}}, timeout=10)


def crm_status(sandbox, access_token, dc=None):
    response = requests.get(sandbox.api_domain(dc) + "/crm/v8/Deals", params={"fields": "Deal_Name"},
                            headers={"Authorization": f"Zoho-oauthtoken {access_token}"}, timeout=10)
    return response.status_code, response.json().get("code") if response.content else None


# -- token endpoint: success shapes --------------------------------------------------------------

def test_exchange_answers_like_zoho(zoho, post_token):
    code = zoho.self_client_code(SEED_SCOPES)
    response = post_token(zoho, grant_type="authorization_code", code=code)
    body = response.json()
    assert response.status_code == 200 and response.headers["Content-Type"] == JSON
    assert set(body) == {"access_token", "refresh_token", "scope", "api_domain", "token_type", "expires_in"}
    assert TOKEN_SHAPE.match(body["access_token"]) and TOKEN_SHAPE.match(body["refresh_token"])
    assert body["expires_in"] == 3600 and body["token_type"] == "Bearer"
    assert body["scope"] == " ".join(SEED_SCOPES)
    assert body["api_domain"] == zoho.api_domain()


def test_refresh_keeps_the_refresh_token_and_mints_a_new_access_token(zoho, post_token, grant):
    first = grant(zoho)
    for _ in range(2):  # the same refresh token works again: no rotation
        body = post_token(zoho, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
        assert "refresh_token" not in body and "expires_in_sec" not in body
        assert body["access_token"] != first["access_token"] and body["expires_in"] == 3600
        assert body["api_domain"] == zoho.api_domain() and body["scope"] == first["scope"]
    assert crm_status(zoho, first["access_token"]) == (200, None)
    assert crm_status(zoho, body["access_token"]) == (200, None)


@pytest.mark.parametrize("transport", ["query", "form", "multipart", "basic"])
def test_parameters_are_accepted_in_every_documented_transport(zoho, transport):
    code = zoho.self_client_code(SEED_SCOPES)
    client = zoho.client
    params = {"grant_type": "authorization_code", "code": code, "client_id": client["client_id"],
              "client_secret": client["client_secret"]}
    url = zoho.accounts_url() + "/oauth/v2/token"
    if transport == "query":
        response = requests.post(url, params=params, timeout=10)
    elif transport == "form":
        response = requests.post(url, data=params, timeout=10)
    elif transport == "multipart":
        response = requests.post(url, files={k: (None, v) for k, v in params.items()}, timeout=10)
    else:
        del params["client_id"], params["client_secret"]
        response = requests.post(url, data=params, auth=(client["client_id"], client["client_secret"]), timeout=10)
    assert "access_token" in response.json(), response.text


# -- token endpoint: every error of reference §2.4, HTTP 200 -----------------------------------

def token_error(response):
    assert response.status_code == 200 and response.headers["Content-Type"] == JSON
    return response.json()


def test_unknown_client_is_invalid_client(zoho, post_token):
    code = zoho.self_client_code(SEED_SCOPES)
    body = token_error(post_token(zoho, grant_type="authorization_code", code=code, client_id="1000.NOPE"))
    assert body == {"error": "invalid_client"}


def test_wrong_secret_is_invalid_client_secret(zoho, post_token):
    code = zoho.self_client_code(SEED_SCOPES)
    body = token_error(post_token(zoho, grant_type="authorization_code", code=code, client_secret="wrong"))
    assert body == {"error": "invalid_client_secret"}


def test_a_grant_code_works_once(zoho, post_token):
    code = zoho.self_client_code(SEED_SCOPES)
    assert "access_token" in post_token(zoho, grant_type="authorization_code", code=code).json()
    assert token_error(post_token(zoho, grant_type="authorization_code", code=code)) == {"error": "invalid_code"}
    assert zoho.counters()["token_errors"] == {"invalid_code": 1}
    assert zoho.counters()["token"]["authorization_code"] == 2


def test_an_unknown_code_is_invalid_code(zoho, post_token):
    body = token_error(post_token(zoho, grant_type="authorization_code", code="1000.abc.def"))
    assert body == {"error": "invalid_code"}


def test_a_code_expires_on_the_stand_in_clock(make_zoho, post_token):
    zoho = make_zoho(code_lifetime=120)
    fresh, stale = zoho.self_client_code(SEED_SCOPES), zoho.self_client_code(SEED_SCOPES)
    zoho.clock.advance(119)
    assert "access_token" in post_token(zoho, grant_type="authorization_code", code=fresh).json()
    zoho.clock.advance(1)
    assert token_error(post_token(zoho, grant_type="authorization_code", code=stale)) == {"error": "invalid_code"}


def test_self_client_code_lifetime_can_be_chosen(zoho, post_token):
    code = zoho.self_client_code(SEED_SCOPES, lifetime=600)
    zoho.clock.advance(599)
    assert "access_token" in post_token(zoho, grant_type="authorization_code", code=code).json()


def test_unknown_and_revoked_refresh_tokens_are_invalid_code(zoho, post_token, grant):
    unknown = post_token(zoho, grant_type="refresh_token", refresh_token="1000.x.y")
    assert token_error(unknown) == {"error": "invalid_code"}
    refresh_token = grant(zoho)["refresh_token"]
    revoke(zoho, refresh_token)
    body = token_error(post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token))
    assert body == {"error": "invalid_code"}


def test_redirect_uri_must_match_for_consent_codes_only(zoho, post_token):
    code = redirect_params(zoho.authorize(auth_url(zoho)))["code"]
    body = token_error(post_token(zoho, grant_type="authorization_code", code=code,
                                  redirect_uri="http://localhost:9999/elsewhere"))
    assert body == {"error": "invalid_redirect_uri"}
    missing = post_token(zoho, grant_type="authorization_code", code=code)
    assert token_error(missing) == {"error": "invalid_redirect_uri"}
    good = post_token(zoho, grant_type="authorization_code", code=code, redirect_uri=zoho.client["redirect_uri"])
    assert "access_token" in good.json()  # the failed attempts did not spend the code


def test_unknown_grant_type_and_get_are_refused(zoho, post_token):
    assert token_error(post_token(zoho, grant_type="password")) == {"error": "unsupported_grant_type"}
    response = requests.get(zoho.accounts_url() + "/oauth/v2/token", timeout=10,
                            params={"grant_type": "authorization_code", "code": zoho.self_client_code(SEED_SCOPES),
                                    **{k: zoho.client[k] for k in ("client_id", "client_secret")}})
    assert token_error(response) == {"error": "invalid_request"}


def test_rotated_client_secret_keeps_grants(zoho, post_token, grant):
    refresh_token = grant(zoho)["refresh_token"]
    old_secret = zoho.client["client_secret"]
    new_secret = zoho.rotate_client_secret()
    assert new_secret != old_secret and zoho.client["client_secret"] == new_secret
    stale = post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token, client_secret=old_secret)
    assert token_error(stale) == {"error": "invalid_client_secret"}
    assert "access_token" in post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token).json()
    assert old_secret in zoho.secret_values()


# -- data centers -----------------------------------------------------------------------------

def test_each_dc_has_its_own_accounts_server_and_api_domain(make_zoho, grant):
    zoho = make_zoho(data_centers=("us", "eu"))
    assert zoho.accounts_url("eu").endswith("/eu/accounts") and zoho.api_domain("eu").endswith("/eu/api")
    assert zoho.accounts_url() == zoho.accounts_url("us")
    body = grant(zoho, dc="eu")
    assert body["api_domain"] == zoho.api_domain("eu")
    assert crm_status(zoho, body["access_token"], "eu") == (200, None)


def test_wrong_accounts_server_is_invalid_client(make_zoho, post_token, grant):
    zoho = make_zoho(data_centers=("us", "eu"))
    code = zoho.self_client_code(SEED_SCOPES)
    body = token_error(post_token(zoho, "eu", grant_type="authorization_code", code=code))
    assert body == {"error": "invalid_client"}
    refresh_token = grant(zoho)["refresh_token"]
    body = token_error(post_token(zoho, "eu", grant_type="refresh_token", refresh_token=refresh_token))
    assert body == {"error": "invalid_client"}


def test_access_token_at_another_dcs_api_is_invalid_token(make_zoho, grant):
    zoho = make_zoho(data_centers=("us", "eu"))
    access_token = grant(zoho)["access_token"]
    assert crm_status(zoho, access_token, "eu") == (401, "INVALID_TOKEN")
    assert crm_status(zoho, access_token, "us") == (200, None)


def test_user_dc_decides_location_wherever_consent_starts(make_zoho):
    zoho = make_zoho(data_centers=("us", "eu"), user_dc="eu")
    params = redirect_params(zoho.authorize(auth_url(zoho, dc="us")))
    assert params["location"] == "eu" and params["accounts-server"] == zoho.accounts_url("eu")


def test_serverinfo_lists_every_dc(make_zoho):
    zoho = make_zoho(data_centers=("us", "eu", "in"))
    body = requests.get(zoho.accounts_url() + "/oauth/serverinfo", timeout=10).json()
    assert body["locations"] == {dc: zoho.accounts_url(dc) for dc in ("us", "eu", "in")}


def test_client_id_is_the_same_in_every_dc(make_zoho, post_token):
    zoho = make_zoho(data_centers=("us", "eu"))
    code = zoho.self_client_code(SEED_SCOPES, dc="eu")
    assert "access_token" in post_token(zoho, "eu", grant_type="authorization_code", code=code).json()


# -- consent (authorization endpoint) ------------------------------------------------------------

def test_approval_redirects_with_code_state_location_and_accounts_server(zoho):
    location = zoho.authorize(auth_url(zoho))
    assert location.startswith(zoho.client["redirect_uri"] + "?")
    params = redirect_params(location)
    assert params["state"] == "xyz-123" and params["location"] == "us"
    assert params["accounts-server"] == zoho.accounts_url()
    assert location.endswith("accounts-server=" + requests.utils.quote(zoho.accounts_url(), safe="") + "&")
    assert TOKEN_SHAPE.match(params["code"])
    assert zoho.counters()["auth"] == 1


def test_denial_redirects_with_access_denied_and_state(zoho):
    params = redirect_params(zoho.authorize(auth_url(zoho), approve=False))
    assert params == {"error": "access_denied", "state": "xyz-123"}


def test_consent_page_names_the_client_and_scopes(zoho):
    page = requests.get(auth_url(zoho), timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Minnie CRM Integration" in page.text
    assert all(scope in page.text for scope in SEED_SCOPES)
    assert 'value="approve"' in page.text and 'value="deny"' in page.text


@pytest.mark.parametrize("params, title", [
    ({"client_id": "1000.UNKNOWN"}, "Invalid Client"),
    ({"redirect_uri": "http://evil.example/cb"}, "Invalid Redirect Uri"),
    ({"scope": None}, "Scope Missing"),
    ({"scope": "ZohoCRM.modules.deals.READ ZohoCRM.modules.contacts.READ"}, "Invalid OAuth Scope"),
    ({"response_type": "token"}, "Invalid Response Type"),
])
def test_bad_authorization_requests_get_an_error_page_not_a_redirect(zoho, params, title):
    response = requests.get(auth_url(zoho, **params), allow_redirects=False, timeout=10)
    assert response.status_code == 400 and "Location" not in response.headers
    assert f"<h1>{title}</h1>" in response.text


def test_a_consent_form_can_be_submitted_once(zoho):
    page = requests.get(auth_url(zoho), timeout=10).text
    request_id = re.search(r'name="request_id" value="([^"]+)"', page).group(1)
    consent = zoho.accounts_url() + "/oauth/v2/auth/consent"
    form = {"request_id": request_id, "action": "approve"}
    first = requests.post(consent, data=form, allow_redirects=False, timeout=10)
    again = requests.post(consent, data=form, allow_redirects=False, timeout=10)
    assert first.status_code == 302 and again.status_code == 400


def test_refresh_token_only_on_first_offline_consent_unless_prompt_consent(zoho, post_token):
    def exchange(**params):
        code = redirect_params(zoho.authorize(auth_url(zoho, **params)))["code"]
        return post_token(zoho, grant_type="authorization_code", code=code,
                          redirect_uri=zoho.client["redirect_uri"]).json()

    assert "refresh_token" not in exchange(access_type=None)  # online: access token only
    first = exchange()
    assert "refresh_token" in first
    assert "refresh_token" not in exchange()  # already consented
    assert "refresh_token" in exchange(prompt="consent")
    zoho.revoke_all()
    assert "refresh_token" in exchange()  # no grant left: the next consent is a first one again


# -- revoke ---------------------------------------------------------------------------------

def test_revoke_kills_the_refresh_token_and_its_access_tokens(zoho, grant, post_token):
    body = grant(zoho)
    refreshed = post_token(zoho, grant_type="refresh_token", refresh_token=body["refresh_token"]).json()
    response = revoke(zoho, body["refresh_token"], transport="params")
    assert response.status_code == 200 and response.json() == {"status": "success"}
    assert crm_status(zoho, body["access_token"]) == (401, "INVALID_TOKEN")
    assert crm_status(zoho, refreshed["access_token"]) == (401, "INVALID_TOKEN")
    again = revoke(zoho, body["refresh_token"])
    assert again.status_code == 400
    assert zoho.counters()["revoke"] == 2
    assert zoho.live_tokens() == {zoho.client["client_id"]: {"refresh_tokens": 0, "access_tokens": 0}}


def test_revoking_an_access_token_leaves_the_refresh_token(zoho, grant, post_token):
    body = grant(zoho)
    response = revoke(zoho, body["access_token"])
    assert response.json() == {"status": "success"}
    assert crm_status(zoho, body["access_token"]) == (401, "INVALID_TOKEN")
    assert "access_token" in post_token(zoho, grant_type="refresh_token", refresh_token=body["refresh_token"]).json()


def test_revoke_at_another_dc_fails(make_zoho, grant):
    zoho = make_zoho(data_centers=("us", "eu"))
    refresh_token = grant(zoho)["refresh_token"]
    response = revoke(zoho, refresh_token, "eu")
    assert response.status_code == 400
    assert zoho.live_tokens()[zoho.client["client_id"]]["refresh_tokens"] == 1


# -- expiry on the stand-in clock ----------------------------------------------------------------

def test_access_tokens_expire_after_an_hour_of_stand_in_time(zoho, grant):
    access_token = grant(zoho)["access_token"]
    zoho.clock.advance(3599)
    assert crm_status(zoho, access_token) == (200, None)
    zoho.clock.advance(1)
    assert crm_status(zoho, access_token) == (401, "INVALID_TOKEN")
    assert zoho.live_tokens()[zoho.client["client_id"]] == {"refresh_tokens": 1, "access_tokens": 0}


# -- limits of reference §4 ----------------------------------------------------------------------

@pytest.mark.parametrize("wording, description", [
    ("crm", "You have made too many requests continuously. Please try again after some time."),
    ("accounts", "Token creation throttle limit reached. Please reuse the valid tokens you currently have."),
])
def test_eleventh_mint_in_ten_minutes_is_access_denied(make_zoho, grant, post_token, wording, description):
    zoho = make_zoho(throttle_wording=wording)
    refresh_token = grant(zoho)["refresh_token"]  # the exchange's access token is mint 1 of 10
    for _ in range(9):
        assert "access_token" in post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token).json()
    body = token_error(post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token))
    assert body["error"] == "Access Denied" and body["error_description"] == description
    assert zoho.counters()["token_errors"] == {"Access Denied": 1}
    zoho.clock.advance(600)  # the window rolls on the stand-in clock
    assert "access_token" in post_token(zoho, grant_type="refresh_token", refresh_token=refresh_token).json()


def test_sixteenth_access_token_evicts_the_oldest(zoho, grant, post_token):
    first = grant(zoho)
    minted = [first["access_token"]]
    while len(minted) < 16:
        if len(minted) % 10 == 0:
            zoho.clock.advance(600)  # stay under the mint throttle; tokens live an hour
        body = post_token(zoho, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
        minted.append(body["access_token"])
    assert crm_status(zoho, minted[0]) == (401, "INVALID_TOKEN")
    assert all(crm_status(zoho, token) == (200, None) for token in minted[1:3])
    assert zoho.live_tokens()[zoho.client["client_id"]]["access_tokens"] == 15


def test_twenty_first_refresh_token_evicts_the_oldest_with_its_access_tokens(zoho, grant, post_token):
    bodies = []
    for number in range(21):
        if number and number % 10 == 0:
            zoho.clock.advance(600)  # stay under the grant-code limit
        bodies.append(grant(zoho))
    oldest = bodies[0]
    evicted = post_token(zoho, grant_type="refresh_token", refresh_token=oldest["refresh_token"])
    assert token_error(evicted) == {"error": "invalid_code"}
    assert crm_status(zoho, oldest["access_token"]) == (401, "INVALID_TOKEN")
    kept = post_token(zoho, grant_type="refresh_token", refresh_token=bodies[1]["refresh_token"])
    assert "access_token" in kept.json()
    assert zoho.live_tokens()[zoho.client["client_id"]]["refresh_tokens"] == 20


def test_eleventh_grant_code_in_ten_minutes_is_refused(zoho):
    for _ in range(10):
        zoho.self_client_code(SEED_SCOPES)
    with pytest.raises(GrantLimitReached):
        zoho.self_client_code(SEED_SCOPES)
    assert redirect_params(zoho.authorize(auth_url(zoho))) == {"error": "access_denied", "state": "xyz-123"}
    zoho.clock.advance(600)
    assert "code" in redirect_params(zoho.authorize(auth_url(zoho)))

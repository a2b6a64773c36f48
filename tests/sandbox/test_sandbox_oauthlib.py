"""requests-oauthlib (an OAuth 2.0 client nobody here wrote) through the stand-in's authorization-code flow.

Compliance hooks, and why each is needed with the real Zoho too:
- Zoho takes comma-separated scopes in the authorization request but answers with space-separated
  ones, which oauthlib reads as "scope changed" and raises; the token hooks rewrite the answer's scope.
- CRM calls need `Authorization: Zoho-oauthtoken ...`, not `Bearer` (reference §9); oauthlib always
  adds Bearer, so CRM calls withhold its token and send Zoho's header themselves.
"""

import re

import pytest
import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

SCOPE = "ZohoCRM.modules.deals.READ,ZohoCRM.modules.contacts.READ,ZohoCRM.modules.notes.READ"


@pytest.fixture(autouse=True)
def plain_http(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the stand-in is http on loopback


def comma_scope(response):
    """Zoho answers "scope" space-separated; put it back in the comma form it was requested in."""
    body = response.json()
    if "scope" in body:
        body["scope"] = body["scope"].replace(" ", ",")
        response._content = requests.compat.json.dumps(body).encode()
    return response


def session_for(zoho, hooks=True):
    session = OAuth2Session(zoho.client["client_id"], redirect_uri=zoho.client["redirect_uri"], scope=SCOPE)
    if hooks:
        session.register_compliance_hook("access_token_response", comma_scope)
        session.register_compliance_hook("refresh_token_response", comma_scope)
    return session


def browse(auth_url, approve=True):
    """A browser's part: load the consent page, submit its form, stop at the redirect."""
    browser = requests.Session()
    page = browser.get(auth_url, timeout=10)
    assert page.status_code == 200
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)"', page.text))
    answer = browser.post(action, data={**fields, "action": "approve" if approve else "deny"}, allow_redirects=False,
                          timeout=10)
    assert answer.status_code == 302
    return answer.headers["Location"]


def test_authorization_code_flow_refresh_and_a_crm_call(zoho):
    session = session_for(zoho)
    auth_url, state = session.authorization_url(zoho.accounts_url() + "/oauth/v2/auth", access_type="offline",
                                                prompt="consent")
    redirect = browse(auth_url)
    token_url = zoho.accounts_url() + "/oauth/v2/token"
    token = session.fetch_token(token_url, authorization_response=redirect, client_secret=zoho.client["client_secret"])
    assert f"state={state}" in redirect and token["refresh_token"] and token["expires_in"] == 3600
    assert zoho.counters()["token"]["authorization_code"] == 1

    refreshed = session.refresh_token(token_url, client_id=zoho.client["client_id"],
                                      client_secret=zoho.client["client_secret"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] == token["refresh_token"]  # no rotation: the session keeps the old one

    deals_url = token["api_domain"] + "/crm/v8/Deals"
    bearer = session.get(deals_url, params={"fields": "Deal_Name"}, timeout=10)
    assert bearer.status_code == 401 and bearer.json()["code"] == "AUTHENTICATION_FAILURE"
    deals = session.get(deals_url, params={"fields": "Deal_Name"}, timeout=10, withhold_token=True,
                        headers={"Authorization": f"Zoho-oauthtoken {session.access_token}"})
    assert deals.status_code == 200 and deals.json()["data"][0]["Deal_Name"].startswith("Oakland")


def test_token_errors_at_http_200_still_raise(zoho):
    session = session_for(zoho)
    auth_url, _ = session.authorization_url(zoho.accounts_url() + "/oauth/v2/auth", access_type="offline")
    redirect = zoho.authorize(auth_url)
    token_url = zoho.accounts_url() + "/oauth/v2/token"
    session.fetch_token(token_url, authorization_response=redirect, client_secret=zoho.client["client_secret"])
    with pytest.raises(OAuth2Error) as reused:
        session_for(zoho).fetch_token(token_url, authorization_response=redirect,
                                      client_secret=zoho.client["client_secret"])
    assert reused.value.error == "invalid_code"


def test_without_the_scope_hook_oauthlib_rejects_zohos_scope_format(zoho):
    session = session_for(zoho, hooks=False)
    auth_url, _ = session.authorization_url(zoho.accounts_url() + "/oauth/v2/auth")
    with pytest.raises(Warning, match="Scope has changed"):
        session.fetch_token(zoho.accounts_url() + "/oauth/v2/token", authorization_response=zoho.authorize(auth_url),
                            client_secret=zoho.client["client_secret"])


def test_denied_consent_reaches_the_client_as_access_denied(zoho):
    session = session_for(zoho)
    auth_url, _ = session.authorization_url(zoho.accounts_url() + "/oauth/v2/auth")
    with pytest.raises(OAuth2Error) as denied:
        session.fetch_token(zoho.accounts_url() + "/oauth/v2/token",
                            authorization_response=browse(auth_url, approve=False),
                            client_secret=zoho.client["client_secret"])
    assert denied.value.error == "access_denied"

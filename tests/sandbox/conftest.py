"""Helpers for the stand-in's own tests: grants with chosen scopes and a thin CRM client."""

import pytest
import requests

ALL_SCOPES = ("ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.users.READ", "ZohoCRM.org.READ",
              "ZohoSearch.securesearch.READ", "ZohoCRM.coql.READ")


class Api:
    """Calls one DC's CRM v8 API with one access token."""

    def __init__(self, api_domain, access_token):
        self.base = api_domain + "/crm/v8"
        self.access_token = access_token
        self.session = requests.Session()

    def get(self, path, headers=None, **params):
        headers = {"Authorization": f"Zoho-oauthtoken {self.access_token}", **(headers or {})}
        return self.session.get(self.base + path, params=params, headers=headers, timeout=30)

    def coql(self, query):
        return self.session.post(self.base + "/coql", json={"select_query": query}, timeout=30,
                                 headers={"Authorization": f"Zoho-oauthtoken {self.access_token}"})


@pytest.fixture
def post_token():
    """post_token(sandbox, dc=None, **form) -> the token endpoint's response, client credentials filled in."""

    def post(sandbox, dc=None, **form):
        form = {"client_id": sandbox.client["client_id"], "client_secret": sandbox.client["client_secret"], **form}
        form = {k: v for k, v in form.items() if v is not None}
        return requests.post(sandbox.accounts_url(dc) + "/oauth/v2/token", data=form, timeout=30)
    return post


@pytest.fixture
def grant(post_token):
    """grant(sandbox, scopes=ALL_SCOPES, dc=None) -> token response body of a Self Client exchange."""

    def make(sandbox, scopes=ALL_SCOPES, dc=None):
        code = sandbox.self_client_code(list(scopes), dc=dc)
        body = post_token(sandbox, dc, grant_type="authorization_code", code=code).json()
        assert "access_token" in body, body
        return body
    return make


@pytest.fixture
def api_for(grant):
    """api_for(sandbox, scopes=ALL_SCOPES, dc=None) -> Api with a fresh access token."""

    def make(sandbox, scopes=ALL_SCOPES, dc=None):
        body = grant(sandbox, scopes, dc)
        return Api(body["api_domain"], body["access_token"])
    return make


@pytest.fixture
def api(zoho, api_for):
    """An Api on the default sandbox with every scope the stand-in knows."""
    return api_for(zoho)

# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Read-only Zoho CRM client for the agent: deals, contacts, notes, search and COQL.

From the workspace, as the setup guide shows:

    from tools.zoho_crm_client import ZohoCRMClient
    crm = ZohoCRMClient()            # loads the credentials files, refreshes when needed
    deal = crm.get_deal("1234567890")
    for deal in crm.list_deals(stage="Qualification"):
        ...

Tokens come from the shared token file and are refreshed through zoho_crm_oauth's locked
routine, so the agent, cron and Ansible never mint more than one access token between them.
Standard library only (python3 3.9 to 3.13): HTTP goes through zoho_crm_oauth.Transport, the
same one the token refresh uses. A caller who wants its own requests.Session passes it as
session=: RequestsSessionTransport wraps it, and only then is requests imported.
"""

import re
from itertools import islice
from urllib.parse import urlsplit

if __package__:  # imported as tools.zoho_crm_client from the workspace (tools/ has no __init__.py)
    from . import zoho_crm_oauth as oauth
    from . import zoho_crm_tools as tools
else:  # run from, or imported with, the tools directory on sys.path
    import zoho_crm_oauth as oauth
    import zoho_crm_tools as tools

# The errors a caller may want to catch, importable from here.
ZohoError = oauth.ZohoError
ApiError = oauth.ApiError
ScopeMismatchError = oauth.ScopeMismatchError
RecordNotFoundError = oauth.RecordNotFoundError

API_PATH = "/crm/v8"
PAGE_SIZE = 200
# Zoho serves page numbers for the first 2,000 records of a listing only; page_token goes on to
# 100,000 (and search stops at 2,000 altogether).
PAGE_NUMBER_RECORD_LIMIT = 2000
PAGE_TOKEN_RECORD_LIMIT = 100000
# (connect, read) seconds.
DEFAULT_TIMEOUT = (oauth.CONNECT_TIMEOUT, oauth.DEFAULT_TIMEOUT)
CREDITS_HEADER = "x-api-credits-remaining"

# The guide's deal shape first; list calls must name their fields (at most 50).
DEAL_FIELDS = ("Deal_Name", "Stage", "Contact_Name", "Amount", "Closing_Date", "Description", "Account_Name",
               "Owner", "Probability", "Expected_Revenue", "Pipeline", "Type", "Next_Step", "Lead_Source",
               "Created_Time", "Modified_Time", "Last_Activity_Time")
CONTACT_FIELDS = ("Full_Name", "First_Name", "Last_Name", "Email", "Phone", "Mobile", "Title", "Department",
                  "Account_Name", "Owner", "Mailing_City", "Mailing_State", "Mailing_Country", "Lead_Source",
                  "Description", "Created_Time", "Modified_Time", "Last_Activity_Time")
NOTE_FIELDS = ("Note_Title", "Note_Content", "Parent_Id", "Owner", "Created_Time", "Modified_Time")

RECORD_ID_PATTERN = re.compile(r"^[0-9]{1,30}$")


def flatten(record, fields=()):
    """A Zoho record in the guide's flat shape: lookups ({"name", "id"}) become their names, with
    their ids kept as <Field>_id; Zoho's $-prefixed meta keys are dropped. Keys follow fields,
    then id, then anything else, then the lookups' ids. (Written for speed: listing 5,000 deals
    flattens 5,000 records.)"""
    flat = {}
    for key in fields:
        if key in record:
            flat[key] = record[key]
    if "id" in record:
        flat["id"] = record["id"]
    for key, value in record.items():
        if key not in flat and key[:1] != "$":
            flat[key] = value
    lookups = [key for key, value in flat.items() if type(value) is dict and "id" in value]
    for key in lookups:
        lookup = flat[key]
        flat[key] = lookup.get("name")
        flat[key + "_id"] = lookup["id"]
    return flat


def _record_path(module, record_id, *rest):
    record_id = str(record_id).strip()
    if not RECORD_ID_PATTERN.match(record_id):
        raise oauth.BadArgumentError("%r is not a Zoho record id. Fix: pass the digits-only id (e.g. from "
                                     "'deals list')." % record_id[:40], code="invalid_id")
    return "/".join(("", module, record_id) + rest)


def _with_fields(fields, needed):
    return tuple(fields) + tuple(field for field in needed if field not in fields)


class RequestsSessionTransport(oauth.Transport):
    """The transport over a caller's requests.Session (its proxies, adapters, mounts, test doubles),
    for ZohoCRMClient(session=...): the CRM calls and the token refreshes both go through it. Its
    timeouts and retries are the client's; requests is imported only here."""

    def __init__(self, session, **kwargs):
        super(RequestsSessionTransport, self).__init__(**kwargs)
        import requests
        self.session = session
        self._request_failures = requests.exceptions.RequestException
        self._timeouts = requests.exceptions.Timeout

    def send(self, method, parts, target, body, headers):
        origin = "%s://%s" % (parts.scheme, parts.netloc)
        try:
            answer = self.session.request(method, origin + target, data=body, headers=headers, timeout=self.timeout)
            return oauth.Response(answer.status_code, answer.headers, answer.content)
        except self._request_failures as exc:
            # Name only the exception's class: its text quotes the URL, which may carry a page token.
            kind = "timed out" if isinstance(exc, self._timeouts) else type(exc).__name__
            raise oauth.TransportError("Cannot reach %s through the caller's session (%s). Fix: check the network, "
                                       "the session's proxies and the server URL." % (parts.netloc, kind))


class ZohoCRMClient:
    """Zoho CRM v8, read-only, on the OpenClaw credentials files.

    credentials_dir defaults to zoho_crm_tools.credentials_dir(). Connection errors, timeouts,
    429 and 5xx, of the API or of the token refresh, are retried max_retries times with jittered
    exponential backoff (zoho_crm_oauth.Transport); an INVALID_TOKEN answer refreshes once and
    calls again. session: a requests.Session to send everything through instead (see
    RequestsSessionTransport). timeout is (connect, read) seconds, or one number for both.
    credits_remaining holds the last X-API-CREDITS-REMAINING Zoho sent (it sends it once half of
    the day's credits are spent); api_calls counts the CRM HTTP requests made, retries included.
    """

    def __init__(self, credentials_dir=None, session=None, timeout=DEFAULT_TIMEOUT, max_retries=3, backoff=0.5,
                 max_backoff=5.0, min_ttl=oauth.DEFAULT_MIN_TTL):
        self.credentials_dir = credentials_dir or tools.credentials_dir()
        self.oauth_client = tools.load_client(self.credentials_dir)
        self.token_file = tools.token_file(self.credentials_dir)
        self._tokens = self.token_file.read()
        if self._tokens is None:
            raise oauth.TokenFileError("No token file at %s. Fix: authorize first (python3 "
                                       "tools/zoho-crm-oauth-init.py)." % self.token_file.path)
        policy = dict(timeout=timeout, max_retries=max_retries, backoff=backoff, max_backoff=max_backoff)
        self.transport = RequestsSessionTransport(session, **policy) if session is not None else \
            oauth.Transport(**policy)
        self.min_ttl = min_ttl
        self.credits_remaining = None
        self.api_calls = 0

    def __repr__(self):
        return "ZohoCRMClient(api_domain=%r, token_file=%r)" % (self.api_domain, self.token_file.path)

    @property
    def api_domain(self):
        return self._tokens.api_domain.rstrip("/")

    @property
    def granted_scopes(self):
        return self._tokens.scopes

    @property
    def expires_at(self):
        return self._tokens.expires_at_text

    def access_token(self):
        """An access token valid for at least min_ttl seconds, refreshed under the shared lock when
        not (a token another process refreshed meanwhile is taken instead of minting one)."""
        if self._tokens.needs_refresh(self.min_ttl):
            self._refresh()
        return self._tokens.access_token

    def _refresh(self, rejected_access_token=None):
        # Read again: rotate.yml may have installed a new client secret since this client started.
        self.oauth_client = tools.load_client(self.credentials_dir)
        self._tokens, _refreshed = oauth.refresh_token_file(
            self.token_file, self.oauth_client, transport=self.transport, min_ttl=self.min_ttl,
            rejected_access_token=rejected_access_token)

    # ---- HTTP ------------------------------------------------------------------------------

    def _request(self, method, path, params=None, json_body=None):
        """One CRM call, retried by the transport; returns the decoded JSON, or None for 204 (no
        rows). A token refresh in front of it is retried on its own, so a refresh that keeps
        failing is tried max_retries + 1 times, not that many times per try of the call. Zoho's
        minting limit ("Access Denied") is never retried: only time lifts it."""
        api_path = API_PATH + path
        rejected_token = None  # an access token Zoho refused: refreshed once, then the call again
        while True:
            if rejected_token is not None:
                self._refresh(rejected_access_token=rejected_token)
            token = self.access_token()
            url = self.api_domain + api_path  # a refresh may have brought another api_domain
            try:
                return self.transport.call(lambda: self._call_once(method, url, api_path, params, json_body, token))
            except oauth.InvalidTokenError as exc:
                if rejected_token is not None or exc.code != "INVALID_TOKEN":
                    raise
                rejected_token = token

    def _call_once(self, method, url, api_path, params, json_body, token):
        self.api_calls += 1
        response = self.transport.request(method, url, params=params, json_body=json_body,
                                          headers={"Authorization": "Zoho-oauthtoken " + token})
        credits = response.headers.get(CREDITS_HEADER)
        if credits is not None and credits.strip().isdigit():
            self.credits_remaining = int(credits)
        if response.status == 204:
            return None
        payload = response.json_object()
        if 200 <= response.status < 300:
            if payload is None:
                raise oauth.TransportError("%s answered %s %s with a cut-off or non-JSON body. Fix: retry later."
                                           % (urlsplit(url).netloc, method, api_path))
            return payload
        raise oauth.api_error(response.status, payload, method, api_path, self.granted_scopes)

    def _pages(self, path, params, limit=None, page_tokens=True):
        """Lazily yield the raw records of a listing, page by page: page numbers for the first
        2,000 records, then page_token (search has no page_token: Zoho stops it at 2,000)."""
        per_page = PAGE_SIZE if limit is None else max(1, min(PAGE_SIZE, limit))
        page, page_token, returned = 1, None, 0
        for _call in range(PAGE_TOKEN_RECORD_LIMIT // per_page + 1):
            query = dict(params, per_page=per_page)
            if page_token:
                query["page_token"] = page_token
            else:
                query["page"] = page
            payload = self._request("GET", path, params=query)
            if payload is None:
                return
            for record in payload.get("data") or ():
                yield record
                returned += 1
                if limit is not None and returned >= limit:
                    return
            info = payload.get("info") or {}
            if not info.get("more_records"):
                return
            if page_token is None and page * per_page < PAGE_NUMBER_RECORD_LIMIT:
                page += 1
                continue
            if not page_tokens:
                return
            page_token = info.get("next_page_token")
            if not page_token:
                raise ApiError("Zoho CRM said GET %s%s has more records but sent no next_page_token. Fix: retry; "
                               "if it persists, narrow the listing." % (API_PATH, path), code="NO_PAGE_TOKEN")

    def _records(self, module, fields, limit=None, keep=None):
        params = {"fields": ",".join(fields)}
        if keep is None:
            return (flatten(record, fields) for record in self._pages("/" + module, params, limit))
        matching = (flatten(record, fields) for record in self._pages("/" + module, params) if keep(record))
        return islice(matching, limit)

    def _get_record(self, module, record_id, fields):
        path = _record_path(module, record_id)
        payload = self._request("GET", path, params={"fields": ",".join(fields)})
        data = (payload or {}).get("data") or ()
        if not data:
            raise RecordNotFoundError("Zoho CRM has no %s record %s, or this user may not see it. Fix: check the "
                                      "id (e.g. with 'list')." % (module, record_id), status=204)
        return flatten(data[0], fields)

    def _related_notes(self, module, record_id, limit=None):
        path = _record_path(module, record_id, "Notes")
        records = self._pages(path, {"fields": ",".join(NOTE_FIELDS)}, limit)
        return [flatten(record, NOTE_FIELDS) for record in records]

    def _search(self, module, fields, text=None, criteria=None, email=None, limit=None):
        params = dict((name, value) for name, value in (("word", text), ("criteria", criteria), ("email", email))
                      if value)
        if not params:
            raise oauth.BadArgumentError("A search needs a text, criteria or email. Fix: pass one of them.",
                                         code="invalid_search")
        params["fields"] = ",".join(fields)
        records = self._pages("/%s/search" % module, params, limit, page_tokens=False)
        return (flatten(record, fields) for record in records)

    # ---- Deals -----------------------------------------------------------------------------

    def get_deal(self, deal_id, fields=DEAL_FIELDS):
        """One deal in the guide's flat shape (Deal_Name, Stage, Contact_Name, Amount, ...)."""
        return self._get_record("Deals", deal_id, fields)

    def list_deals(self, stage=None, owner=None, limit=None, fields=DEAL_FIELDS):
        """A lazy iterator over every deal (or the first limit). Zoho's list call cannot filter, so
        stage (exact, any case) and owner (name, email or id) are applied here as pages arrive."""
        keep = None
        if stage or owner:
            fields = _with_fields(fields, ("Stage", "Owner"))

            def keep(record):
                return (not stage or str(record.get("Stage") or "").lower() == stage.lower()) and (
                    not owner or _owned_by(record, owner))
        return self._records("Deals", fields, limit, keep)

    def search_deals(self, text=None, criteria=None, limit=None, fields=DEAL_FIELDS):
        """Deals matching a word or Zoho criteria such as (Stage:equals:Qualification); needs the
        ZohoSearch.securesearch.READ scope. At most 2,000 results, and Zoho's index may lag."""
        return self._search("Deals", fields, text=text, criteria=criteria, limit=limit)

    def get_deal_notes(self, deal_id, limit=None):
        return self._related_notes("Deals", deal_id, limit)

    def deal_context(self, deal_id):
        """The deal, its contact and its notes: three calls (two without a contact)."""
        deal = self.get_deal(deal_id)
        contact_id = deal.get("Contact_Name_id")
        return {
            "deal": deal,
            "contact": self.get_contact(contact_id) if contact_id else None,
            "notes": self.get_deal_notes(deal_id),
        }

    # ---- Contacts --------------------------------------------------------------------------

    def get_contact(self, contact_id, fields=CONTACT_FIELDS):
        return self._get_record("Contacts", contact_id, fields)

    def list_contacts(self, owner=None, limit=None, fields=CONTACT_FIELDS):
        """A lazy iterator over every contact (or the first limit); owner is applied here."""
        keep = None
        if owner:
            fields = _with_fields(fields, ("Owner",))

            def keep(record):
                return _owned_by(record, owner)
        return self._records("Contacts", fields, limit, keep)

    def search_contacts(self, text=None, criteria=None, email=None, limit=None, fields=CONTACT_FIELDS):
        """Contacts matching a word, criteria or an email address (any email field); needs the
        ZohoSearch.securesearch.READ scope."""
        return self._search("Contacts", fields, text=text, criteria=criteria, email=email, limit=limit)

    def get_contact_notes(self, contact_id, limit=None):
        return self._related_notes("Contacts", contact_id, limit)

    # ---- COQL ------------------------------------------------------------------------------

    def coql(self, query):
        """Rows of a COQL select (one call, up to its LIMIT); needs ZohoCRM.coql.READ."""
        payload = self._request("POST", "/coql", json_body={"select_query": query})
        return [flatten(record) for record in (payload or {}).get("data") or ()]


def _owned_by(record, owner):
    value = record.get("Owner") or {}
    wanted = owner.lower()
    return any(str(value.get(key) or "").lower() == wanted for key in ("name", "email", "id"))

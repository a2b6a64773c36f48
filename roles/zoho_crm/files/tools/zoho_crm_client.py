# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Read-only Zoho CRM client for the agent: deals, contacts, notes, search and COQL, and the
questions the default scopes can answer: find by name, what changed since, the pipeline.

From the workspace, as the setup guide shows:

    from tools.zoho_crm_client import ZohoCRMClient
    crm = ZohoCRMClient()            # loads the credentials files, refreshes when needed
    deal = crm.get_deal("1234567890")
    for deal in crm.list_deals(stage="Qualification"):
        ...
    crm.find_deals("oakland")        # {"deals": [...], "method": "scan", "scanned": 200, "more": False}
    crm.changed_deals("7d")          # {"deals": [...], "since": "2026-11-24T10:00:00+00:00", "more": False}
    crm.pipeline()                   # {"stages": [...], "total": {...}, "scanned": 60}

Tokens come from the shared token file and are refreshed through zoho_crm_oauth's locked
routine, so the agent, cron and Ansible never mint more than one access token between them.
Standard library only (python3 3.9 to 3.13): HTTP goes through zoho_crm_oauth.Transport, the
same one the token refresh uses. A caller who wants its own requests.Session passes it as
session=: RequestsSessionTransport wraps it, and only then is requests imported.
"""

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
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
# What a match of find_* and changed_* shows: enough to tell records apart and pick one (get and context
# give the rest). Naming few fields keeps each page of a scan small; the calls are 200 records each anyway.
DEAL_SUMMARY_FIELDS = ("Deal_Name", "Stage", "Amount", "Closing_Date", "Contact_Name", "Account_Name", "Owner",
                       "Modified_Time")
CONTACT_SUMMARY_FIELDS = ("Full_Name", "Email", "Phone", "Title", "Account_Name", "Owner", "Modified_Time")
PIPELINE_FIELDS = ("Stage", "Amount", "Closing_Date")
# Zoho's standard deal stages in pipeline order; a pipeline summary lists other stages after them, by name,
# and every stage named "Closed ..." last (Zoho's closed stages: Closed Won, Closed Lost, Closed-Lost to
# Competition).
STANDARD_STAGES = ("Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
                   "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
                   "Closed-Lost to Competition")
NO_STAGE = "(no stage)"

RECORD_ID_PATTERN = re.compile(r"^[0-9]{1,30}$")
RELATIVE_TIME_PATTERN = re.compile(r"^([0-9]{1,6}) ?([mhdw])$")
TIME_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
SINCE_FIX = ("Fix: pass how long ago (90m, 24h, 7d, 2w), a date (2026-11-20: its midnight, local time) or an ISO "
             "date-time (2026-11-20T09:00:00+01:00).")
# Search criteria values escape these with a backslash (reference §6.3).
CRITERIA_SPECIALS = re.compile(r"([(),\\])")


def flatten(record, fields=()):
    """A Zoho record in the guide's flat shape: lookups ({"name", "id"}) become their names, with
    their ids kept as <Field>_id; Zoho's $-prefixed meta keys are dropped. Keys follow fields,
    then id, then anything else, then the lookups' ids."""
    return next(flatten_all((record,), fields))


def flatten_all(records, fields=()):
    """Lazily, flatten(record, fields) of each record. Written for speed (listing 5,000 deals
    flattens 5,000 records): which keys go and which move is planned once per layout of keys (a
    page's records share one), so a record costs a copy, deletes and its lookups."""
    fields = tuple(fields)
    layout = None
    for record in records:
        keys = tuple(record)
        if keys != layout:
            layout = keys
            drop, moves, id_keys = _flattening(fields, keys)
        flat = record.copy()
        for key in drop:
            del flat[key]
        for key in moves:
            flat[key] = flat.pop(key)
        lookups = [key for key, value in flat.items() if type(value) is dict and "id" in value]
        for key in lookups:
            lookup = flat[key]
            flat[key] = lookup.get("name")
            flat[id_keys[key]] = lookup["id"]
        yield flat


@lru_cache(maxsize=64)
def _flattening(fields, layout):
    """(keys to delete, keys to move to the end, in order) that turn a copy of a record whose keys
    are layout, in that order, into the flat shape's keys and order (before the lookups' ids); and
    each kept key's <key>_id, made once."""
    present = set(layout)
    flat_order = [key for key in fields if key in present]
    if "id" in present:
        flat_order.append("id")
    flat_order = tuple(dict.fromkeys(flat_order + [key for key in layout if key[:1] != "$"]))
    kept = set(flat_order)
    position = dict((key, n) for n, key in enumerate(key for key in layout if key in kept))
    # The longest start of flat_order already in the record's order stays; the rest moves behind it.
    settled, last = 0, -1
    for key in flat_order:
        if position[key] < last:
            break
        last = position[key]
        settled += 1
    return (tuple(key for key in layout if key not in kept), flat_order[settled:],
            dict((key, key + "_id") for key in flat_order))


def _record_path(module, record_id, *rest):
    record_id = str(record_id).strip()
    if not RECORD_ID_PATTERN.match(record_id):
        raise oauth.BadArgumentError("%r is not a Zoho record id. Fix: pass the digits-only id (e.g. from "
                                     "'deals list')." % record_id[:40], code="invalid_id")
    return "/".join(("", module, record_id) + rest)


def _per_page(limit):
    """Records a call asks for: 200, or fewer when fewer are wanted."""
    return PAGE_SIZE if limit is None else max(1, min(PAGE_SIZE, limit))


def _with_fields(fields, needed):
    return tuple(fields) + tuple(field for field in needed if field not in fields)


def parse_since(text, now=None):
    """The moment TEXT names, as an aware datetime: 90m, 24h, 7d or 2w ago; a date (its midnight in
    local time); an ISO 8601 date-time (local time when it has no offset). Refuses what is not one, and
    a moment in the future. now: an aware datetime (default: the clock's)."""
    now = now or datetime.now(timezone.utc)
    raw = str(text).strip()
    relative = RELATIVE_TIME_PATTERN.match(raw.lower())
    if relative:
        return now - int(relative.group(1)) * TIME_UNITS[relative.group(2)]
    iso = raw[:-1] + "+00:00" if raw[-1:] in ("Z", "z") else raw  # python 3.9's fromisoformat has no Z
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise oauth.BadArgumentError("%r is not a time. %s" % (raw[:40], SINCE_FIX), code="invalid_since")
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as a person means a date or a time without an offset
    if moment > now:
        raise oauth.BadArgumentError("%s is in the future: nothing can have changed since. %s"
                                     % (moment.isoformat(), SINCE_FIX), code="invalid_since")
    return moment


def if_modified_since(moment):
    """The If-Modified-Since value Zoho documents: ISO 8601 with an offset, to the second."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _name_needle(name, noun):
    needle = str(name or "").strip()
    if not needle:
        raise oauth.BadArgumentError("Finding %s by name needs a part of the name. Fix: pass some of its letters, "
                                     "e.g. 'oakland'." % noun, code="invalid_name")
    return needle


def _criteria_value(text):
    return CRITERIA_SPECIALS.sub(r"\\\1", text)


def _stage_order(stage):
    closed = stage.lower().startswith("closed")
    known = STANDARD_STAGES.index(stage) if stage in STANDARD_STAGES else len(STANDARD_STAGES)
    return closed, known, stage.lower()


class _Tally(object):
    """Count, sum of Amount, deals without one, and the closing dates' range of some deals."""

    __slots__ = ("count", "amount", "no_amount", "closing_from", "closing_to")

    def __init__(self):
        self.count, self.amount, self.no_amount = 0, 0, 0
        self.closing_from = self.closing_to = None

    def add(self, record):
        self.count += 1
        amount = record.get("Amount")
        if isinstance(amount, (int, float)) and not isinstance(amount, bool):
            self.amount += amount
        else:
            self.no_amount += 1
        closing = record.get("Closing_Date")
        if closing:
            if self.closing_from is None or closing < self.closing_from:
                self.closing_from = closing
            if self.closing_to is None or closing > self.closing_to:
                self.closing_to = closing

    def as_json(self, **label):
        answer = dict(label)
        answer.update(count=self.count, amount=round(self.amount, 2) if isinstance(self.amount, float) else self.amount,
                      no_amount=self.no_amount, closing_from=self.closing_from, closing_to=self.closing_to)
        return answer


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
    On a separate refresher's copy of the token file (no refresh token, no client-secret file) it
    never refreshes: it re-reads the copy, and raises RefresherStaleError once that runs out.
    """

    def __init__(self, credentials_dir=None, session=None, timeout=DEFAULT_TIMEOUT, max_retries=3, backoff=0.5,
                 max_backoff=5.0, min_ttl=oauth.DEFAULT_MIN_TTL):
        self.credentials_dir = credentials_dir or tools.credentials_dir()
        self.token_file = tools.token_file(self.credentials_dir)
        self._tokens = self.token_file.read()
        # An agent's copy (a separate refresher keeps the refresh token): no client secret, no refresh.
        self.oauth_client = None if self._tokens and self._tokens.refresher_dir else \
            tools.load_client(self.credentials_dir)
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
        if self.oauth_client is None:
            # Only the refresher mints: take what it wrote since, if it is usable.
            self._tokens = self.token_file.read() or self._tokens
            self._tokens.require_fresh_agent_copy(rejected_access_token)
            return
        # Read again: rotate.yml may have installed a new client secret since this client started.
        self.oauth_client = tools.load_client(self.credentials_dir)
        self._tokens, _refreshed = oauth.refresh_token_file(
            self.token_file, self.oauth_client, transport=self.transport, min_ttl=self.min_ttl,
            rejected_access_token=rejected_access_token)

    # ---- HTTP ------------------------------------------------------------------------------

    def _request(self, method, path, params=None, json_body=None, headers=None):
        """One CRM call, retried by the transport; returns the decoded JSON, or None for 204 (no
        rows) and 304 (nothing modified since If-Modified-Since). A token refresh in front of it is
        retried on its own, so a refresh that keeps failing is tried max_retries + 1 times, not that
        many times per try of the call. Zoho's minting limit ("Access Denied") is never retried: only
        time lifts it."""
        api_path = API_PATH + path
        rejected_token = None  # an access token Zoho refused: refreshed once, then the call again
        while True:
            if rejected_token is not None:
                self._refresh(rejected_access_token=rejected_token)
            token = self.access_token()
            url = self.api_domain + api_path  # a refresh may have brought another api_domain
            sent = dict(headers or {}, Authorization="Zoho-oauthtoken " + token)
            try:
                return self.transport.call(lambda: self._call_once(method, url, api_path, params, json_body, sent))
            except oauth.InvalidTokenError as exc:
                if rejected_token is not None or exc.code != "INVALID_TOKEN":
                    raise
                rejected_token = token

    def _call_once(self, method, url, api_path, params, json_body, headers):
        self.api_calls += 1
        response = self.transport.request(method, url, params=params, json_body=json_body, headers=headers)
        credits = response.headers.get(CREDITS_HEADER)
        if credits is not None and credits.strip().isdigit():
            self.credits_remaining = int(credits)
        if response.status in (204, 304):
            return None
        payload = response.json_object()
        if 200 <= response.status < 300:
            if payload is None:
                raise oauth.TransportError("%s answered %s %s with a cut-off or non-JSON body. Fix: retry later."
                                           % (urlsplit(url).netloc, method, api_path))
            return payload
        raise oauth.api_error(response.status, payload, method, api_path, self.granted_scopes)

    def _payloads(self, path, params, per_page=PAGE_SIZE, headers=None, page_tokens=True):
        """Lazily yield each page of a listing, as Zoho's JSON: page numbers for the first 2,000
        records, then page_token (search has no page_token: Zoho stops it at 2,000)."""
        page, page_token = 1, None
        for _call in range(PAGE_TOKEN_RECORD_LIMIT // per_page + 1):
            query = dict(params, per_page=per_page)
            if page_token:
                query["page_token"] = page_token
            else:
                query["page"] = page
            payload = self._request("GET", path, params=query, headers=headers)
            if payload is None:
                return
            yield payload
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

    def _pages(self, path, params, limit=None, page_tokens=True):
        """Lazily yield the raw records of a listing (the first limit of them), page by page."""
        returned = 0
        for payload in self._payloads(path, params, _per_page(limit), page_tokens=page_tokens):
            records = payload.get("data") or ()
            if limit is not None:
                records = records[:limit - returned]
                returned += len(records)
            yield from records
            if limit is not None and returned >= limit:
                return

    def _records(self, module, fields, limit=None, keep=None):
        params = {"fields": ",".join(fields)}
        if keep is None:
            return flatten_all(self._pages("/" + module, params, limit), fields)
        return islice(flatten_all(filter(keep, self._pages("/" + module, params)), fields), limit)

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
        return list(flatten_all(records, NOTE_FIELDS))

    def _search(self, module, fields, text=None, criteria=None, email=None, limit=None):
        params = dict((name, value) for name, value in (("word", text), ("criteria", criteria), ("email", email))
                      if value)
        if not params:
            raise oauth.BadArgumentError("A search needs a text, criteria or email. Fix: pass one of them.",
                                         code="invalid_search")
        params["fields"] = ",".join(fields)
        records = self._pages("/%s/search" % module, params, limit, page_tokens=False)
        return flatten_all(records, fields)

    def _collect(self, payloads, keep=None, limit=None):
        """(matches, records read, more) over pages of a listing: the raw records keep() accepts (all
        when None), the first limit of them, read page by page until limit is reached; more says
        whether matches may lie past the answer (more in the last page read, or pages not read)."""
        matches, read = [], 0
        for payload in payloads:
            data = payload.get("data") or ()
            read += len(data)
            matches.extend(data if keep is None else (record for record in data if keep(record)))
            if limit is not None and len(matches) >= limit:
                more = len(matches) > limit or bool((payload.get("info") or {}).get("more_records"))
                return matches[:limit], read, more
        return matches, read, False

    def _find(self, module, noun, name_field, fields, name, limit, scan):
        needle = _name_needle(name, noun)
        if not scan and oauth.scope_satisfied(oauth.SEARCH_SCOPE, self.granted_scopes):
            params = {"criteria": "(%s:equals:%s)" % (name_field, _criteria_value(needle)), "fields": ",".join(fields)}
            pages = self._payloads("/%s/search" % module, params, _per_page(limit), page_tokens=False)
            found, _read, more = self._collect(pages, limit=limit)
            method, scanned = "search", None
        else:
            wanted = needle.lower()

            def keep(record):
                return wanted in str(record.get(name_field) or "").lower()
            pages = self._payloads("/" + module, {"fields": ",".join(fields)})
            found, scanned, more = self._collect(pages, keep, limit)
            method = "scan"
        return {noun: list(flatten_all(found, fields)), "method": method, "scanned": scanned,
                "more": more}

    def _changed(self, module, noun, fields, since, limit):
        moment = since if isinstance(since, datetime) else parse_since(since)
        if moment.tzinfo is None:
            raise oauth.BadArgumentError("since=%s has no time zone. Fix: pass an aware datetime (tzinfo set)."
                                         % moment.isoformat(), code="invalid_since")
        sent = if_modified_since(moment)
        params = {"fields": ",".join(fields), "sort_by": "Modified_Time", "sort_order": "desc"}
        pages = self._payloads("/" + module, params, _per_page(limit), headers={"If-Modified-Since": sent})
        changed, _read, more = self._collect(pages, limit=limit)
        return {noun: list(flatten_all(changed, fields)), "since": sent, "more": more}

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

    def find_deals(self, name, limit=10, scan=False, fields=DEAL_SUMMARY_FIELDS):
        """Deals whose Deal_Name contains name, in any case: {"deals": [flat deals], "method":
        "search" or "scan", "scanned": deals read (None for a search), "more": whether more may
        match}. With the ZohoSearch.securesearch.READ scope, one Zoho search per 200 matches (its
        index may miss an edit of the last minutes); without it, or with scan=True, a scan of every
        deal, 200 a call, that stops once limit (None: no limit) deals matched."""
        return self._find("Deals", "deals", "Deal_Name", fields, name, limit, scan)

    def changed_deals(self, since, limit=None, fields=DEAL_SUMMARY_FIELDS):
        """Deals modified after since, the last modified first: {"deals": [flat deals], "since": the
        If-Modified-Since sent, "more": whether limit cut the answer}. since: an aware datetime or
        text for parse_since ("7d", "2026-11-20", ...). One call when nothing changed (Zoho's 304)."""
        return self._changed("Deals", "deals", fields, since, limit)

    def pipeline(self, open_only=False, by_owner=False, owner=None):
        """Per stage: deals, sum of Amount, deals without one, the closing dates' range, from one scan
        of every deal that names only the fields it needs (5,000 deals: 25 calls). open_only leaves
        out the stages named "Closed ..."; by_owner adds the same per owner within each stage; owner
        (name, email or id) counts that owner's deals only. {"stages": [...], "total": {...},
        "scanned": deals read}."""
        fields = PIPELINE_FIELDS + (("Owner",) if by_owner or owner else ())
        stages, total, scanned = {}, _Tally(), 0
        for payload in self._payloads("/Deals", {"fields": ",".join(fields)}):
            for record in payload.get("data") or ():
                scanned += 1
                stage = record.get("Stage") or NO_STAGE
                if (open_only and stage.lower().startswith("closed")) or (owner and not _owned_by(record, owner)):
                    continue
                tally, owners = stages.setdefault(stage, (_Tally(), {}))
                tally.add(record)
                total.add(record)
                if by_owner:
                    owners.setdefault((record.get("Owner") or {}).get("name") or "(no owner)", _Tally()).add(record)
        rows = []
        for stage in sorted(stages, key=_stage_order):
            tally, owners = stages[stage]
            row = tally.as_json(stage=stage)
            if by_owner:
                row["owners"] = [owners[name].as_json(owner=name)
                                 for name in sorted(owners, key=lambda name: (-owners[name].amount, name))]
            rows.append(row)
        return {"stages": rows, "total": total.as_json(), "scanned": scanned}

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

    def find_contacts(self, name, limit=10, scan=False, fields=CONTACT_SUMMARY_FIELDS):
        """Contacts whose Full_Name contains name, in any case; as find_deals, with "contacts"."""
        return self._find("Contacts", "contacts", "Full_Name", fields, name, limit, scan)

    def changed_contacts(self, since, limit=None, fields=CONTACT_SUMMARY_FIELDS):
        """Contacts modified after since, the last modified first; as changed_deals, with "contacts"."""
        return self._changed("Contacts", "contacts", fields, since, limit)

    # ---- COQL ------------------------------------------------------------------------------

    def coql(self, query):
        """Rows of a COQL select (one call, up to its LIMIT); needs ZohoCRM.coql.READ."""
        payload = self._request("POST", "/coql", json_body={"select_query": query})
        return list(flatten_all((payload or {}).get("data") or ()))


def _owned_by(record, owner):
    value = record.get("Owner") or {}
    wanted = owner.lower()
    return any(str(value.get(key) or "").lower() == wanted for key in ("name", "email", "id"))

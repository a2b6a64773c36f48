"""A faithful local stand-in for Zoho Accounts (OAuth 2.0) and the Zoho CRM v8 API (read-only).

Everything here follows /work/shared/reference/zoho-api.md ("reference §n"); where that file says
UNCONFIRMED or CONFLICT, the choice made is listed under "Decisions" and is configurable where it matters.
Standard library only; binds 127.0.0.1 only.

URL layout (one port; each data center has its own accounts server and API domain as path prefixes)
    {base}/{dc}/accounts/oauth/v2/auth            consent page (GET); its form posts to .../auth/consent
    {base}/{dc}/accounts/oauth/v2/token           token endpoint (POST)
    {base}/{dc}/accounts/oauth/v2/token/revoke    revoke (POST)
    {base}/{dc}/accounts/oauth/serverinfo         {"result": "success", "locations": {dc: accounts URL},
                                                   "stage": "production"}
    {base}/{dc}/accounts/oauth/v3/device/code     device flow: start (POST; query string or form body)
    {base}/{dc}/accounts/oauth/v3/device/token    device flow: poll (POST; query, form or HTTP Basic)
    {base}/{dc}/accounts/oauth/v3/device          verification page (GET or POST; user_code=... skips
                                                  the code entry); its form posts to .../device/consent
    {base}/{dc}/api/crm/v8/...                    CRM API: Deals, Contacts, Accounts, Notes, search, coql,
                                                  settings/fields, settings/related_lists, users, org
    {base}/_sandbox/...                           control endpoints (below); never on Zoho's paths

In process
    from zoho_sandbox import Sandbox
    with Sandbox(port=0, data_centers=("us",), user_dc=None, deals=60, code_lifetime=180,
                 daily_credits=50000, concurrency=10, admin=True, accept_bearer=False, seed=2026,
                 log_file=None, tls=None, **options) as zoho:   # tls: a server-side SSLContext -> https
        zoho.base_url, zoho.accounts_url(dc=None), zoho.api_domain(dc=None), zoho.client
        zoho.self_client_code(scopes, lifetime=None, dc=None)   # scopes: list or comma string
        zoho.authorize(auth_url, approve=True)    # -> the redirect Location a browser would get
        zoho.enter_user_code(verification_url, user_code=None, approve=True)  # -> "approved"/"denied"
        zoho.approve_device(user_code); zoho.deny_device(user_code)  # no HTML; -> the flow (below)
        zoho.device_flows()                       # every device flow, never its device code
        zoho.touch_record(module, record_id)      # someone edits it now: Modified_Time moves
        zoho.clock.advance(seconds)               # every expiry and window uses this clock
        zoho.inject_fault(target, kind, count=None, rate=None, delay=None); zoho.clear_faults()
        zoho.counters(); zoho.live_tokens(); zoho.request_log(); zoho.revoke_all()
        zoho.secret_values()                      # every secret ever handed out, for leak checks
        zoho.rotate_client_secret()               # new secret; the old fails, grants survive
        zoho.settings, zoho.org, zoho.credits     # the options, the data, the credit budget
    `options` are the other fields of config.Settings, e.g. live_access_tokens=10 (the CONFLICT of
    reference §4), throttle_wording="accounts", coql_no_rows="empty", coql_requires_fields_scope=False,
    coql_max_select_fields=50, coql_max_offset=10_000, page_token_limit, search_limit, sub_concurrency,
    redirect_uri, device_code_lifetime=300, device_poll_interval=30, device_interval=5,
    device_units="seconds"|"milliseconds", device_error_status=200|400,
    device_verification_uri_complete=True, malformed_if_modified_since="400"|"ignore".
    Errors: SandboxError (refused control action), GrantLimitReached (a SandboxError).

Command line
    python -m zoho_sandbox --port N [--data-centers us,eu] [--user-dc eu] [--deals 60]
        [--code-lifetime 180] [--access-token-lifetime 3600] [--daily-credits 50000] [--concurrency 10]
        [--non-admin] [--accept-bearer] [--seed 2026] [--redirect-uri URL] [--ready-file PATH]
        [--log-file PATH]
        [--tls-cert PEM [--tls-key PEM]]   (https on 127.0.0.1 with that certificate)
        [--set NAME=VALUE ...]   # any other option above, e.g. --set device_units=milliseconds
    First stdout line: "Zoho sandbox listening on http://127.0.0.1:PORT" (the ready file, written
    atomically, has the base URL). SIGTERM/SIGINT stop it with exit 0; bad options exit 2.
    The scripted browser, for a stand-in in another process:
    python -m zoho_sandbox.browser AUTH_URL [--deny]        prints the redirect URL of the consent
    python -m zoho_sandbox.browser --device VERIFICATION_URL [--user-code CODE] [--deny]
        types the code (none: VERIFICATION_URL is verification_uri_complete), presses Accept or
        Reject, prints "approved" or "denied"; a refused page exits 1 with "error: ..." on stderr.

Control endpoints (JSON out, shaped like the Python methods; POST bodies as JSON or form fields;
not written to the request log)
    GET    /_sandbox/client               {client_id, client_secret, redirect_uri, accounts_url, api_domain,
                                           data_centers: {dc: {accounts_url, api_domain}}}
    POST   /_sandbox/self-client-code     scope (comma-separated), lifetime?, dc? -> {"code"}
    GET    /_sandbox/clock                {"now"};  POST {"advance": seconds} -> {"now"}
    POST   /_sandbox/faults               target, kind, count?, rate?, delay? -> {"fault"}
    GET    /_sandbox/faults -> [...] ; DELETE /_sandbox/faults
    GET    /_sandbox/counters ; GET /_sandbox/tokens ; GET /_sandbox/requests -> [...]
    POST   /_sandbox/revoke-all ; POST /_sandbox/rotate-client-secret -> {"client_secret"}
    POST   /_sandbox/touch                module, id -> {"module", "id", "Modified_Time"} (now, stand-in
                                          clock; unknown module or id -> 400)
    GET    /_sandbox/device               [flow, ...] in start order
    POST   /_sandbox/device/approve       user_code -> flow ; POST /_sandbox/device/deny  user_code -> flow
           flow = {user_code, status: pending|approved|denied|issued, client_id, dc (where it started),
                   user_dc (the approver's DC, null until approved), scopes: [...], offline, expires_at
                   (stand-in clock), polls, last_poll}; refused (unknown, expired, not pending) -> 400
    Refusals are HTTP 400 {"error", "message"} ("access_denied" when the grant-code limit is hit).

Counters: {"token": {"authorization_code": n, "refresh_token": n, <other grant_type>: n},
    "token_errors": {"invalid_code": n, "Access Denied": n, ...}, "revoke": n, "auth": n,
    "device": {"code": n, "token": n, "page": n, "approved": n, "denied": n, "issued": n},
    "device_errors": {"authorization_pending": n, "slow_down": n, "other_dc": n, ...},
    "crm": {"GET /crm/v8/Deals/{id}": n, ...}}. Token, revoke, auth (consent page loads) and device
    code, token (polls) and page (verification page loads) count requests as they arrive, faulted
    ones included; approved/denied count decisions (page or control), issued the polls that got
    tokens; device_errors counts every error either device endpoint answered; crm counts every
    request matching a route.
live_tokens(): {client_id: {"refresh_tokens": n, "access_tokens": n}} (unexpired, unrevoked).
Request log entries: time (stand-in clock), method, path, dc, status (None after a reset), params
    (query, form and JSON string fields), authorization ("Zoho-oauthtoken [REDACTED]"), fault.
    client_secret, code, device_code, refresh_token, token, access_token, and any value equal to a
    secret the stand-in issued (device codes included), are "[REDACTED]"; user codes are shown.

Faults: target "token", "revoke", "auth" (consent and verification pages), "device" (device/code
    and device/token), "crm", or a template such as
    "GET /crm/v8/Deals/{id}" or "POST /oauth/v2/token". Kinds: status_500 (CRM: the JSON
    INTERNAL_ERROR envelope; accounts: an HTML page), status_429 (CRM: the JSON TOO_MANY_REQUESTS
    envelope, as at the concurrency cap; accounts: an HTML page, as a front-end proxy would; Zoho's
    own token throttle is access_denied), status_502/status_503 (HTML, as a proxy would),
    delay (seconds, at most 60, then the call proceeds), reset (the connection is dropped before the
    server acts: nothing minted or charged), truncated (the real answer with valid headers and
    Content-Length, half the body, then close), access_denied (token targets only: the throttle
    body). `count` fires for the next n matching calls; `rate` fires with that seeded probability;
    neither: every call until cleared. The first registered fault that fires wins.

The data (data.py): BrightPath Learning sells after-school programs to California K-12 districts
    and community partners. Deal i belongs to account i // 3 and to one of its two contacts; deal 0
    is the setup guide's "Oakland School District - Grant Funded" (Contact Jane Smith, 50000,
    2026-03-15, "ELOP grant, 150 students, after-school program") and comes first in the default
    order. The 60-deal org has all nine stages and five owners (user 0, Maria Alvarez, is the one
    who authorizes). Notes repeat 2,1,0,3 per deal and 1,0,1 per contact (deal 2 has none: 204).
    Records are computed from their index (lazily, cached), so --deals 100000 starts instantly; a
    deal does not depend on the org size. The seed varies the drawn details (amounts, dates, older
    deals' stages, sources, titles) and the client credentials; deal 0 never changes. Paging is
    cheap at any size; searches, COQL aggregates or ORDER BY on other fields, and cvid "mine" scan
    every record (a few seconds at 100,000 deals).
    Ids are 19-digit strings; datetimes use -08:00; lookups {name, id}; users {name, id, email}.
    Every time is relative to the moment the stand-in starts (Org(now=...)), so a client's "since
    last week" picks a sensible subset: open deals were last modified within 40 days (about 40% of
    them within the last week), closed deals within two days after closing, a quarter of contacts and
    accounts lately and the rest within 45 days of creation; notes are never edited; users 0 and 3
    changed this week. Only deal 0's verbatim fields (Closing_Date 2026-03-15) are absolute.
    touch_record moves one record's Modified_Time (and Last_Activity_Time, Change_Log_Time__s) to
    the stand-in clock's now; nothing else in the record changes.

Decisions (reference UNCONFIRMED or CONFLICT)
    Token endpoint: parameters from the query string, urlencoded or multipart form, or HTTP Basic
        (query wins on a clash). GET -> {"error":"invalid_request"}; missing or unknown grant_type
        -> unsupported_grant_type; missing client_id -> invalid_client, missing secret ->
        invalid_client_secret, missing code or refresh token -> invalid_code. All HTTP 200.
        A code whose redirect_uri check fails is not spent. `scope` is in every success.
    Limits: the exchange's access token counts as mint 1 of 10 per window; a throttled refresh is
        not a mint. 15 live access tokens per refresh token (option live_access_tokens). Throttle
        wording of the CRM page (option throttle_wording="accounts" for the other). 20 refresh
        tokens per (DC, user, client). Grant codes: 10 per 10 minutes per client, all DCs and
        both kinds (consent and Self Client) together.
    Consent: the page is always shown; Deny echoes state; scopes must be comma-separated and look
        like Service.scope[.OP] (a space-separated list is an "Invalid OAuth Scope" page); unknown
        client, unregistered redirect_uri, missing scope or response_type other than code: HTTP
        400 HTML page, no redirect. access_type=offline gives a refresh token only if the user has
        no live grant for the client yet, or with prompt=consent. The redirect's location is the
        user's DC (--user-dc) whichever accounts server the flow started on, and it ends with the "&"
        seen in real redirects. Consent forms are
        single-use and valid 10 minutes. Client id and secret are the same in every DC.
    Device flow (reference §2.5): one client serves every flow (whether Zoho lets a Self Client's
        id use it is UNCONFIRMED). Initiation: client_id, grant_type=device_request, scope (comma-
        separated; a client secret is not needed), access_type, prompt, from the query string or a
        form body (Zoho's examples use the query string; both accepted). It takes one slot of the
        per-client grant-code window (consent, Self Client and device codes together): past it
        {"error": "access_denied"}. Answer: {"user_code": "BCDF-GHJK" (8 of RFC 8628's consonants;
        typed in any case, dash and spaces ignored), "device_code": "1000.<32 hex>.<32 hex>",
        "verification_url": "{accounts}/oauth/v3/device", "expires_in": 300, "interval": 5,
        "verification_uri_complete": "{verification_url}?user_code=..."}. Units UNCONFIRMED:
        seconds by default, option device_units="milliseconds" (300000, 5000), as an older Zoho page
        says; the lifetime is 5 minutes on the stand-in clock either way. interval is 5 as clients in
        the wild were told; the enforced gap is device_poll_interval=30 s whatever interval says.
        verification_uri_complete is UNCONFIRMED: option device_verification_uri_complete=False.
        Errors: unknown or missing client -> invalid_client; grant_type missing or not
        device_request -> unsupported_grant_type; scope missing or not Service.scope[.OP] ->
        invalid_scope; GET -> invalid_request.
      Polling: client_id + client_secret (or HTTP Basic), grant_type=device_token, code=<device
        code>. Checks in order: GET -> invalid_request; unknown client -> invalid_client; wrong or
        missing secret -> invalid_client_secret; grant_type -> unsupported_grant_type; unknown,
        another client's or already used device code -> invalid_code; an accounts server other than
        the one the flow started on (or, once approved, the user's) -> invalid_client; 5 minutes
        past the start -> expired (approved but not fetched in time too); then the poll counts: less
        than 30 s (stand-in clock) after the previous poll of that device code, at any DC ->
        slow_down, and that poll restarts the 30 s; pending -> authorization_pending; denied ->
        access_denied (every time); approved by a user whose DC (user_dc) is not this one ->
        {"error": "other_dc", "user_location": "<dc>"} (the documented key; no "dc"); else the
        code-exchange body (access_token, refresh_token with access_type=offline, scope, api_domain
        of the user's DC, token_type, expires_in 3600 s), once: the device code is then spent.
        Refused requests before the poll counts (wrong secret...) do not restart the 30 s.
        Error status UNCONFIRMED: HTTP 200 like the token endpoint (option device_error_status=400,
        as RFC 8628). A refresh token comes as for consent: with access_type=offline on the user's
        first consent for the client, or with prompt=consent; it is one of the 20 per (DC, user,
        client) and the 21st evicts the oldest; the access token is a mint of that refresh token.
      Verification page: without user_code a form to type it; with one (GET query or POST form) the
        consent page (client name, user code, scopes, Accept/Reject) whose POST answers 200 "Access
        Granted" or "Access Denied". Unknown code: 400 page "Invalid Code"; expired: "Code
        Expired"; already decided: "Code Already Used". The code is found from any DC's page; the
        approver is the user of user_dc (the first DC by default).
    Revoke: refresh or access tokens; unknown, already revoked or other-DC token (or GET): HTTP 400
        {"status":"failure","error":"invalid_token"}.
    CRM order of checks: route (404 INVALID_URL_PATTERN; only /crm/v8) -> method (400
        INVALID_REQUEST_METHOD; writes are not modelled) -> concurrency (429; every CRM call counts,
        COQL and lists with sort_by or cvid also take one of sub_concurrency=10 slots) -> faults ->
        Authorization (401 AUTHENTICATION_FAILURE if missing, not Zoho-oauthtoken, or Bearer unless
        accept_bearer; 401 INVALID_TOKEN if unknown, expired, revoked, evicted or another DC's) ->
        module (400 INVALID_MODULE; names match case-insensitively) -> scope (401
        OAUTH_SCOPE_MISMATCH) -> credits (429) -> parameters.
    Credits: 1 per call that passes the scope check (even if its parameters are then refused); COQL
        1/2/3 by LIMIT. X-API-CREDITS-REMAINING (remaining after the call) on authenticated
        responses once half the budget is used. 429 messages differ for credits and concurrency.
    Records: a well-formed unknown id -> 204; a non-numeric id -> 400 INVALID_DATA {"id"}. Unknown
        names in `fields` are ignored; `$` meta keys are always returned. per_page > 200 -> 400
        INVALID_DATA. `page` next to `page_token` is ignored. A page is refused when page*per_page
        > 2000; a page_token past 100,000 records -> PAGINATION_LIMIT_EXCEEDED; a tampered or
        other user's token -> INVALID_DATA. cvid: 5725767000000087001 (all), ...087003 (mine).
        approved=false -> 204 (everything is approved).
    If-Modified-Since (header; Zoho's v8 spec lists it for Get Records, Get Record, related records
        and users): only records whose Modified_Time is strictly later; none -> 304 with no body, no
        Content-Type and no Content-Length (one credit, like any call). Any ISO 8601 date-time with
        an offset (Z too); anything else (a date alone, no offset, an RFC 9110 HTTP-date) -> 400
        INVALID_DATA {"header_name": "If-Modified-Since", "expected_data_type": "datetime"}, or is
        ignored with option malformed_if_modified_since="ignore". Checked after the scope, with the
        other parameters. Page tokens are bound to it. Search and COQL ignore it (not in the spec).
    Notes: oldest first by default; related lists of an unknown parent (or of an account) -> 204;
        only the Notes related list exists (others 404); Parent_Id is {name, id} in related lists
        and {module, name, id} in GET /Notes and /Notes/{id}. GET /Notes needs admin (403
        NOT_SUPPORTED with --non-admin).
    Search: with several of criteria/email/phone/word, the first in that order is used. Text
        equals = case-insensitive contains, not_equal = exact inequality, picklist equals = exact;
        lookups match their id or their name; email is an exact (case-insensitive) match on email
        fields, phone a digit match on phone fields. more_records is false at the 2,000 cap.
    COQL: no rows -> 204 (option coql_no_rows="empty" for 200 with empty data); needs
        ZohoCRM.coql.READ, the module scope and (option coql_requires_fields_scope)
        ZohoCRM.settings.fields.READ; max 500 select fields and OFFSET+LIMIT 100,000 (options);
        text comparisons ignore case; owner lookups show the user's last name; aggregates
        COUNT/SUM/MIN/MAX/AVG with GROUP BY. Error details take the shapes of Zoho's v8 OAS
        (coql.json) and SDK: SYNTAX_ERROR {"line", "column", "near"} (1-based, at the offending
        token; at the last token when the query ends early) or {"clause": "where" | "group by"}
        for a missing WHERE or an incomplete GROUP BY, with the reason after "error occurred while
        parsing the query: " in `message`; INVALID_QUERY {"column_name"}, {"module"}, or
        {"column_name", "operator", "reason"} for a bad operator or value.
"""

from .errors import GrantLimitReached, SandboxError
from .sandbox import Sandbox

__all__ = ["GrantLimitReached", "Sandbox", "SandboxError"]

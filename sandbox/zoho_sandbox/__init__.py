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
    {base}/{dc}/api/crm/v8/...                    CRM API: Deals, Contacts, Accounts, Notes, search, coql,
                                                  settings/fields, settings/related_lists, users, org
    {base}/_sandbox/...                           control endpoints (below); never on Zoho's paths

In process
    from zoho_sandbox import Sandbox
    with Sandbox(port=0, data_centers=("us",), user_dc=None, deals=60, code_lifetime=180,
                 daily_credits=50000, concurrency=10, admin=True, accept_bearer=False, seed=2026,
                 log_file=None, **options) as zoho:
        zoho.base_url, zoho.accounts_url(dc=None), zoho.api_domain(dc=None), zoho.client
        zoho.self_client_code(scopes, lifetime=None, dc=None)   # scopes: list or comma string
        zoho.authorize(auth_url, approve=True)    # -> the redirect Location a browser would get
        zoho.clock.advance(seconds)               # every expiry and window uses this clock
        zoho.inject_fault(target, kind, count=None, rate=None, delay=None); zoho.clear_faults()
        zoho.counters(); zoho.live_tokens(); zoho.request_log(); zoho.revoke_all()
        zoho.secret_values()                      # every secret ever handed out, for leak checks
        zoho.rotate_client_secret()               # new secret; the old fails, grants survive
        zoho.settings, zoho.org, zoho.credits     # the options, the data, the credit budget
    `options` are the other fields of config.Settings, e.g. live_access_tokens=10 (the CONFLICT of
    reference §4), throttle_wording="accounts", coql_no_rows="empty", coql_requires_fields_scope=False,
    coql_max_select_fields=50, coql_max_offset=10_000, page_token_limit, search_limit, sub_concurrency,
    redirect_uri. Errors: SandboxError (refused control action), GrantLimitReached (a SandboxError).

Command line
    python -m zoho_sandbox --port N [--data-centers us,eu] [--user-dc eu] [--deals 60]
        [--code-lifetime 180] [--access-token-lifetime 3600] [--daily-credits 50000] [--concurrency 10]
        [--non-admin] [--accept-bearer] [--seed 2026] [--redirect-uri URL] [--ready-file PATH]
        [--log-file PATH]
    First stdout line: "Zoho sandbox listening on http://127.0.0.1:PORT" (the ready file, written
    atomically, has the base URL). SIGTERM/SIGINT stop it with exit 0; bad options exit 2.

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
    Refusals are HTTP 400 {"error", "message"} ("access_denied" when the grant-code limit is hit).

Counters: {"token": {"authorization_code": n, "refresh_token": n, <other grant_type>: n},
    "token_errors": {"invalid_code": n, "Access Denied": n, ...}, "revoke": n, "auth": n,
    "crm": {"GET /crm/v8/Deals/{id}": n, ...}}. Token, revoke and auth (consent page loads) count
    requests as they arrive, faulted ones included; crm counts every request matching a route.
live_tokens(): {client_id: {"refresh_tokens": n, "access_tokens": n}} (unexpired, unrevoked).
Request log entries: time (stand-in clock), method, path, dc, status (None after a reset), params
    (query, form and JSON string fields), authorization ("Zoho-oauthtoken [REDACTED]"), fault.
    client_secret, code, refresh_token, token, access_token, and any value equal to a secret the
    stand-in issued, are "[REDACTED]".

Faults: target "token", "revoke", "auth" (consent pages), "crm", or a template such as
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
        approved=false -> 204 (everything is approved). If-Modified-Since is not modelled.
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
        COUNT/SUM/MIN/MAX/AVG with GROUP BY.
"""

from .errors import GrantLimitReached, SandboxError
from .sandbox import Sandbox

__all__ = ["GrantLimitReached", "Sandbox", "SandboxError"]

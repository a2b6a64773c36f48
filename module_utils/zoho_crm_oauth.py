# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Zoho OAuth 2.0 for Zoho CRM: the errors, the HTTP transport, the token record and the token file.

The one implementation of Zoho's OAuth protocol in this project, and of everything it needs. The
Ansible module imports it as module_utils; the role deploys a byte-identical copy next to the
agent's tools. It uses the standard library only, because the agent's python3 (OpenClaw's image,
a VPS's Debian) has nothing else: Python 3.9 to 3.13. Modules a call needs are imported when it
needs them (http.client and ssl at the first request, hashlib for a fingerprint), so a tool that
never reaches Zoho does not pay for them.

Zoho's rules that shape this file (see the project's zoho-api reference):
- the token endpoint reports errors as HTTP 200 with {"error": ...}: success is the presence of
  access_token, never the status code;
- a refresh never returns a new refresh token: the stored one is kept;
- access tokens may be minted only 10 times per refresh token per 10 minutes, so processes
  share one token file and refresh under a lock, re-reading it first;
- the accounts server and the API host depend on the user's data center.

No message, repr or exception text produced here contains a secret.
"""

import contextlib
import errno
import functools
import json
import os
import re
import stat
import time
from collections import namedtuple
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlencode, urlsplit

CLIENT_SECRET_FILENAME = "zoho-crm-client-secret.json"
TOKENS_FILENAME = "zoho-crm-tokens.json"

DEFAULT_SCOPES = (
    "ZohoCRM.modules.deals.READ",
    "ZohoCRM.modules.contacts.READ",
    "ZohoCRM.modules.notes.READ",
)
SEARCH_SCOPE = "ZohoSearch.securesearch.READ"
COQL_SCOPE = "ZohoCRM.coql.READ"

DEFAULT_REDIRECT_URI = "http://localhost:8080/oauth/callback"
# Seconds to wait for a connection, and for each read of an answer.
CONNECT_TIMEOUT = 10
DEFAULT_TIMEOUT = 30
# Refresh this long before expiry, so a request never starts with a token about to die.
DEFAULT_MIN_TTL = 300
# Long enough for the slowest holder: an exchange, the proof read and a revoke, each up to DEFAULT_TIMEOUT.
LOCK_TIMEOUT = 120

USER_AGENT = "zoho-crm-provisioning"
# A kept-alive connection idle at least this long is checked for a close by the server before it
# is used (servers close idle ones after tens of seconds: Zoho's, the stand-in's after 30); one
# used more recently is not, which saves a system call per request.
IDLE_CHECK_SECONDS = 1.0
TOKEN_PATH = "/oauth/v2/token"
AUTH_PATH = "/oauth/v2/auth"
SERVERINFO_PATH = "/oauth/serverinfo"
DEVICE_CODE_PATH = "/oauth/v3/device/code"
DEVICE_TOKEN_PATH = "/oauth/v3/device/token"
# The device flow waiting for approval, next to the token file (covered by the role's .gitignore).
DEVICE_FLOW_FILENAME = "zoho-crm-device-flow.json"
# With a separate refresher, its directory (root's, 0700) holds the client secret and the full token
# record; the agent's token file is a copy with the access token only. Its tools and log live there.
REFRESHER_LOG_FILENAME = "zoho-crm-token-refresh.log"
REFRESHER_TOOL = "tools/zoho-crm-refresh-token.py"
# What an agent holding only an access token needs left on it to use it: the refresher replaces it with
# more than 6 minutes left (every 10 minutes at 16 minutes left), so less than this means it has stopped.
AGENT_COPY_MIN_TTL = 60
# Zoho answers slow_down to a poll less than 30 s after the previous one, whatever its interval says.
DEVICE_POLL_GAP = 30
# Each slow_down lengthens the gap by this much (RFC 8628 section 3.5), in case Zoho counts differently.
DEVICE_SLOW_DOWN_STEP = 5
# How long a user code lives when Zoho's answer does not say: 5 minutes, as its docs state.
DEVICE_CODE_LIFETIME = 300

DataCenter = namedtuple("DataCenter", "code accounts_url api_domain console_url confirmed")

DATA_CENTERS = dict((dc.code, dc) for dc in (
    DataCenter("us", "https://accounts.zoho.com", "https://www.zohoapis.com", "https://api-console.zoho.com", True),
    DataCenter("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu", "https://api-console.zoho.eu", True),
    DataCenter("in", "https://accounts.zoho.in", "https://www.zohoapis.in", "https://api-console.zoho.in", True),
    DataCenter("au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au", "https://api-console.zoho.com.au", True),
    DataCenter("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp", "https://api-console.zoho.jp", True),
    DataCenter("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca", "https://api-console.zohocloud.ca", True),
    DataCenter("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa", "https://api-console.zoho.sa", True),
    DataCenter("cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn", "https://api-console.zoho.com.cn", True),
    # Zoho's accounts docs list a UK server; its API host is known from third-party code only.
    DataCenter("uk", "https://accounts.zoho.uk", "https://www.zohoapis.uk", "https://api-console.zoho.uk", False),
))

# Grant codes look like 1000.<32 hex>.<32 hex>; accept any dotted alphanumeric form in case Zoho
# changes the lengths, but nothing that could smuggle in another parameter or whitespace.
GRANT_CODE_PATTERN = re.compile(r"^[0-9]+\.[0-9A-Za-z]+\.[0-9A-Za-z]+$")
# The role's preflight uses the same two patterns (tests/role/test_role_metadata.py compares them).
PLACEHOLDER_PATTERN = re.compile(r"PASTE_|YOUR_|CHANGE_?ME|REPLACE_?ME|^x+$|<.*>", re.IGNORECASE)

# The guide's token-file fields first, then what this project adds.
GUIDE_TOKEN_FIELDS = ("access_token", "refresh_token", "expires_in", "api_domain", "token_type", "scope")


# --------------------------------------------------------------------------------------------
# Errors. Every failure is a ZohoError whose class says what to do about it: the tools' exit
# status (README, Troubleshooting) and when a caller may try again. str() is one line that names
# the likely cause and the fix, safe to print and log.
# --------------------------------------------------------------------------------------------

EXIT_OK = 0
EXIT_FAILED = 1           # anything else (e.g. no such record)
EXIT_BAD_ARGUMENTS = 2    # the command line or an argument is wrong
EXIT_CONFIG = 3           # fix the files (client-secret file, token file, credentials directory)
EXIT_REAUTHORIZE = 4      # authorize again (refresh token revoked, scope missing, code rejected)
EXIT_RETRY_LATER = 5      # transient: the network or Zoho; the same command later will work

# When to try again.
RETRY_NOW = "now"         # within the call, with jittered backoff (connection errors, 429, 5xx)
RETRY_LATER = "later"     # not before retry_after seconds: Zoho's 10-minute minting throttle
RETRY_NEVER = "never"     # the same request fails the same way until someone fixes something


class ZohoError(Exception):
    """Base of every error raised here (and by the client)."""

    code = "error"
    exit_status = EXIT_FAILED
    retry = RETRY_NEVER
    retry_after = None  # seconds, for RETRY_LATER

    def __init__(self, message, code=None):
        super(ZohoError, self).__init__(message)
        if code is not None:
            self.code = code

    def as_json(self):
        """What `zoho-crm.py --json` prints as {"error": ...}."""
        answer = {"code": self.code, "message": str(self), "exit_status": self.exit_status, "retry": self.retry}
        if self.retry_after is not None:
            answer["retry_after"] = self.retry_after
        return answer


class BadArgumentError(ZohoError):
    """A command-line argument or a call's argument (a record id, a search) is unusable."""
    code = "bad_argument"
    exit_status = EXIT_BAD_ARGUMENTS


class ConfigError(ZohoError):
    """The client-secret file, a setting or the environment (proxy, CA file) is wrong."""
    code = "config"
    exit_status = EXIT_CONFIG


class CertificateError(ConfigError):
    """A server's TLS certificate cannot be verified: a re-signing proxy, a clock, a wrong host."""
    code = "tls_certificate"


class TokenFileError(ZohoError):
    """The token file or its directory is missing, unreadable, unwritable or not a token file."""
    code = "token_file"
    exit_status = EXIT_CONFIG


class RefresherStaleError(ZohoError):
    """The agent holds only an access token (a separate refresher keeps the refresh token), and it is
    about to expire or has expired with no fresh one written: the refresher has stopped. Nothing the
    agent can do mints one; the refresher's next run (every 10 minutes) or its operator can."""
    code = "refresher_stale"
    exit_status = EXIT_RETRY_LATER
    retry = RETRY_LATER
    retry_after = 600


class AuthorizationError(ZohoError):
    """The pasted code or redirect URL cannot be used (denied, wrong state, malformed)."""
    code = "authorization"
    exit_status = EXIT_REAUTHORIZE


class TransportError(ZohoError):
    """The server could not be reached, timed out, cut its answer off, or answered a 429 or 5xx
    page that is not Zoho's JSON."""
    code = "transport"
    exit_status = EXIT_RETRY_LATER
    retry = RETRY_NOW


class OAuthError(ZohoError):
    """The accounts server refused a token request (HTTP 200 with {"error": ...})."""


class InvalidCodeError(OAuthError):
    code = "invalid_code"
    exit_status = EXIT_REAUTHORIZE


class InvalidClientError(OAuthError):
    code = "invalid_client"
    exit_status = EXIT_CONFIG


class InvalidClientSecretError(OAuthError):
    code = "invalid_client_secret"
    exit_status = EXIT_CONFIG


class InvalidRedirectUriError(OAuthError):
    code = "invalid_redirect_uri"
    exit_status = EXIT_CONFIG


class InvalidScopeError(OAuthError):
    code = "invalid_scope"
    exit_status = EXIT_CONFIG


class GrantCodeLimitError(OAuthError):
    """Zoho's "access_denied" to a device flow's start: 10 grant codes per client in 10 minutes
    (consent, Self Client and device codes together) were issued already."""
    code = "access_denied"
    exit_status = EXIT_RETRY_LATER
    retry = RETRY_LATER
    retry_after = 600


class DeviceFlowError(AuthorizationError):
    """A device flow that ended without tokens: denied, expired, not approved in time, or gone."""
    code = "device_flow"


class DeviceFlowDeniedError(DeviceFlowError):
    code = "access_denied"


class DeviceFlowExpiredError(DeviceFlowError):
    code = "expired"


class DeviceFlowTimeoutError(DeviceFlowError):
    """Nobody approved within the wait; the flow stays pending, so running again waits on."""
    code = "authorization_pending"


class TokenThrottledError(OAuthError):
    """Zoho's "Access Denied": more than 10 access tokens minted in 10 minutes. Every request in
    the window keeps it shut, so nobody retries it at once."""
    code = "Access Denied"
    exit_status = EXIT_RETRY_LATER
    retry = RETRY_LATER
    retry_after = 600


class ApiError(ZohoError):
    """A Zoho CRM API call failed. Carries the HTTP status, Zoho's code and details."""

    def __init__(self, message, code=None, status=None, details=None):
        super(ApiError, self).__init__(message, code)
        self.status = status
        self.details = details or {}


class RecordNotFoundError(ApiError):
    """Zoho has no such record, or the user may not see it."""
    code = "NOT_FOUND"


class InvalidTokenError(ApiError):
    code = "INVALID_TOKEN"
    exit_status = EXIT_REAUTHORIZE


class ScopeMismatchError(ApiError):
    code = "OAUTH_SCOPE_MISMATCH"
    exit_status = EXIT_REAUTHORIZE

    def __init__(self, message, missing_scopes=(), **kwargs):
        super(ScopeMismatchError, self).__init__(message, **kwargs)
        self.missing_scopes = tuple(missing_scopes)


class PermissionDeniedError(ApiError):
    code = "NO_PERMISSION"


class RateLimitError(ApiError):
    code = "TOO_MANY_REQUESTS"
    exit_status = EXIT_RETRY_LATER
    retry = RETRY_NOW


class ServerError(ApiError):
    code = "INTERNAL_ERROR"
    exit_status = EXIT_RETRY_LATER
    retry = RETRY_NOW


# Zoho's token-endpoint answers without access_token: (error, grant or None for any) -> the class
# and the message (%(host)s: the accounts server, %(subject)s: what was sent). The device flow's
# grants are device_request (its start) and device_token (a poll); authorization_pending,
# slow_down and other_dc are not errors but answers its poll loop acts on.
TOKEN_ERRORS = {
    ("access_denied", "device_request"): (
        GrantCodeLimitError,
        "Zoho refused to issue a user code (access_denied): 10 codes were issued for this client in the last 10 "
        "minutes (consent, Self Client and device codes count together). Fix: wait 10 minutes and run again; "
        "authorize at most 10 new hosts in 10 minutes (--limit)."),
    ("invalid_client", "device_request"): (
        InvalidClientError,
        "Zoho does not know this client at %(host)s for the device flow (invalid_client): the client ID is wrong, "
        "the account lives in another data center, or the client's type does not allow the device flow. Fix: check "
        "client_id and the data center; for the device flow, create a client of the type Non-browser Mobile "
        "Applications in Zoho's API console."),
    ("access_denied", "device_token"): (
        DeviceFlowDeniedError,
        "The user code was rejected on Zoho's consent page (access_denied). Fix: run again and press Accept for the "
        "new code, signed in as the Zoho user whose CRM the agent may read."),
    ("expired", "device_token"): (
        DeviceFlowExpiredError,
        "The user code expired before anyone approved it (expired): Zoho gives 5 minutes. Fix: run again and "
        "approve the new code within 5 minutes."),
    ("invalid_code", "device_token"): (
        DeviceFlowError,
        "Zoho no longer knows the device code (invalid_code): it was used already, or belongs to another client. "
        "Fix: run again to start a new device flow."),
    ("invalid_scope", None): (
        InvalidScopeError,
        "Zoho rejected the scopes (invalid_scope). Fix: use Zoho scope names such as ZohoCRM.modules.deals.READ "
        "(zoho_crm_scopes, or scopes in the client-secret file)."),
    ("invalid_code", "refresh_token"): (
        InvalidCodeError,
        "Zoho rejected the refresh token (invalid_code): it was revoked (password reset, Connected Apps, "
        "revoke.yml) or evicted by a 21st authorization of this client. Fix: authorize again with a new code."),
    ("invalid_code", None): (
        InvalidCodeError,
        "Zoho rejected the grant code (invalid_code): it expired (redirect codes live 2-3 minutes, Self Client "
        "codes up to 10), was already used, or belongs to another data center. Fix: generate a new code and "
        "exchange it at once."),
    ("invalid_client", None): (
        InvalidClientError,
        "Zoho does not know this client at %(host)s (invalid_client): the client ID is wrong, or the account "
        "lives in another data center. Fix: check client_id and set the data center (us, eu, in, au, jp, ca, sa, "
        "cn) that your Zoho account uses."),
    ("invalid_client_secret", None): (
        InvalidClientSecretError,
        "Zoho rejected the client secret at %(host)s (invalid_client_secret). Fix: copy the secret again from the "
        "API console of this data center (secrets can differ per data center)."),
    ("invalid_redirect_uri", None): (
        InvalidRedirectUriError,
        "Zoho rejected the redirect URI (invalid_redirect_uri): it differs from the one registered for the "
        "client. Fix: make redirect_uri in the client-secret file equal the API console's."),
    ("access denied", None): (
        TokenThrottledError,
        "Zoho refused to mint another access token (Access Denied): more than 10 were requested for "
        "%(subject)s in 10 minutes. Fix: wait 10 minutes; make sure every process uses the shared token file "
        "instead of refreshing on its own."),
}


GRANT_NAMES = {"authorization_code": "authorization code", "refresh_token": "refresh token",
               "device_request": "device-flow start", "device_token": "device-flow poll"}


def token_error(body, grant, accounts_server):
    """The typed error for a token-endpoint response without access_token."""
    error = str(body.get("error") or "no access_token in the response")
    host = urlsplit(accounts_server).netloc or accounts_server
    subject = "the refresh token" if grant == "refresh_token" else "the grant code"
    known = TOKEN_ERRORS.get((error.lower(), grant)) or TOKEN_ERRORS.get((error.lower(), None))
    if known:
        error_class, message = known
        return error_class(message % {"host": host, "subject": subject})
    return OAuthError(
        "Zoho's accounts server %s refused the %s request (%s). Fix: check the client ID, secret and data "
        "center." % (host, GRANT_NAMES.get(grant, grant), error[:80]), code=error[:80])


def scope_satisfied(required, granted):
    """True when a granted scope covers the required one (READ, ALL or a module wildcard)."""
    service, rest = required.split(".", 1)
    name = rest.rsplit(".", 1)[0]
    candidates = {required.lower(), ("%s.%s.all" % (service, name)).lower()}
    if name.startswith("modules."):
        candidates.update({("%s.modules.all" % service).lower(), ("%s.modules.read" % service).lower()})
    return any(scope.lower() in candidates for scope in granted)


def required_scopes(method, path):
    """The scopes a CRM v8 call needs, from its path (e.g. GET /crm/v8/Deals/1/Notes)."""
    parts = [p for p in urlsplit(path).path.split("/") if p]
    if "crm" in parts:
        parts = parts[parts.index("crm") + 2:]
    if not parts:
        return ()
    head = parts[0]
    if head == "coql":
        return (COQL_SCOPE,)
    if head == "settings" and len(parts) > 1:
        return ("ZohoCRM.settings.%s.READ" % parts[1],)
    if head in ("users", "org"):
        return ("ZohoCRM.%s.READ" % head,)
    scopes = ["ZohoCRM.modules.%s.READ" % head.lower()]
    if len(parts) > 1 and parts[1] == "search":
        scopes.append(SEARCH_SCOPE)
    elif len(parts) > 2:
        scopes.append("ZohoCRM.modules.%s.READ" % parts[2].lower())
    return tuple(scopes)


def api_error(status, body, method, path, granted_scopes=None):
    """The typed error for a failed CRM call; body is the decoded JSON (or None)."""
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or "HTTP_%s" % status)
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    message = str(body.get("message") or "")[:200]
    where = "%s %s" % (method, urlsplit(path).path)
    if code == "INVALID_TOKEN":
        return InvalidTokenError(
            "Zoho CRM rejected the access token for %s (INVALID_TOKEN): it expired or was revoked, or the call "
            "went to another data center's API. Fix: refresh (python3 tools/zoho-crm-refresh-token.py --force); "
            "if that fails, authorize again and keep api_domain from the token file." % where,
            status=status, details=details)
    if code == "OAUTH_SCOPE_MISMATCH":
        needed = required_scopes(method, path)
        missing = [s for s in needed if not scope_satisfied(s, granted_scopes or ())] or list(needed)
        return ScopeMismatchError(
            "Zoho CRM refused %s (OAUTH_SCOPE_MISMATCH): the token lacks %s. Fix: add it to the scopes "
            "(zoho_crm_scopes) and authorize again." % (where, ", ".join(missing) or "a scope"),
            missing_scopes=missing, status=status, details=details)
    if code in ("AUTHENTICATION_FAILURE",):
        return InvalidTokenError(
            "Zoho CRM did not authenticate %s (%s): the Authorization header was missing or malformed. Fix: send "
            "'Authorization: Zoho-oauthtoken <access token>'." % (where, code), code=code, status=status,
            details=details)
    if status == 429:
        return RateLimitError(
            "Zoho CRM throttled %s (TOO_MANY_REQUESTS): the org's daily API credits are spent or too many calls "
            "run at once. Fix: retry later and make fewer concurrent calls." % where, status=status, details=details)
    if status == 403:
        return PermissionDeniedError(
            "Zoho CRM denied %s (%s: %s). Fix: give the Zoho user's profile the permission (API access, admin "
            "for all notes)." % (where, code, message or "permission denied"), code=code, status=status,
            details=details)
    if status >= 500:
        return ServerError("Zoho CRM failed on %s (HTTP %s, %s). Fix: retry later." % (where, status, code),
                           code=code, status=status, details=details)
    detail = ", ".join("%s=%s" % (k, v) for k, v in sorted(details.items()))[:200]
    return ApiError("Zoho CRM refused %s (HTTP %s %s: %s%s)." % (
        where, status, code, message or "no message", "; " + detail if detail else ""),
        code=code, status=status, details=details)


# --------------------------------------------------------------------------------------------
# The transport: every request to Zoho (exchange, refresh, revoke, CRM calls) goes through one.
# --------------------------------------------------------------------------------------------

class Response(object):
    """An HTTP answer, read whole: status, headers (a mapping whose get() ignores case) and body
    bytes."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json_object(self):
        """The body as a JSON object, or None (empty, not JSON, or not an object)."""
        try:
            data = json.loads(self.body.decode("utf-8")) if self.body else None
        except ValueError:  # also UnicodeDecodeError
            return None
        return data if isinstance(data, dict) else None


class Transport(object):
    """HTTP/1.1 on the standard library, for everything that talks to Zoho.

    - Keep-alive: one connection per origin, reused by the calls of this process (a connection the
      server has closed while it was idle is noticed before it is used, and replaced).
    - TLS verified by default, against the system's CA store, or the one SSL_CERT_FILE and
      SSL_CERT_DIR (OpenSSL's own variables) name; a CA file named by REQUESTS_CA_BUNDLE or
      CURL_CA_BUNDLE (as requests honoured them) is trusted too. validate_certs=False is for a
      local test server only.
    - Timeouts: timeout is (connect, read) seconds, or one number for both.
    - Proxies: https URLs go through HTTPS_PROXY (or ALL_PROXY), lower-case names first, unless
      NO_PROXY names the host, as requests did. Only http:// proxies (CONNECT); plain-http URLs,
      which this project allows on loopback only, never use one.
    - Retries: call(attempt) runs attempt again while it raises an error whose retry is RETRY_NOW
      (connection errors, timeouts, cut-off answers, 429, 5xx), max_retries times, with jittered
      exponential backoff. Nothing else retries.
    """

    def __init__(self, timeout=(CONNECT_TIMEOUT, DEFAULT_TIMEOUT), validate_certs=True, max_retries=0,
                 backoff=0.5, max_backoff=5.0):
        self.timeout = tuple(timeout) if isinstance(timeout, (tuple, list)) else (timeout, timeout)
        self.validate_certs = validate_certs
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._connections = {}
        self._proxies = {}  # origin -> the proxy's host:port
        self._origins = {}  # "scheme://host:port" -> its urlsplit, split once
        self._last_used = {}  # origin -> time.monotonic() of its connection's last answer
        self._tls_context = None

    def __repr__(self):
        return "Transport(timeout=%r, max_retries=%r)" % (self.timeout, self.max_retries)

    # ---- what callers use ------------------------------------------------------------------

    def call(self, attempt):
        """attempt() with retries: again after a jittered backoff while it raises a RETRY_NOW error."""
        failures = 0
        while True:
            try:
                return attempt()
            except ZohoError as exc:
                if exc.retry != RETRY_NOW or failures >= self.max_retries:
                    raise
            time.sleep(self.backoff_delay(failures))
            failures += 1

    def backoff_delay(self, failures):
        import random
        ceiling = min(self.max_backoff, self.backoff * (2 ** failures))
        # Jitter spreads out processes that failed together, so they do not retry together.
        return random.uniform(ceiling / 2, ceiling)

    def request(self, method, url, params=None, form=None, json_body=None, headers=None):
        """One HTTP exchange, no retry. params go in the query string, form in an urlencoded body
        (secrets never go in a query string: it ends up in server logs), json_body as JSON.
        Returns a Response whatever its status; raises TransportError when there is none."""
        parts, target = self._split(url)
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params, quote_via=_quote_query_value)
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "gzip"}
        body = None
        if form is not None:
            body = urlencode(form).encode("ascii")
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return self.send(method, parts, target, body, sent)

    def _split(self, url):
        """(urlsplit of the URL's origin, the rest: path and query). Origins are few, calls many."""
        start = url.find("://")
        slash = url.find("/", start + 3 if start >= 0 else 0)
        origin, target = (url, "/") if slash < 0 else (url[:slash], url[slash:])
        parts = self._origins.get(origin)
        if parts is None:
            parts = self._origins[origin] = urlsplit(origin)
        return parts, target.split("#", 1)[0]

    def close(self):
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    # ---- connections -----------------------------------------------------------------------

    def send(self, method, parts, target, body, headers):
        """Send one request on the origin's connection; parts is the urlsplit of the URL's origin,
        target its path and query."""
        import http.client
        origin = (parts.scheme, parts.hostname, parts.port)
        connection = self._connection(origin, parts)
        try:
            if connection.sock is None:
                connection.connect()
                connection.sock.settimeout(self.timeout[1])
            connection.request(method, target, body=body, headers=headers)
            answer = connection.getresponse()
            raw = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            failure = self._failure(exc, parts, self._proxies.get(origin))
            self._drop(origin)
            raise failure
        if answer.will_close:
            self._drop(origin)
        else:
            self._last_used[origin] = time.monotonic()
        if answer.getheader("content-encoding") == "gzip":
            import zlib
            try:
                raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS)
            except zlib.error:
                raise TransportError("%s sent a damaged compressed answer. Fix: retry later." % parts.netloc)
        return Response(answer.status, answer.msg, raw)

    def _connection(self, origin, parts):
        connection = self._connections.get(origin)
        if connection is None:
            connection = self._connections[origin] = self._new_connection(origin, parts)
        elif (connection.sock is not None and time.monotonic() - self._last_used.get(origin, 0) >= IDLE_CHECK_SECONDS
              and _closed_by_peer(connection.sock)):
            connection.close()  # reconnected by send()
        return connection

    def _drop(self, origin):
        connection = self._connections.pop(origin, None)
        if connection is not None:
            connection.close()

    def _new_connection(self, origin, parts):
        import http.client
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("%r is not an http(s) URL. Fix: check the server URL (Zoho's are https)."
                              % parts.geturl()[:80])
        host, port = parts.hostname, parts.port
        if parts.scheme == "http":
            return http.client.HTTPConnection(host, port or 80, timeout=self.timeout[0])
        proxy = proxy_for(host, port or 443)
        if proxy is None:
            return http.client.HTTPSConnection(host, port or 443, timeout=self.timeout[0],
                                               context=self.tls_context())
        self._proxies[origin] = "%s:%d" % (proxy.hostname, proxy.port or 8080)
        connection = http.client.HTTPSConnection(proxy.hostname, proxy.port or 8080, timeout=self.timeout[0],
                                                 context=self.tls_context())
        connection.set_tunnel(host, port or 443, headers=_proxy_headers(proxy))
        return connection

    def tls_context(self):
        if self._tls_context is None:
            import ssl
            context = ssl.create_default_context()
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            try:
                if bundle:
                    context.load_verify_locations(cafile=bundle)
            except (OSError, ssl.SSLError) as exc:
                raise CertificateError("Cannot load the CA bundle %s named by REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE "
                                       "(%s). Fix: point it at a PEM file of CA certificates, or unset it to use "
                                       "the system's." % (bundle, getattr(exc, "strerror", None) or exc))
            if not self.validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls_context = context
        return self._tls_context

    def _failure(self, exc, parts, proxy):
        """The typed error for a failed exchange. It names the host, the proxy and the kind of
        failure, never a URL's query (which may hold a page token)."""
        import socket
        import ssl
        via = " through the proxy %s" % proxy if proxy else ""
        if isinstance(exc, ssl.SSLCertVerificationError):
            return CertificateError(
                "Cannot verify the TLS certificate of %s%s (%s). Fix: if a proxy re-signs TLS, point SSL_CERT_FILE "
                "(or REQUESTS_CA_BUNDLE) at its CA file; else check the host name and the clock."
                % (parts.netloc, via, exc.verify_message or "certificate verify failed"))
        if isinstance(exc, socket.timeout) or "timed out" in str(exc):
            return TransportError("%s did not answer within %g s%s (timed out). Fix: retry later; check the "
                                  "network." % (parts.netloc, self.timeout[1], via))
        if proxy and str(exc).startswith("Tunnel connection failed"):
            return ConfigError("The proxy %s refused to connect to %s (%s). Fix: check HTTPS_PROXY (host, port, "
                               "user and password) and NO_PROXY." % (proxy, parts.netloc, str(exc)[:80]))
        return TransportError("Cannot reach %s%s (%s). Fix: check the network and DNS, the proxy settings "
                              "(HTTPS_PROXY, NO_PROXY) and the server URL." % (parts.netloc, via, _reason(exc)))


@functools.lru_cache(maxsize=256)
def _quote_query_value(string, safe="", encoding=None, errors=None):
    """quote_plus, remembered: the CRM calls of a process repeat the same fields lists (up to 200
    characters, their commas quoted one by one), and quoting one anew took about 40 us of a 0.7 ms
    get_deal on loopback (bench/overhead.py). Only for query strings, which never hold a secret."""
    return quote_plus(string, safe, encoding, errors)


def _closed_by_peer(sock):
    """True when an idle keep-alive socket is readable: the server closed it (or sent garbage)."""
    import select
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _reason(exc):
    import http.client
    if isinstance(exc, http.client.IncompleteRead):
        return "the answer was cut off"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the connection was closed without an answer"
    if isinstance(exc, OSError) and exc.strerror:
        return "%s: %s" % (type(exc).__name__, exc.strerror)
    if isinstance(exc, OSError) and exc.args:  # e.g. http.client's "Tunnel connection failed: 407 ..."
        return str(exc.args[0])[:120]
    return type(exc).__name__


def _environment(name):
    """A proxy variable as requests read it: the lower-case name wins, even when set empty."""
    value = os.environ.get(name)
    if value is None:
        value = os.environ.get(name.upper())
    return value or None


def proxy_for(host, port):
    """The proxy (a urlsplit result) for an https request to host:port, or None."""
    proxy = _environment("https_proxy") or _environment("all_proxy")
    if not proxy or bypasses_proxy(host, port):
        return None
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigError("The proxy %s://%s in HTTPS_PROXY (or ALL_PROXY) is not an http:// proxy. Fix: use "
                          "http://HOST:PORT (the tools tunnel TLS through it with CONNECT)."
                          % (parts.scheme, parts.hostname or "?"))
    return parts


def bypasses_proxy(host, port):
    """NO_PROXY, as requests read it: "*", host names (each covers its subdomains; a leading dot
    is optional), host:port, IP addresses and CIDR networks, comma-separated."""
    host = host.lower()
    host_is_ip = bool(re.match(r"^[0-9.]+$", host)) or ":" in host
    for entry in (_environment("no_proxy") or "").lower().split(","):
        entry = entry.strip()
        if entry == "*":
            return True
        with_port = re.match(r"^(\[[^]]*\]|[^:]*):(\d+)$", entry)
        if with_port:
            if int(with_port.group(2)) != port:
                continue
            entry = with_port.group(1)
        name = entry.strip("[]").lstrip("*").lstrip(".")
        if not name:
            continue
        if host_is_ip and re.match(r"^[0-9a-f:.]+(/[0-9]+)?$", name):
            import ipaddress
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                continue
        elif host == name or host.endswith("." + name):
            return True
    return False


def _proxy_headers(proxy):
    if proxy.username is None:
        return {}
    import base64
    credentials = "%s:%s" % (unquote(proxy.username), unquote(proxy.password or ""))
    return {"Proxy-Authorization": "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")}


# --------------------------------------------------------------------------------------------
# Configuration: data centers, the client-secret file, URLs secrets may go to.
# --------------------------------------------------------------------------------------------

def data_center(code):
    """The DataCenter for a code such as "eu"; ConfigError names the valid ones."""
    try:
        return DATA_CENTERS[str(code).lower()]
    except KeyError:
        raise ConfigError("Unknown Zoho data center %r. Fix: use one of %s." % (
            code, ", ".join(sorted(DATA_CENTERS))))


def data_center_of(accounts_server):
    """The data-center code of a Zoho accounts URL, or None for any other server."""
    origin = accounts_server.rstrip("/")
    for dc in DATA_CENTERS.values():
        if dc.accounts_url == origin:
            return dc.code
    return None


def _origin(url):
    parts = urlsplit(url)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def require_secure_url(url, what, error_class, fix):
    """A URL that secrets are sent to must be https; plain http only on this machine's loopback
    (a local stand-in), where nothing crosses a network."""
    scheme, host, _port = _origin(url)
    if not urlsplit(url).netloc or scheme not in ("http", "https"):
        raise error_class("%s %r is not an http(s) URL. Fix: %s" % (what, url[:80], fix))
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise error_class("%s %s is plain http, so secrets would cross the network unencrypted. Fix: %s" % (
            what, url[:80], fix))


def _read_json_object(path, error_class, what, private=False, dir_fd=None):
    try:
        with os.fdopen(_open_planted_safe(path, os.O_RDONLY, error_class, what, dir_fd), "rb") as handle:
            if private:
                _require_private(handle, path, what)
            raw = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            raise error_class("The %s %s does not exist. Fix: run the provisioning playbook "
                              "(ansible-playbook playbooks/provision.yml)." % (what, path))
        raise error_class("Cannot read the %s %s (%s). Fix: run as the agent's user or repair the "
                          "file's owner and mode." % (what, path, exc.strerror or exc))
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # Never quote the content: it holds secrets.
        raise error_class("The %s %s is not a JSON object. Fix: restore it by running the provisioning "
                          "playbook again." % (what, path))
    return data


def _open_planted_safe(path, flags, error_class, what, dir_fd=None):
    """A descriptor of path, which must be a regular file of its own: never through a symbolic link
    (O_NOFOLLOW), never blocking on a FIFO, and as root never a file with other hard links. Root
    (the module under become, a cron job) works in directories the agent's user can write, where a
    planted link would hand root's reads, writes and fchown to a file of the link's choosing. With
    dir_fd (_open_directory), path's name is opened in that directory, whatever its path names now."""
    try:
        fd = os.open(_name_in(path, dir_fd), flags | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error_class("The %s %s is a symbolic link, which is never followed. Fix: remove it and run the "
                              "provisioning playbook (ansible-playbook playbooks/provision.yml)." % (what, path))
        raise
    status = os.fstat(fd)
    # No link at all is a file replaced since it was opened (a writer's rename): still its own.
    if not stat.S_ISREG(status.st_mode) or (status.st_nlink > 1 and os.geteuid() == 0):
        os.close(fd)
        raise error_class("The %s %s is %s, not a regular file of its own. Fix: remove it and run the provisioning "
                          "playbook (ansible-playbook playbooks/provision.yml)." % (what, path, _kind_of(status)))
    return fd


def _name_in(path, dir_fd):
    """What an os call takes for path: path itself, or its name when the call is relative to dir_fd (its directory's)."""
    return path if dir_fd is None else os.path.basename(path)


def _lexists(path, dir_fd=None, follow_symlinks=False):
    """os.path.lexists (os.path.exists with follow_symlinks), optionally relative to dir_fd."""
    try:
        os.stat(_name_in(path, dir_fd), dir_fd=dir_fd, follow_symlinks=follow_symlinks)
    except (OSError, ValueError):
        return False
    return True


# How many symbolic links one path may pass through, as the kernel's path walk allows.
MAX_SYMLINKS = 40


def _open_directory(path, follow_last=True):
    """A descriptor of the directory path, found without following any symbolic link that a user
    other than root and this process's can change: root (the module under become, a separate
    refresher's cron job) writes into directories the agent's user owns, where a link swapped in
    between a check and a use would send root's files, chowned to the agent, to a directory of the
    link's choosing (another agent's). The checks and the uses that follow act on the descriptor, so
    on the directory opened, whatever its path names meanwhile.

    The path is walked from / one component at a time, each opened with O_NOFOLLOW relative to its
    parent's descriptor. A component that is a symbolic link is followed only when the directory
    holding it is owned by root or this process's user and nobody else can write it (not group- or
    other-writable), or it is sticky (like /tmp) and the link itself is root's or this process's
    user's: who else could replace the link then cannot. Any other link raises TokenFileError; with
    follow_last False, the last component must be a directory itself (OSError ELOOP otherwise). An
    OSError (ENOENT, ENOTDIR, ELOOP, EACCES) names the component that failed as its filename."""
    pending = [name for name in reversed(os.path.abspath(path).split("/")) if name]  # next component last
    walked = "/"  # the path of fd, for messages
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    links = 0
    try:
        while pending:
            name = pending.pop()
            here = os.path.join(walked, name)
            try:
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise OSError(exc.errno, exc.strerror, here)
                target = _link_to_follow(fd, name, here, follow_last or bool(pending))
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), here)
                if target is None:  # no longer a link: swapped meanwhile, so open it again
                    pending.append(name)
                    continue
                if target.startswith("/"):
                    os.close(fd)
                    fd, walked = os.open("/", os.O_RDONLY | os.O_DIRECTORY), "/"
                pending.extend(part for part in reversed(target.split("/")) if part)
                continue
            os.close(fd)
            fd, walked = child, os.path.normpath(here)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _link_to_follow(dir_fd, name, path, follow):
    """The target of the link name in dir_fd (path: its path) when it may be followed (_open_directory's
    rule); None when name is no longer a link. OSError ENOTDIR for anything else that is not a
    directory, ELOOP for a link not to be followed (follow False); TokenFileError for a link someone
    else can change."""
    status = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if stat.S_ISDIR(status.st_mode):
        return None
    if not stat.S_ISLNK(status.st_mode):
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
    if not follow:
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
    directory = os.fstat(dir_fd)
    trusted = (0, os.geteuid())
    if directory.st_uid not in trusted:
        who = _user_name(directory.st_uid)
    elif directory.st_mode & 0o022 and not (directory.st_mode & stat.S_ISVTX and status.st_uid in trusted):
        who = "other users"
    else:
        return os.readlink(name, dir_fd=dir_fd)
    raise TokenFileError("%s is a symbolic link in a directory %s can change, so it is never followed. Fix: put the "
                         "directory it points to in its place (or name the real path in the role's settings) and run "
                         "the provisioning playbook (ansible-playbook playbooks/provision.yml)." % (path, who))


def _user_name(uid):
    import pwd
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "uid %d" % uid


def _kind_of(status):
    """What a file that is not a regular file of its own is, for an error message."""
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
    for test, kind in kinds:
        if test(status.st_mode):
            return kind
    if stat.S_ISREG(status.st_mode):
        return "a file with %d hard links" % status.st_nlink
    return "a file of another kind"


def _require_private(handle, path, what):
    # As ssh does with a private key: a secret file others can read is refused, not used, so the
    # exposure is noticed. The role's runs repair the mode (the module reads with private=False).
    mode = os.fstat(handle.fileno()).st_mode & 0o777
    if mode & 0o077:
        raise ConfigError("The %s %s can be read by other users (mode %04o). Fix: chmod 600 %s (provision.yml "
                          "repairs it too); if anyone else could read it, rotate the credentials (rotate.yml)."
                          % (what, path, mode, path))


class ClientConfig:
    """The guide's client-secret file: client_id, client_secret, redirect_uri, auth_uri, token_uri,
    plus data_center and scopes written by the role."""

    def __init__(self, client_id, client_secret, token_uri, auth_uri=None, redirect_uri=DEFAULT_REDIRECT_URI,
                 data_center=None, scopes=DEFAULT_SCOPES):
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_uri = token_uri
        self.auth_uri = auth_uri or _accounts_base(token_uri) + AUTH_PATH
        self.redirect_uri = redirect_uri
        self.data_center = data_center
        self.scopes = tuple(scopes)
        self.validate()

    def __repr__(self):
        return "ClientConfig(client_id=%r, token_uri=%r, client_secret=<redacted>)" % (self.client_id, self.token_uri)

    @classmethod
    def load(cls, path, private=False):
        """private: refuse a file that other users can read (the tools do; the module repairs it)."""
        data = _read_json_object(path, ConfigError, "client-secret file", private)
        missing = [field for field in ("client_id", "client_secret", "token_uri") if not data.get(field)]
        if missing:
            raise ConfigError("The client-secret file %s lacks %s. Fix: fill it in (the role writes it from "
                              "zoho_crm_client_id and zoho_crm_client_secret)." % (path, ", ".join(missing)))
        scopes = data.get("scopes") or DEFAULT_SCOPES
        if isinstance(scopes, str):
            scopes = parse_scopes(scopes)
        return cls(client_id=data["client_id"], client_secret=data["client_secret"], token_uri=data["token_uri"],
                   auth_uri=data.get("auth_uri"), redirect_uri=data.get("redirect_uri") or DEFAULT_REDIRECT_URI,
                   data_center=data.get("data_center"), scopes=scopes)

    def validate(self):
        for name in ("client_id", "client_secret"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError("%s is empty. Fix: copy it from Zoho's API console." % name)
            if PLACEHOLDER_PATTERN.search(value):
                raise ConfigError("%s is still a placeholder. Fix: put the real value from Zoho's API console "
                                  "(in Ansible Vault)." % name)
        for name in ("token_uri", "auth_uri"):
            require_secure_url(getattr(self, name), name, ConfigError, "use your data center's accounts server, "
                               "e.g. %s." % (DATA_CENTERS["us"].accounts_url + TOKEN_PATH))
        # The redirect URI carries no secret of ours, and Zoho allows http ones (e.g. http://localhost:8080/...).
        if _origin(self.redirect_uri)[0] not in ("http", "https") or not urlsplit(self.redirect_uri).netloc:
            raise ConfigError("redirect_uri %r is not an http(s) URL. Fix: use the one registered for the client, "
                              "e.g. %s." % (self.redirect_uri, DEFAULT_REDIRECT_URI))
        if self.data_center is not None:
            data_center(self.data_center)

    @property
    def accounts_server(self):
        return _accounts_base(self.token_uri)


def _accounts_base(token_uri):
    base = token_uri.rstrip("/")
    return base[:-len(TOKEN_PATH)] if base.endswith(TOKEN_PATH) else base


def parse_scopes(value):
    """Scopes from a list or a comma/space separated string, order kept, duplicates dropped."""
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else list(value or ())
    seen = []
    for item in items:
        item = str(item).strip()
        if item and item not in seen:
            seen.append(item)
    return tuple(seen)


# --------------------------------------------------------------------------------------------
# Authorization: the URL the operator opens, and what comes back.
# --------------------------------------------------------------------------------------------

AuthorizationResponse = namedtuple("AuthorizationResponse", "code state location accounts_server")


def authorization_state(client, token_path):
    """The state of every authorization URL for one token file, derived from the client secret:
    the same on every run of the module and the init tool, unguessable without the secret, and
    checkable when a redirect URL is pasted without storing anything."""
    import hashlib
    import hmac
    message = ("zoho_crm_token:" + os.path.abspath(token_path)).encode("utf-8")
    return hmac.new(client.client_secret.encode("utf-8"), message, hashlib.sha256).hexdigest()[:24]


def authorization_url(client, state, scopes=None):
    """The consent URL: offline access for a refresh token, consent forced so Zoho issues one even
    to a user who consented before."""
    query = urlencode([
        ("scope", ",".join(scopes or client.scopes)),
        ("client_id", client.client_id),
        ("response_type", "code"),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("redirect_uri", client.redirect_uri),
        ("state", state),
    ], safe=",:/", quote_via=quote)
    return "%s?%s" % (client.auth_uri, query)


def parse_authorization_response(text, expected_state=None):
    """A bare grant code (Self Client or copied from the address bar), or the whole redirect URL
    (or just its query string). Redirects also tell the data center through location and
    accounts-server. With expected_state, a redirect must carry that state (a bare code has none
    to check)."""
    text = (text or "").strip()
    if not text:
        raise AuthorizationError("No grant code given. Fix: pass the code, or the whole URL the browser was "
                                 "redirected to.")
    if GRANT_CODE_PATTERN.match(text):
        return AuthorizationResponse(text, None, None, None)
    query = urlsplit(text).query if "?" in text or "://" in text else text
    params = dict((key, values[0]) for key, values in parse_qs(query, keep_blank_values=True).items())
    if params.get("error"):
        raise AuthorizationError("The authorization was refused (%s): the user pressed Deny, or Zoho's limit "
                                 "of 10 codes per 10 minutes was hit. Fix: open the authorization URL again and "
                                 "approve." % params["error"][:40])
    code = params.get("code", "")
    if not GRANT_CODE_PATTERN.match(code):
        raise AuthorizationError("No usable grant code found in the input: expected a code like "
                                 "1000.xxxx.yyyy or a redirect URL containing code=. Fix: copy the whole "
                                 "address-bar URL after approving.")
    state = params.get("state") or None
    if expected_state is not None and state != expected_state:
        raise AuthorizationError("The redirect's state does not match this authorization request (possible "
                                 "forged or stale redirect). Fix: start again with a fresh authorization URL.")
    return AuthorizationResponse(code, state, params.get("location") or None,
                                 (params.get("accounts-server") or "").rstrip("/") or None)


def token_endpoint_for(client, authorization=None):
    """(accounts_server, token_url) for exchanging a code. A redirect's accounts-server wins over
    the configured one, but only when it is a known Zoho accounts server or on the configured
    server's own origin: the client secret is never sent to a host taken from pasted input."""
    accounts_server = client.accounts_server
    redirected = authorization.accounts_server if authorization else None
    if redirected and redirected != accounts_server:
        if not (data_center_of(redirected) or _origin(redirected) == _origin(accounts_server)):
            raise AuthorizationError("The redirect names an accounts server that is not Zoho's (%s). Fix: paste "
                                     "the redirect URL exactly as Zoho produced it, or only its code."
                                     % urlsplit(redirected).netloc)
        accounts_server = redirected
    return accounts_server, accounts_server + TOKEN_PATH


def fingerprint(secret):
    """A short, non-reversible label for a secret, for diffs and logs."""
    if not secret:
        return None
    import hashlib
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def code_digest(code):
    """What the token file stores about the code it came from: enough to recognise a re-run."""
    import hashlib
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def mask(token):
    """The guide's masked form, e.g. 1000.abcdef..."""
    return (token[:11] + "...") if token else ""


# --------------------------------------------------------------------------------------------
# The token endpoint.
# --------------------------------------------------------------------------------------------

def _accounts_answer(transport, url, form=None, params=None, method="POST", endpoint="token"):
    """One call to an accounts-server endpoint (a token, device-flow or serverinfo endpoint); its
    JSON object (an answer or Zoho's {"error": ...}, whatever the HTTP status), else the typed error."""
    response = transport.request(method, url, params=params, form=form)
    body = response.json_object()
    host = urlsplit(url).netloc
    if body is None and (response.status == 429 or response.status >= 500 or response.status == 200):
        raise TransportError("%s answered HTTP %s without JSON (an error page of Zoho's or a proxy's). Fix: retry "
                             "later; if it persists, check the accounts server URL." % (host, response.status))
    if body is None:
        raise ConfigError("%s answered HTTP %s without JSON: %s is not a Zoho %s endpoint. Fix: check token_uri "
                          "in the client-secret file (your data center's accounts server, e.g. %s)."
                          % (host, response.status, url.split("?")[0][:80], endpoint,
                             DATA_CENTERS["us"].accounts_url + TOKEN_PATH))
    return body


def _token_request(transport, token_url, fields, grant):
    """One token-endpoint call; the response when it carries an access token, else the typed error."""
    body = _accounts_answer(transport, token_url, form=fields)
    if not body.get("access_token"):
        raise token_error(body, grant, _accounts_base(token_url))
    return body


def exchange_code(client, authorization, transport=None, now=None):
    """Exchange a grant code for tokens; returns the new TokenRecord (not yet written). Never
    retried: a code works once, and a retry after a lost answer would find it spent."""
    accounts_server, token_url = token_endpoint_for(client, authorization)
    # Redirect-issued codes must name the same redirect URI; Self Client codes have none, and Zoho
    # ignores it for them (the official SDK sends it too).
    fields = [("grant_type", "authorization_code"), ("client_id", client.client_id),
              ("client_secret", client.client_secret), ("code", authorization.code),
              ("redirect_uri", client.redirect_uri)]
    response = _token_request(transport or Transport(), token_url, fields, "authorization_code")
    if not response.get("refresh_token"):
        raise AuthorizationError("Zoho issued no refresh token: the authorization lacked access_type=offline "
                                 "and prompt=consent. Fix: use the authorization URL this tool prints.")
    return TokenRecord.from_token_response(response, client, accounts_server, now=now, code=authorization.code,
                                           location=authorization.location)


def refresh_access_token(client, record, transport=None, now=None):
    """Mint a new access token (retried as the transport says); the refresh token is kept (Zoho
    never rotates it)."""
    refresh_token = record.require_refresh_token()
    accounts_server = accounts_server_of(record, client)
    fields = [("grant_type", "refresh_token"), ("client_id", client.client_id),
              ("client_secret", client.client_secret), ("refresh_token", refresh_token)]
    transport = transport or Transport()
    response = transport.call(lambda: _token_request(transport, accounts_server + TOKEN_PATH, fields,
                                                     "refresh_token"))
    return TokenRecord.from_token_response(response, client, accounts_server, now=now, previous=record)


def revoke_refresh_token(accounts_server, refresh_token, transport=None):
    """Revoke at Zoho. True when revoked now, False when Zoho no longer knows the token."""
    transport = transport or Transport()
    url = accounts_server.rstrip("/") + TOKEN_PATH + "/revoke"

    def attempt():
        response = transport.request("POST", url, form=[("token", refresh_token)])
        if response.status == 200 and (response.json_object() or {}).get("status") == "success":
            return True
        if response.status == 400:
            return False
        raise TransportError("%s answered the revoke with HTTP %s. Fix: retry later; if it persists, revoke the "
                             "client under Connected Apps in Zoho Accounts." % (urlsplit(url).netloc,
                                                                                response.status))
    return transport.call(attempt)


def probe_api(record, transport=None):
    """Read one record id with the record's access token, from the first module its scopes allow:
    proof that new tokens work before they replace old ones. Raises the CRM's typed error."""
    # Not Notes: listing all notes is for admins only (403 NOT_SUPPORTED otherwise).
    modules = [scope.split(".")[2] for scope in record.scopes
               if re.match(r"(?i)^ZohoCRM\.modules\.[a-z_]+\.(READ|ALL)$", scope)
               and scope.split(".")[2].lower() != "notes"]
    if not modules:
        return
    transport = transport or Transport()
    path = "/crm/v8/%s" % modules[0].title()

    def attempt():
        response = transport.request("GET", record.api_domain.rstrip("/") + path,
                                     params=[("fields", "id"), ("per_page", "1")],
                                     headers={"Authorization": "Zoho-oauthtoken " + record.access_token})
        if response.status not in (200, 204):
            raise api_error(response.status, response.json_object(), "GET", path, record.scopes)
    transport.call(attempt)


def accounts_server_of(record, client):
    """Where a token record's tokens live. Files written by the manual guide's script do not say,
    so the client-secret file's server is assumed (client may be None when there is none)."""
    if record.accounts_server:
        return record.accounts_server
    if client is None:
        raise ConfigError("The token file does not name the accounts server that issued it, and there is no "
                          "client-secret file to take it from. Fix: restore the client-secret file (run the "
                          "provisioning playbook), or revoke the app under Connected Apps in Zoho Accounts.")
    return client.accounts_server


def missing_scopes(record, wanted):
    """The wanted scopes that a token record's scopes do not cover."""
    return [scope for scope in parse_scopes(wanted) if not scope_satisfied(scope, record.scopes)]


ExchangeResult = namedtuple("ExchangeResult", "record replaced revoked revoke_error")


def store_exchanged_tokens(token_file, client, authorization, scopes=None, transport=None):
    """Exchange a grant code and store its tokens, under the token file's lock (see keep_new_tokens)."""
    transport = transport or Transport()
    with token_file.locked() as locked:
        replaced = _replaceable(locked)
        record = exchange_code(client, authorization, transport=transport)
        keep_new_tokens(locked, client, record, replaced, scopes, transport)
    return _revoke_replaced(client, record, replaced, transport)


def _replaceable(locked):
    """The stored record that new tokens would replace; None for none, or one damaged beyond use."""
    try:
        return locked.read()
    except TokenFileError:
        return None


def keep_new_tokens(locked, client, record, replaced, scopes, transport):
    """Write new tokens (from a code exchange or a device flow) while holding the lock.

    Into an empty (or unreadable) file the new tokens go as they are. When they would replace
    stored tokens, they must first carry the wanted scopes and read the CRM; if not, the new
    refresh token is revoked (it would occupy one of Zoho's 20 slots), the file is left as it
    was, and the error is raised. Once the lock is released, _revoke_replaced revokes the
    replaced refresh token.
    """
    if replaced:
        try:
            missing = missing_scopes(record, scopes or client.scopes)
            if missing:
                raise AuthorizationError(
                    "The new tokens lack %s, so the stored tokens were kept. Fix: authorize again for all the "
                    "scopes (%s)." % (", ".join(missing), ",".join(scopes or client.scopes)))
            probe_api(record, transport)
        except ZohoError:
            try:
                revoke_refresh_token(accounts_server_of(record, client), record.refresh_token, transport)
            except ZohoError:
                pass  # the error that matters is the one being raised
            raise
    locked.write(record)


def _revoke_replaced(client, record, replaced, transport):
    """The ExchangeResult once new tokens are in place: the replaced refresh token is revoked, and a
    failure there is returned in revoke_error rather than raised, since the new tokens work."""
    revoked, revoke_error = None, None
    if replaced and replaced.refresh_token and replaced.refresh_token != record.refresh_token:
        try:
            revoked = revoke_refresh_token(accounts_server_of(replaced, client), replaced.refresh_token, transport)
        except ZohoError as exc:
            revoke_error = exc
    return ExchangeResult(record, replaced, revoked, revoke_error)


# --------------------------------------------------------------------------------------------
# The device flow: the host asks Zoho for a user code, a person approves it on any browser, and
# the host polls for its tokens. The pending flow is kept next to the token file, so a re-run
# shows the same code instead of spending another of Zoho's 10 grant codes per 10 minutes, and a
# separate call (a later task, another process) can wait for it.
# --------------------------------------------------------------------------------------------

def _device_timing(body):
    """(lifetime, interval) in seconds from a device/code answer. Their units are UNCONFIRMED:
    seconds, or milliseconds as one client's fixtures show (expires_in 300000, interval 5000). A
    user code living more than a day, or polls more than 10 minutes apart, mean milliseconds."""
    def number(key, default):
        try:
            value = float(body.get(key))
        except (TypeError, ValueError):
            return default
        return value if value > 0 else default
    expires_in = number("expires_in", None)
    interval = number("interval", None)
    milliseconds = expires_in is not None and expires_in > 86400
    lifetime = expires_in / 1000.0 if milliseconds else (expires_in or DEVICE_CODE_LIFETIME)
    if interval is not None and (milliseconds or interval > 600):
        interval /= 1000.0
    return lifetime, interval or 0


class DeviceFlow(object):
    """A device flow waiting for approval: what the pending-flow file holds. The device code is half
    of a credential: repr() and redacted() leave it out, and nothing here prints it.

    Times are timestamps (time.time()), since other processes read them. accounts_server is where
    the next poll goes (the user's data center once Zoho answered other_dc); location is that data
    center's code, for the token file. poll_gap is the least time between two polls, counted from
    the answer to the previous one.
    """

    FIELDS = ("device_code", "user_code", "verification_url", "verification_uri_complete", "accounts_server",
              "location", "client_id", "scopes", "started_at", "expires_at", "interval", "poll_gap",
              "last_poll_at", "polls")

    def __init__(self, device_code, user_code, verification_url, accounts_server, client_id, scopes, started_at,
                 expires_at, interval=0, poll_gap=DEVICE_POLL_GAP, verification_uri_complete=None, location=None,
                 last_poll_at=None, polls=0):
        self.device_code = device_code
        self.user_code = user_code
        self.verification_url = verification_url
        self.verification_uri_complete = verification_uri_complete
        self.accounts_server = accounts_server
        self.location = location
        self.client_id = client_id
        self.scopes = parse_scopes(scopes)
        self.started_at = started_at
        self.expires_at = expires_at
        self.interval = interval
        self.poll_gap = poll_gap
        self.last_poll_at = last_poll_at
        self.polls = polls

    @classmethod
    def from_answer(cls, body, client, scopes, accounts_server, now=None):
        """The flow Zoho's device/code answer starts; AuthorizationError when it lacks what a flow needs."""
        now = time.time() if now is None else now
        fields = dict((key, body.get(key)) for key in ("device_code", "user_code", "verification_url"))
        if not all(isinstance(value, str) and value for value in fields.values()):
            raise AuthorizationError("Zoho's answer to the device-flow start lacks %s. Fix: run again; if it persists, "
                                     "report it." % ", ".join(key for key, value in fields.items() if not value))
        require_secure_url(fields["verification_url"], "The verification URL", AuthorizationError,
                           "check the accounts server URL; Zoho's are https.")
        lifetime, interval = _device_timing(body)
        complete = body.get("verification_uri_complete")
        return cls(fields["device_code"], fields["user_code"], fields["verification_url"], accounts_server,
                   client.client_id, scopes, now, now + lifetime, interval=interval,
                   poll_gap=max(DEVICE_POLL_GAP, interval),
                   verification_uri_complete=complete if isinstance(complete, str) and complete else None)

    @classmethod
    def from_json(cls, data, path):
        """The flow in a pending-flow file's JSON object; TokenFileError naming the file when it is not one."""
        try:
            flow = cls(**dict((key, data[key]) for key in cls.FIELDS if key in data))
            float(flow.started_at), float(flow.expires_at), float(flow.poll_gap), int(flow.polls)
            if flow.last_poll_at is not None:
                float(flow.last_poll_at)
            require_secure_url(flow.accounts_server, "The pending device flow's accounts server", TokenFileError,
                               "delete %s and run again." % path)
            if not all(isinstance(getattr(flow, key), str) and getattr(flow, key)
                       for key in ("device_code", "user_code", "verification_url", "client_id")):
                raise ValueError("a field is missing")
        except (TypeError, ValueError, AttributeError):
            raise TokenFileError("The pending device flow %s is damaged. Fix: delete it and run again (a new user "
                                 "code is shown)." % path)
        return flow

    def to_json(self):
        values = dict((key, getattr(self, key)) for key in self.FIELDS)
        values["scopes"] = list(self.scopes)
        return values

    def seconds_left(self, now=None):
        return self.expires_at - (time.time() if now is None else now)

    def next_poll_at(self):
        """When Zoho allows the next poll: interval after the start, and poll_gap after the answer to the previous poll."""
        earliest = self.started_at + self.interval
        return earliest if self.last_poll_at is None else max(earliest, self.last_poll_at + self.poll_gap)

    def serves(self, client, scopes, now=None):
        """Whether a run for this client and these scopes may wait on this flow: same client and
        scopes, and time enough left for at least one more poll."""
        return (self.client_id == client.client_id and set(self.scopes) == set(parse_scopes(scopes))
                and self.seconds_left(now) > self.poll_gap)

    def redacted(self, now=None):
        """What may be shown: everything a person needs to approve, never the device code."""
        return {"user_code": self.user_code, "verification_url": self.verification_url,
                "verification_uri_complete": self.verification_uri_complete,
                "expires_at": format_time(self.expires_at), "expires_in": max(0, int(self.seconds_left(now))),
                "accounts_server": self.accounts_server, "scopes": list(self.scopes), "polls": self.polls}

    def __repr__(self):
        return "DeviceFlow(user_code=%r, accounts_server=%r, expires_at=%r)" % (
            self.user_code, self.accounts_server, format_time(self.expires_at))


def start_device_flow(token_file, client, scopes=None, transport=None, now=None):
    """The device flow this token file waits on: the pending one when it serves this client and
    these scopes, else a new one from Zoho. Returns (flow, started). Never retried: each start
    spends one of the client's 10 grant codes per 10 minutes."""
    scopes = parse_scopes(scopes or client.scopes)
    with token_file.locked() as locked:
        pending = locked.read_device_flow(discard_damaged=True)
        if pending and pending.serves(client, scopes, now):
            return pending, False
        accounts_server = client.accounts_server
        # No secret goes in this request, so it takes the query string, as Zoho's examples do.
        body = _accounts_answer(transport or Transport(), accounts_server + DEVICE_CODE_PATH, params=[
            ("client_id", client.client_id), ("grant_type", "device_request"), ("scope", ",".join(scopes)),
            ("access_type", "offline"), ("prompt", "consent")], endpoint="device-flow")
        if body.get("error") or not body.get("device_code"):
            raise token_error(body, "device_request", accounts_server)
        flow = DeviceFlow.from_answer(body, client, scopes, accounts_server, now)
        locked.write_device_flow(flow)
        return flow, True


def wait_for_device_flow(token_file, client, scopes=None, transport=None, timeout=DEVICE_CODE_LIFETIME):
    """Poll Zoho for the pending flow's tokens until the person approves (the tokens are then
    stored as after a code exchange: keep_new_tokens), denies (DeviceFlowDeniedError), the user
    code expires (DeviceFlowExpiredError) or timeout seconds pass (DeviceFlowTimeoutError; the
    flow stays pending for the next run). Returns an ExchangeResult.

    Polls are poll_gap (30 s at least) apart whatever Zoho's interval says, counted from the
    answer to the previous poll, whichever process made it: each poll takes the lock and records
    its time in the pending-flow file. An other_dc answer moves the polls to the user's data
    center. A poll without an answer (network) is not an end: the next one follows the gap.
    """
    scopes = parse_scopes(scopes or client.scopes)
    transport = transport or Transport()
    deadline = time.time() + timeout
    unanswered = None  # the last poll's transport failure, reported if the wait ends without an answer after it
    while True:
        with token_file.locked() as locked:
            flow = locked.read_device_flow()
            if flow is None:
                return _finished_elsewhere(locked, client, scopes)
            if time.time() >= flow.expires_at:
                locked.remove_device_flow()
                raise unanswered or token_error({"error": "expired"}, "device_token", flow.accounts_server)
            if time.time() >= flow.next_poll_at():
                answer, unanswered = _poll_device_flow(transport, client, flow)
                flow.last_poll_at, flow.polls = time.time(), flow.polls + 1
                if answer.get("access_token"):
                    record, replaced = _device_flow_tokens(locked, client, flow, answer, scopes, transport)
                    break
                _act_on_poll_answer(locked, flow, answer, transport)
        wake = min(flow.next_poll_at(), flow.expires_at)
        if wake > deadline:
            raise unanswered or DeviceFlowTimeoutError(
                "Nobody approved the user code %s within %d s (authorization_pending); it stays valid until %s. Fix: "
                "open %s, enter the code and press Accept, then run again: it waits for the same code."
                % (flow.user_code, timeout, format_time(flow.expires_at), flow.verification_url))
        time.sleep(max(0.0, wake - time.time()))
    return _revoke_replaced(client, record, replaced, transport)


def _finished_elsewhere(locked, client, scopes):
    """No pending flow: another process finished it (its tokens are there), or none was started."""
    record = _replaceable(locked)
    if record and record.client_id in (None, client.client_id) and not missing_scopes(record, scopes):
        return ExchangeResult(record, None, None, None)
    raise DeviceFlowError("No device flow is waiting for approval at %s. Fix: start one first (flow=device without "
                          "wait, or tools/zoho-crm-oauth-init.py --device)." % locked.token_file.device_flow_path)


def _poll_device_flow(transport, client, flow):
    """One poll: (Zoho's answer, None), or ({}, the TransportError) when none came (the network)."""
    fields = [("client_id", client.client_id), ("client_secret", client.client_secret),
              ("grant_type", "device_token"), ("code", flow.device_code)]
    try:
        return _accounts_answer(transport, flow.accounts_server + DEVICE_TOKEN_PATH, form=fields,
                                endpoint="device-flow"), None
    except TransportError as exc:
        return {}, exc


def _act_on_poll_answer(locked, flow, answer, transport):
    """Keep waiting (the flow's new state written), or raise the error that ends the flow."""
    error = str(answer.get("error") or "")
    if not answer or error == "authorization_pending":
        pass
    elif error == "slow_down":
        flow.poll_gap += DEVICE_SLOW_DOWN_STEP
    elif error == "other_dc":
        # Zoho documents user_location; one client reads dc instead.
        location = str(answer.get("user_location") or answer.get("dc") or "")
        flow.accounts_server = accounts_server_for_location(flow.accounts_server, location, transport)
        flow.location = location.lower()
    else:
        if error in ("access_denied", "expired", "invalid_code"):
            locked.remove_device_flow()  # over at Zoho: the next run starts a new one
        else:
            locked.write_device_flow(flow)  # e.g. a wrong client secret: fixed, the same code still works
        raise token_error(answer, "device_token", flow.accounts_server)
    locked.write_device_flow(flow)


def _device_flow_tokens(locked, client, flow, answer, scopes, transport):
    """Store the approved flow's tokens as after a code exchange; the flow is spent either way.
    Returns (the new record, the one it replaced or None)."""
    try:
        record = TokenRecord.from_token_response(answer, client, flow.accounts_server, code=flow.device_code,
                                                 location=flow.location)
        if not record.refresh_token:
            raise AuthorizationError("Zoho issued no refresh token for the device flow: it lacked access_type=offline "
                                     "and prompt=consent. Fix: run again (this project always asks for both); if it "
                                     "persists, report it.")
        replaced = _replaceable(locked)
        keep_new_tokens(locked, client, record, replaced, scopes, transport)
    finally:
        locked.remove_device_flow()
    return record, replaced


def accounts_server_for_location(current, location, transport):
    """The accounts server of the user's data center, after a poll of current answered other_dc
    with location. For Zoho's servers, DATA_CENTERS says; any other server is asked for its
    /oauth/serverinfo locations. The client secret goes there next, so only a Zoho accounts server
    or one on current's own origin is accepted (as token_endpoint_for does for pasted redirects)."""
    known = DATA_CENTERS.get(location.lower())
    if known and data_center_of(current):
        return known.accounts_url
    host = urlsplit(current).netloc
    answer = _accounts_answer(transport, current.rstrip("/") + SERVERINFO_PATH, method="GET", endpoint="serverinfo")
    locations = answer.get("locations") if isinstance(answer.get("locations"), dict) else {}
    server = str(locations.get(location) or locations.get(location.lower()) or "").rstrip("/")
    if not server:
        raise ConfigError("Zoho says the approving user's account lives in the data center %r, which %s does not list. "
                          "Fix: set the data center (zoho_crm_data_center) to the user's and run again."
                          % (location[:20], host))
    if not (data_center_of(server) or _origin(server) == _origin(current)):
        raise AuthorizationError("%s names an accounts server that is not Zoho's (%s) for the data center %r. Fix: "
                                 "set the data center (zoho_crm_data_center) to the user's and run again."
                                 % (host, urlsplit(server).netloc, location[:20]))
    return server


# --------------------------------------------------------------------------------------------
# The token record: what the token file holds.
# --------------------------------------------------------------------------------------------

def format_time(timestamp):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(timestamp)))


def parse_time(text):
    """The timestamp of a format_time text (UTC); ValueError (or TypeError) for anything else."""
    match = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$", text)
    if not match:
        raise ValueError("not a time like 2026-01-31T23:59:59Z: %r" % text[:40])
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError("not a time: %r" % text[:40])
    # Days since 1970-01-01 in the proleptic Gregorian calendar (the civil-from-days inverse).
    years = year - (month <= 2)
    era = years // 400
    day_of_era = (years - era * 400) * 365 + (years - era * 400) // 4 - (years - era * 400) // 100 + \
        (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + day_of_era - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second


def _expires_in_seconds(response):
    # Legacy responses give expires_in in milliseconds next to expires_in_sec.
    if response.get("expires_in_sec") is not None:
        return int(response["expires_in_sec"])
    return int(response.get("expires_in") or 3600)


class TokenRecord(object):
    """The token file's content: an access token with its expiry, api_domain and scopes; the
    refresh token that mints the next one (optional here: only a refresh needs it); where the
    tokens came from. from_json() and to_json() convert it from and to the file's JSON, keeping
    fields this code does not know; repr() shows fingerprints, never a token. source names the file
    a record was read from, for messages. refresher_dir is set in the agent's copy of a record whose
    refresh token a separate refresher keeps (for_agent())."""

    KNOWN_FIELDS = GUIDE_TOKEN_FIELDS + ("expires_at", "accounts_server", "data_center", "client_id",
                                         "code_sha256", "updated_at", "refresher_dir")

    def __init__(self, access_token, api_domain, expires_at=None, refresh_token=None, scopes=(), expires_in=None,
                 token_type="Bearer", accounts_server=None, data_center=None, client_id=None, code_sha256=None,
                 updated_at=None, extra=None, source=None, refresher_dir=None):
        self.access_token = access_token
        self.api_domain = api_domain
        self.expires_at = expires_at  # a timestamp, or None when unknown (the guide's script wrote none)
        self.refresh_token = refresh_token
        self.scopes = parse_scopes(scopes)
        self.expires_in = expires_in
        self.token_type = token_type
        self.accounts_server = accounts_server
        self.data_center = data_center
        self.client_id = client_id
        self.code_sha256 = code_sha256
        self.updated_at = updated_at
        self.extra = dict(extra or {})
        self.source = source
        self.refresher_dir = refresher_dir

    @classmethod
    def from_json(cls, data, path):
        """The record in a token file's JSON object; TokenFileError naming the file when it is not one."""
        missing = [key for key in ("access_token", "api_domain") if not isinstance(data.get(key), str)
                   or not data[key]]
        if missing:
            raise TokenFileError("The token file %s lacks %s. Fix: authorize again (provision.yml with "
                                 "zoho_crm_auth_code, or tools/zoho-crm-oauth-exchange.py)." % (path, ", ".join(missing)))
        require_secure_url(data["api_domain"], "The token file's api_domain", TokenFileError,
                           "authorize again: Zoho's token response names an https API domain.")
        try:
            expires = parse_time(data["expires_at"]) if data.get("expires_at") else None
        except (TypeError, ValueError):
            expires = None  # unreadable: refreshed on first use, then written well
        refresh_token = data.get("refresh_token")
        return cls(access_token=data["access_token"], api_domain=data["api_domain"], expires_at=expires,
                   refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
                   scopes=str(data.get("scope") or ""), expires_in=data.get("expires_in"),
                   token_type=data.get("token_type") or "Bearer", accounts_server=data.get("accounts_server"),
                   data_center=data.get("data_center"), client_id=data.get("client_id"),
                   code_sha256=data.get("code_sha256"), updated_at=data.get("updated_at"),
                   refresher_dir=data.get("refresher_dir"),
                   extra=dict((key, value) for key, value in data.items() if key not in cls.KNOWN_FIELDS),
                   source=path)

    @classmethod
    def from_token_response(cls, response, client, accounts_server, now=None, previous=None, code=None,
                            location=None):
        """The record after an exchange or a refresh (previous: the record refreshed). The data
        center comes from Zoho's accounts server, else the redirect's location, else the previous
        record, else the client-secret file."""
        now = time.time() if now is None else now
        expires_in = _expires_in_seconds(response)
        api_domain = response.get("api_domain") or (previous.api_domain if previous else None)
        if not api_domain:
            raise TransportError("Zoho's token response lacks api_domain. Fix: retry; if it persists, report it.")
        require_secure_url(api_domain, "The token response's api_domain", TransportError,
                           "check the accounts server URL; Zoho's API domains are https.")
        return cls(
            access_token=response["access_token"],
            api_domain=api_domain,
            expires_at=int(now + expires_in),
            refresh_token=response.get("refresh_token") or (previous.refresh_token if previous else None),
            scopes=response.get("scope") or (previous.scopes if previous else None) or client.scopes,
            expires_in=expires_in,
            token_type=response.get("token_type") or "Bearer",
            accounts_server=accounts_server,
            data_center=(data_center_of(accounts_server) or location or (previous.data_center if previous else None)
                         or client.data_center),
            client_id=client.client_id,
            code_sha256=code_digest(code) if code else (previous.code_sha256 if previous else None),
            updated_at=format_time(now),
            extra=previous.extra if previous else None, source=previous.source if previous else None)

    def to_json(self):
        """The file's JSON object: the guide's fields first, then the others in name order."""
        values = dict(self.extra)
        values.update(access_token=self.access_token, refresh_token=self.refresh_token, expires_in=self.expires_in,
                      api_domain=self.api_domain, token_type=self.token_type, scope=" ".join(self.scopes),
                      expires_at=format_time(self.expires_at) if self.expires_at is not None else None,
                      accounts_server=self.accounts_server, data_center=self.data_center, client_id=self.client_id,
                      code_sha256=self.code_sha256, updated_at=self.updated_at, refresher_dir=self.refresher_dir)
        keys = list(GUIDE_TOKEN_FIELDS) + sorted(key for key in values if key not in GUIDE_TOKEN_FIELDS)
        return dict((key, values[key]) for key in keys if values[key] is not None)

    def for_agent(self, refresher_dir):
        """The agent's copy: what a CRM call needs (the access token, its expiry, api_domain, scopes)
        and nothing that can mint another token: no refresh token, no client, no code's hash."""
        return TokenRecord(access_token=self.access_token, api_domain=self.api_domain, expires_at=self.expires_at,
                           scopes=self.scopes, expires_in=self.expires_in, token_type=self.token_type,
                           data_center=self.data_center, updated_at=self.updated_at, refresher_dir=refresher_dir)

    def require_fresh_agent_copy(self, rejected_access_token=None, now=None):
        """An agent's copy must carry a token the API has not refused, with more than AGENT_COPY_MIN_TTL
        seconds left; otherwise the refresher has stopped: RefresherStaleError, naming when it last
        wrote and how to check it."""
        left = self.seconds_left(now)
        if left > AGENT_COPY_MIN_TTL and self.access_token != rejected_access_token:
            return
        if self.access_token == rejected_access_token:
            state = "was refused by Zoho CRM"
        elif left > 0:
            state = "expires at %s (%d s left)" % (self.expires_at_text, left)
        else:
            state = "expired at %s" % (self.expires_at_text or "an unknown time")
        tool = os.path.join(self.refresher_dir, REFRESHER_TOOL)
        raise RefresherStaleError(
            "The access token in %s %s, and the refresher, which alone holds the refresh token, last wrote it at %s. "
            "Fix: as root, read its log (tail %s) and run it (python3 %s --credentials-dir %s --agent-token-file %s); "
            "check its cron entry." % (
                self.source, state, self.updated_at or "an unknown time",
                os.path.join(self.refresher_dir, REFRESHER_LOG_FILENAME), tool, self.refresher_dir, self.source))

    def seconds_left(self, now=None):
        if self.expires_at is None:
            return 0
        return self.expires_at - (time.time() if now is None else now)

    def needs_refresh(self, min_ttl=DEFAULT_MIN_TTL, now=None):
        """True when the access token expires within min_ttl seconds (or its expiry is unknown)."""
        return self.seconds_left(now) <= min_ttl

    @property
    def expires_at_text(self):
        return format_time(self.expires_at) if self.expires_at is not None else None

    def require_refresh_token(self):
        """The refresh token, which a refresh needs; TokenFileError when the record has none."""
        if not self.refresh_token:
            raise TokenFileError("The token file %s lacks refresh_token, which a refresh needs. Fix: authorize "
                                 "again (provision.yml with zoho_crm_auth_code, or tools/zoho-crm-oauth-exchange.py)."
                                 % (self.source or "(not written yet)"))
        return self.refresh_token

    def redacted(self):
        """What may be shown of a token record: no token, only fingerprints."""
        return {
            "api_domain": self.api_domain,
            "data_center": self.data_center,
            "accounts_server": self.accounts_server,
            "client_id": self.client_id,
            "scopes": list(self.scopes),
            "expires_at": self.expires_at_text,
            "access_token": fingerprint(self.access_token),
            "refresh_token": fingerprint(self.refresh_token),
        }

    def __repr__(self):
        view = self.redacted()
        return "TokenRecord(%s)" % ", ".join("%s=%r" % (key, view[key]) for key in (
            "api_domain", "expires_at", "scopes", "access_token", "refresh_token"))

    def __eq__(self, other):
        return isinstance(other, TokenRecord) and other.to_json() == self.to_json()

    def __ne__(self, other):
        return not self == other

    __hash__ = None


def redacted(record):
    """The redacted view of a record, {} for none (a missing or damaged file)."""
    return record.redacted() if record else {}


# --------------------------------------------------------------------------------------------
# The token file.
# --------------------------------------------------------------------------------------------

def _os_failure(exc, path):
    """An OSError met while using the credentials directory, as the error a user can act on. A
    call relative to a directory descriptor names a file by its name alone: it is path's sibling."""
    where = exc.filename if isinstance(exc.filename, str) and exc.filename else path
    return TokenFileError("Cannot use %s (%s). Fix: check the owner and mode of the credentials directory and its "
                          "files, and the free space; run as the agent's user (or root)."
                          % (os.path.join(os.path.dirname(path), where), exc.strerror or exc))


class TokenFile(object):
    """The token file: read and validated by anyone, written only through the handle locked()
    yields, which holds the exclusive lock (and is dead once the lock is released).

    The lock lives in a sidecar file (<name>.lock) because the token file itself is replaced on
    every write. Writers re-read after taking the lock, so a refresh another process just made is
    used instead of minting again. New files take the owner of the existing file, or else of the
    directory, so a refresh run as root never leaves the agent's user locked out.

    With agent_path (a separate refresher: this file is in its directory, unreadable by the agent),
    every record written is also written, in the same lock, as the agent's copy at agent_path
    (TokenRecord.for_agent: no refresh token), owned by the owner of agent_path's directory.

    Root works in directories the agent's user owns, so everything done under the lock goes through
    a descriptor of the directory (_open_directory): the credentials directory is opened once for
    the lock's whole hold, the agent copy's once per operation.
    """

    def __init__(self, path, mode=0o600, private=False, agent_path=None):
        """private: refuse to read a file that other users can read (the tools do; the module
        repairs the mode instead)."""
        self.path = os.path.abspath(path)
        self.agent_path = os.path.abspath(agent_path) if agent_path else None
        self.lock_path = self.path + ".lock"
        # A device flow waiting for approval, kept with the same owner, mode and lock (start_device_flow).
        self.device_flow_path = os.path.join(os.path.dirname(self.path), DEVICE_FLOW_FILENAME)
        self.mode = mode
        self.private = private

    def __repr__(self):
        return "TokenFile(%r)" % self.path

    def exists(self):
        return os.path.exists(self.path)

    def read(self, dir_fd=None):
        """The validated TokenRecord, or None when there is no file. dir_fd: the credentials
        directory's descriptor (the locked handle's)."""
        if not _lexists(self.path, dir_fd):
            return None
        return TokenRecord.from_json(_read_json_object(self.path, TokenFileError, "token file", self.private, dir_fd),
                                     self.path)

    def read_device_flow(self, discard_damaged=False, dir_fd=None):
        """The pending DeviceFlow, or None when there is none. A damaged file raises TokenFileError,
        or with discard_damaged reads as None (a new flow replaces it)."""
        if not _lexists(self.device_flow_path, dir_fd, follow_symlinks=True):
            return None
        try:
            return DeviceFlow.from_json(_read_json_object(self.device_flow_path, TokenFileError, "pending device flow",
                                                          self.private, dir_fd), self.device_flow_path)
        except TokenFileError:
            if discard_damaged:
                return None
            raise

    @contextlib.contextmanager
    def locked(self, timeout=LOCK_TIMEOUT):
        """Hold the exclusive lock; yields the LockedTokenFile that may write."""
        directory = os.path.dirname(self.path)
        try:
            dir_fd = _open_directory(directory)
        except (FileNotFoundError, NotADirectoryError):
            raise TokenFileError("The credentials directory %s does not exist. Fix: run the provisioning "
                                 "playbook." % directory)
        except OSError as exc:
            raise _os_failure(exc, directory)
        try:
            fd = self._open_lock(dir_fd)
            handle = LockedTokenFile(self, dir_fd)
            try:
                self._take(fd, timeout)
                handle._remove_stale_temporary_files()
                yield handle
            finally:
                handle._held = False
                os.close(fd)  # closing the descriptor releases the lock
        finally:
            os.close(dir_fd)

    def _open_lock(self, dir_fd):
        """The lock file's descriptor in the directory dir_fd: created there (O_EXCL, which never
        follows a link) or an existing regular file of its own; as root, given the token file's owner."""
        try:
            try:
                fd = os.open(os.path.basename(self.lock_path), os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             0o600, dir_fd=dir_fd)
            except FileExistsError:
                fd = _open_planted_safe(self.lock_path, os.O_RDWR, TokenFileError, "lock file", dir_fd)
        except OSError as exc:
            raise _os_failure(exc, self.lock_path)
        try:
            owner = self.owner_for_new_files(dir_fd)
            if owner and os.geteuid() == 0:
                os.fchown(fd, *owner)
        except OSError as exc:
            os.close(fd)
            raise _os_failure(exc, self.lock_path)
        return fd

    def _take(self, fd, timeout):
        import fcntl  # here, not at the top: an agent call that finds its token valid never locks
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if time.monotonic() >= deadline:
                    raise TokenFileError("Another process has held %s for %d s. Fix: look for a stuck refresh "
                                         "(ps aux | grep zoho-crm) and retry." % (self.lock_path, timeout))
                time.sleep(0.05)
        except OSError as exc:
            raise _os_failure(exc, self.lock_path)

    def owner_for_new_files(self, dir_fd):
        """(uid, gid) for new files in the credentials directory dir_fd, or None to leave them to the process."""
        # Only a regular file lends its owner: not a link planted in its place, nor what it points at.
        try:
            status = os.stat(os.path.basename(self.path), dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            status = None
        if status is None or not stat.S_ISREG(status.st_mode):
            status = os.fstat(dir_fd)
        return _owner_unless_mine(status)

    @staticmethod
    def agent_owner(dir_fd):
        """(uid, gid) of the agent copy's directory dir_fd (agent_directory()), or None when that is this process's."""
        return _owner_unless_mine(os.fstat(dir_fd))

    @contextlib.contextmanager
    def agent_directory(self):
        """A descriptor of the agent copy's directory (_open_directory), or None when it does not
        exist. The directory itself must not be a symbolic link: followed, a link could name the
        refresher's own directory, whose token file the copy would replace."""
        directory = os.path.dirname(self.agent_path)
        try:
            fd = _open_directory(directory, follow_last=False)
        except FileNotFoundError:
            fd = None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise TokenFileError("%s is not a directory (a symlink?), so the agent's token file was not written. "
                                     "Fix: make it the agent's credentials directory again (run provision.yml)."
                                     % (exc.filename or directory))
            raise _os_failure(exc, self.agent_path)
        try:
            yield fd
        finally:
            if fd is not None:
                os.close(fd)

    def agent_copy_current(self, record):
        """Whether the agent's copy is record's (content, mode and owner); True when there is none to keep."""
        if not self.agent_path:
            return True
        with self.agent_directory() as dir_fd:
            if dir_fd is None:
                return False
            current = self.read_agent_copy(dir_fd)
            if current is None or current.to_json() != record.for_agent(os.path.dirname(self.path)).to_json():
                return False
            status = os.stat(os.path.basename(self.agent_path), dir_fd=dir_fd, follow_symlinks=False)
            owner = self.agent_owner(dir_fd) or (os.geteuid(), os.getegid())
        return status.st_mode & 0o7777 == self.mode and (status.st_uid, status.st_gid) == owner

    def read_agent_copy(self, dir_fd):
        """The agent's copy in its directory dir_fd as it is (None when missing or damaged: the next write replaces it)."""
        try:
            return TokenRecord.from_json(_read_json_object(self.agent_path, TokenFileError, "token file",
                                                           dir_fd=dir_fd), self.agent_path)
        except TokenFileError:
            return None

    def remove_lock(self):
        """Delete the lock file, once the token file is gone and the lock released: a process still
        waiting on the old lock then finds no tokens, which is the truth."""
        try:
            dir_fd = _open_directory(os.path.dirname(self.lock_path))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _os_failure(exc, self.lock_path)
        try:
            os.unlink(os.path.basename(self.lock_path), dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _os_failure(exc, self.lock_path)
        finally:
            os.close(dir_fd)


def _owner_unless_mine(status):
    if (status.st_uid, status.st_gid) == (os.geteuid(), os.getegid()):
        return None
    return status.st_uid, status.st_gid


class LockedTokenFile(object):
    """The token file while this process holds its lock: the only way to write or remove it.
    dir_fd: the credentials directory's descriptor, which every read and write here goes through."""

    def __init__(self, token_file, dir_fd):
        self.token_file = token_file
        self.path = token_file.path
        self._dir_fd = dir_fd
        self._held = True

    def __repr__(self):
        return "LockedTokenFile(%r)" % self.path

    def read(self):
        return self.token_file.read(self._dir_fd)

    def read_device_flow(self, discard_damaged=False):
        return self.token_file.read_device_flow(discard_damaged, self._dir_fd)

    def write_device_flow(self, flow):
        self._require_held()
        self._replace(self._dir_fd, self.token_file.device_flow_path, flow.to_json())

    def remove_device_flow(self):
        """Delete the pending flow; True when there was one."""
        self._require_held()
        return self._remove(self._dir_fd, self.token_file.device_flow_path)

    def _require_held(self):
        if not self._held:
            raise RuntimeError("the lock of %s was released: take it again (TokenFile.locked)" % self.path)

    def _remove_stale_temporary_files(self):
        # Writers hold the lock, so a temporary file seen by the lock's new holder belongs to a
        # writer that was killed between creating it and renaming it.
        prefixes = tuple(_temporary_prefix(path) for path in (self.path, self.token_file.device_flow_path))
        self._remove_temporary_files(self._dir_fd, self.path, prefixes)
        if self.token_file.agent_path:
            with self.token_file.agent_directory() as dir_fd:
                if dir_fd is not None:
                    self._remove_temporary_files(dir_fd, self.token_file.agent_path,
                                                 (_temporary_prefix(self.token_file.agent_path),))

    @staticmethod
    def _remove_temporary_files(dir_fd, path, prefixes):
        """Delete the temporary files of path (in the directory dir_fd) whose names start with one of prefixes."""
        try:
            for name in os.listdir(dir_fd):
                if name.startswith(prefixes) and name.endswith(".tmp"):
                    try:
                        os.unlink(name, dir_fd=dir_fd)
                    except FileNotFoundError:
                        pass
        except OSError as exc:
            raise _os_failure(exc, path)

    def write(self, record):
        """Replace the token file with record atomically, then the agent's copy, if there is one."""
        self._require_held()
        self._replace(self._dir_fd, self.path, record.to_json())
        if self.token_file.agent_path:
            self._write_agent_copy(record)

    def publish(self, record):
        """Bring the agent's copy in line with record (the stored one) when it differs in content,
        mode or owner; True when it was written. Without an agent copy, nothing to do."""
        self._require_held()
        if self.token_file.agent_copy_current(record):
            return False
        self._write_agent_copy(record)
        return True

    def _write_agent_copy(self, record):
        agent_path = self.token_file.agent_path
        with self.token_file.agent_directory() as dir_fd:
            if dir_fd is None:
                raise TokenFileError("The agent's credentials directory %s does not exist, so the agent's token file "
                                     "was not written. Fix: run the provisioning playbook (ansible-playbook "
                                     "playbooks/provision.yml)." % os.path.dirname(agent_path))
            self._replace(dir_fd, agent_path, record.for_agent(os.path.dirname(self.path)).to_json(),
                          owner=self.token_file.agent_owner(dir_fd))

    def _replace(self, dir_fd, path, value, owner=False):
        """Replace path, a file of the directory dir_fd, with value as JSON atomically: a temporary
        file in that directory, 0600 from the start, then the token file's mode and owner (or owner:
        (uid, gid), None for this process's), fsync, rename, fsync of the directory."""
        content = (json.dumps(value, indent=2) + "\n").encode("utf-8")
        temp_name = None
        try:
            if owner is False:
                owner = self.token_file.owner_for_new_files(dir_fd)
            fd, temp_name = _create_temporary_file(dir_fd, _temporary_prefix(path))
            try:
                os.fchmod(fd, self.token_file.mode)
                if owner and os.geteuid() == 0:
                    os.fchown(fd, *owner)
                _write_all(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp_name, os.path.basename(path), src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            temp_name = None
            os.fsync(dir_fd)
        except OSError as exc:
            raise _os_failure(exc, path)
        finally:
            if temp_name is not None:
                try:
                    os.unlink(temp_name, dir_fd=dir_fd)
                except OSError:
                    pass

    def remove(self):
        """Delete the token file (and the agent's copy); True when there was one."""
        self._require_held()
        if self.token_file.agent_path:
            with self.token_file.agent_directory() as dir_fd:
                if dir_fd is not None:
                    self._remove(dir_fd, self.token_file.agent_path)
        return self._remove(self._dir_fd, self.path)

    @staticmethod
    def _remove(dir_fd, path):
        """Delete path, a file of the directory dir_fd; True when there was one."""
        try:
            os.unlink(os.path.basename(path), dir_fd=dir_fd)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _os_failure(exc, path)
        try:
            os.fsync(dir_fd)
        except OSError as exc:
            raise _os_failure(exc, path)
        return True


def move_tokens(source, destination):
    """Move a token record with its refresh token from source to destination (TokenFile objects),
    unchanged and without calling Zoho: switching a separate refresher on or off. Under both locks
    (source's first). The source is removed unless it is the destination's agent copy, which the
    write has just replaced. Returns the record moved, or None when source holds no refresh token
    (nothing to move: absent, an agent copy) or destination already holds one."""
    with source.locked() as from_locked:
        record = _replaceable(from_locked)
        if record is None or not record.refresh_token:
            return None
        with destination.locked() as to_locked:
            current = _replaceable(to_locked)
            if current is not None and current.refresh_token:
                return None
            to_locked.write(record)
        if source.path != destination.agent_path:
            from_locked.remove()
    if source.path != destination.agent_path:
        source.remove_lock()
    return record


def _temporary_prefix(path):
    return "." + os.path.basename(path) + "."


def _create_temporary_file(dir_fd, prefix):
    """(fd, name) of a new file in the directory dir_fd that nobody else can have opened (O_EXCL,
    which never follows a link), 0600 from the start."""
    for _attempt in range(100):
        name = "%s%s.tmp" % (prefix, os.urandom(6).hex())
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name")


def _write_all(fd, content):
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view):]


def refresh_token_file(token_file, client, transport=None, min_ttl=DEFAULT_MIN_TTL, force=False,
                       rejected_access_token=None, now=None):
    """Refresh the stored access token when it expires within min_ttl, when forced, or when the
    API just rejected rejected_access_token. Returns (record, refreshed).

    Under the lock the file is read again: when another process has refreshed meanwhile, its token
    is returned and Zoho is not called. That keeps any number of processes to one mint.
    """
    with token_file.locked() as locked:
        record = locked.read()
        if record is None:
            raise TokenFileError("No token file at %s. Fix: authorize first (provision.yml with zoho_crm_auth_code, "
                                 "or tools/zoho-crm-oauth-exchange.py)." % token_file.path)
        replaced = rejected_access_token is not None and record.access_token != rejected_access_token
        stale = record.needs_refresh(min_ttl, now) or rejected_access_token == record.access_token
        if replaced or not (force or stale):
            locked.publish(record)
            return record, False
        refreshed = refresh_access_token(client, record, transport=transport, now=now)
        locked.write(refreshed)
        return refreshed, True

# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Zoho OAuth 2.0 for Zoho CRM, and the token file that every tool shares.

The one implementation of Zoho's OAuth protocol in this project. The Ansible module imports it
as module_utils; the role deploys a byte-identical copy next to the agent's tools. It uses the
standard library only, because the cron refresh runs on a VPS's bare python3 (3.8 or newer).

Zoho's rules that shape this file (see the project's zoho-api reference):
- the token endpoint reports errors as HTTP 200 with {"error": ...}: success is the presence of
  access_token, never the status code;
- a refresh never returns a new refresh token: the stored one is kept;
- access tokens may be minted only 10 times per refresh token per 10 minutes, so processes
  share one token file and refresh under a lock, re-reading it first;
- the accounts server and the API host depend on the user's data center.

No message, repr or exception text produced here contains a secret.
"""

import argparse
import calendar
import contextlib
import errno
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import ssl
import sys
import tempfile
import time
import traceback
from collections import namedtuple
from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from urllib.request import Request, urlopen

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
DEFAULT_TIMEOUT = 30
# Refresh this long before expiry, so a request never starts with a token about to die.
DEFAULT_MIN_TTL = 300
# Long enough for the slowest holder: an exchange, the proof read and a revoke, each up to DEFAULT_TIMEOUT.
LOCK_TIMEOUT = 120

USER_AGENT = "zoho-crm-provisioning"
TOKEN_PATH = "/oauth/v2/token"
AUTH_PATH = "/oauth/v2/auth"

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
CLIENT_SECRET_FIELDS = ("client_id", "client_secret", "redirect_uri", "auth_uri", "token_uri")


# --------------------------------------------------------------------------------------------
# Errors: each carries a one-line message that names the likely cause and the fix.
# --------------------------------------------------------------------------------------------

class ZohoError(Exception):
    """Base of every error raised here. str() is one line, safe to print and log."""

    code = "error"
    retryable = False

    def __init__(self, message, code=None):
        super(ZohoError, self).__init__(message)
        if code is not None:
            self.code = code


class ConfigError(ZohoError):
    """The client-secret file or an argument is missing or malformed."""
    code = "config"


class TokenFileError(ZohoError):
    """The token file is missing, unreadable or not a token file."""
    code = "token_file"


class AuthorizationError(ZohoError):
    """The pasted code or redirect URL cannot be used (denied, wrong state, malformed)."""
    code = "authorization"


class TransportError(ZohoError):
    """The server could not be reached or answered something that is not Zoho's JSON."""
    code = "transport"
    retryable = True


class OAuthError(ZohoError):
    """The accounts server refused a token request (HTTP 200 with {"error": ...})."""


class InvalidCodeError(OAuthError):
    code = "invalid_code"


class InvalidClientError(OAuthError):
    code = "invalid_client"


class InvalidClientSecretError(OAuthError):
    code = "invalid_client_secret"


class InvalidRedirectUriError(OAuthError):
    code = "invalid_redirect_uri"


class TokenThrottledError(OAuthError):
    """Zoho's "Access Denied": more than 10 access tokens minted in 10 minutes."""
    code = "Access Denied"


class ApiError(ZohoError):
    """A Zoho CRM API call failed. Carries the HTTP status, Zoho's code and details."""

    def __init__(self, message, code=None, status=None, details=None):
        super(ApiError, self).__init__(message, code)
        self.status = status
        self.details = details or {}


class InvalidTokenError(ApiError):
    code = "INVALID_TOKEN"


class ScopeMismatchError(ApiError):
    code = "OAUTH_SCOPE_MISMATCH"

    def __init__(self, message, missing_scopes=(), **kwargs):
        super(ScopeMismatchError, self).__init__(message, **kwargs)
        self.missing_scopes = tuple(missing_scopes)


class PermissionDeniedError(ApiError):
    code = "NO_PERMISSION"


class RateLimitError(ApiError):
    code = "TOO_MANY_REQUESTS"
    retryable = True


class ServerError(ApiError):
    code = "INTERNAL_ERROR"
    retryable = True


def _context_hint(grant):
    if grant == "refresh_token":
        return "the refresh token"
    return "the grant code"


def token_error(body, grant, accounts_server):
    """The typed error for a token-endpoint response without access_token."""
    error = str(body.get("error") or "no access_token in the response")
    host = urlsplit(accounts_server).netloc or accounts_server
    if error == "invalid_code" and grant == "refresh_token":
        return InvalidCodeError(
            "Zoho rejected the refresh token (invalid_code): it was revoked (password reset, Connected Apps, "
            "revoke.yml) or evicted by a 21st authorization of this client. Fix: authorize again with a new code.")
    if error == "invalid_code":
        return InvalidCodeError(
            "Zoho rejected the grant code (invalid_code): it expired (redirect codes live 2-3 minutes, Self Client "
            "codes up to 10), was already used, or belongs to another data center. Fix: generate a new code and "
            "exchange it at once.")
    if error == "invalid_client":
        return InvalidClientError(
            "Zoho does not know this client at %s (invalid_client): the client ID is wrong, or the account lives "
            "in another data center. Fix: check client_id and set the data center (us, eu, in, au, jp, ca, sa, cn) "
            "that your Zoho account uses." % host)
    if error == "invalid_client_secret":
        return InvalidClientSecretError(
            "Zoho rejected the client secret at %s (invalid_client_secret). Fix: copy the secret again from the "
            "API console of this data center (secrets can differ per data center)." % host)
    if error == "invalid_redirect_uri":
        return InvalidRedirectUriError(
            "Zoho rejected the redirect URI (invalid_redirect_uri): it differs from the one registered for the "
            "client. Fix: make redirect_uri in the client-secret file equal the API console's.")
    if error.lower() == "access denied":
        return TokenThrottledError(
            "Zoho refused to mint another access token (Access Denied): more than 10 were requested for %s in 10 "
            "minutes. Fix: wait 10 minutes; make sure every process uses the shared token file instead of "
            "refreshing on its own." % _context_hint(grant))
    return OAuthError(
        "Zoho's accounts server %s refused the %s request (%s). Fix: check the client ID, secret and data "
        "center." % (host, grant.replace("_", " "), error[:80]), code=error[:80])


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


# Exit statuses of the tools in workspace/tools, so that cron, Ansible and agents can act on the kind
# of failure without parsing text. argparse itself exits with 2 on a bad command line.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 3
EXIT_REAUTHORIZE = 4
EXIT_RETRY_LATER = 5


def exit_status(error):
    """The exit status for a ZohoError: retry later, authorize again, fix the files, or other."""
    if error.retryable or isinstance(error, TokenThrottledError):
        return EXIT_RETRY_LATER
    if isinstance(error, (InvalidCodeError, AuthorizationError, InvalidTokenError, ScopeMismatchError)):
        return EXIT_REAUTHORIZE
    if isinstance(error, (ConfigError, TokenFileError, InvalidClientError, InvalidClientSecretError,
                          InvalidRedirectUriError)):
        return EXIT_CONFIG
    return EXIT_FAILED


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the tools' error convention: one line naming the cause and the fix, exit 2
    (argparse's own exits with usage lines first, which an agent reading stderr must then skip)."""

    def error(self, message):
        self.exit(2, "Error: %s. Fix: see %s --help.\n" % (message, self.prog))


def run_tool(main, argv=None):
    """Run a tool's main(argv), which returns an exit status. Failures become one line on stderr
    and an exit status, never a traceback: a traceback's messages could quote a secret."""
    # Whatever umask cron or a shell hands over, what a tool creates (lock, log) is the user's alone.
    os.umask(0o077)
    for stream in (sys.stdout, sys.stderr):
        # The guide's check marks must not crash a tool whose terminal or log is not UTF-8.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        return main(argv)
    except ZohoError as exc:
        sys.stderr.write("Error: %s\n" % exc)
        return exit_status(exc)
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not a failure, and nothing more can be written.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        sys.stderr.write("Error: %s. Fix: check the owner, mode and free space of the credentials directory.\n"
                         % exc)
        return EXIT_CONFIG
    except Exception as exc:  # the last resort that keeps tracebacks away from users and logs
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        sys.stderr.write("Error: unexpected %s at %s:%d. Fix: report it with the command that was run.\n" % (
            type(exc).__name__, os.path.basename(frame.filename), frame.lineno))
        return EXIT_FAILED


# --------------------------------------------------------------------------------------------
# Configuration: data centers, the client-secret file, where the files live.
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


def default_credentials_dir():
    """ZOHO_CRM_CREDENTIALS_DIR, else $OPENCLAW_STATE_DIR/credentials, else <home>/credentials
    found from this file's place in <home>/workspace/tools."""
    explicit = os.environ.get("ZOHO_CRM_CREDENTIALS_DIR")
    if explicit:
        return explicit
    state_dir = os.environ.get("OPENCLAW_STATE_DIR")
    if state_dir:
        return os.path.join(state_dir, "credentials")
    tools_dir = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(os.path.dirname(os.path.dirname(tools_dir)), "credentials")


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


def _read_json_object(path, error_class, what, private=False):
    try:
        with open(path, "rb") as handle:
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


def new_state():
    return secrets.token_urlsafe(16)


def authorization_state(client, token_path):
    """The state of every authorization URL for one token file, derived from the client secret:
    the same on every run of the module and the init tool, unguessable without the secret, and
    checkable when a redirect URL is pasted without storing anything."""
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
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def code_digest(code):
    """What the token file stores about the code it came from: enough to recognise a re-run."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def mask(token):
    """The guide's masked form, e.g. 1000.abcdef..."""
    return (token[:11] + "...") if token else ""


# --------------------------------------------------------------------------------------------
# The token endpoint.
# --------------------------------------------------------------------------------------------

def _ssl_context(validate_certs):
    if validate_certs:
        return ssl.create_default_context()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _send(request, timeout, validate_certs):
    """(status, body bytes) of one HTTP exchange; TransportError when there is none."""
    try:
        response = urlopen(request, timeout=timeout, context=_ssl_context(validate_certs))
        return response.status, response.read()
    except HTTPError as exc:
        return exc.code, exc.read()
    except (URLError, OSError, ValueError, HTTPException) as exc:  # HTTPException: e.g. a cut-off body
        reason = getattr(exc, "reason", None) or exc
        raise TransportError("Cannot reach %s (%s). Fix: check the network and DNS, and the server URL."
                             % (urlsplit(request.full_url).netloc, str(reason)[:120]))


def _json_object(raw):
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def post_form(url, fields, timeout=DEFAULT_TIMEOUT, validate_certs=True):
    """POST fields as an urlencoded body (never the query string: it ends up in server logs) and
    return (status, decoded JSON object or None)."""
    request = Request(url, data=urlencode(fields).encode("ascii"), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    })
    status, raw = _send(request, timeout, validate_certs)
    body = _json_object(raw)
    if body is None and status != 200:
        raise TransportError("%s answered HTTP %s without JSON. Fix: retry later; check the accounts server URL."
                             % (urlsplit(url).netloc, status))
    return status, body


def probe_api(record, timeout=DEFAULT_TIMEOUT, validate_certs=True):
    """Read one record id with the record's access token, from the first module its scopes allow:
    proof that new tokens work before they replace old ones. Raises the CRM's typed error."""
    granted = parse_scopes(record.get("scope") or "")
    # Not Notes: listing all notes is for admins only (403 NOT_SUPPORTED otherwise).
    modules = [scope.split(".")[2] for scope in granted
               if re.match(r"(?i)^ZohoCRM\.modules\.[a-z_]+\.(READ|ALL)$", scope)
               and scope.split(".")[2].lower() != "notes"]
    if not modules:
        return
    path = "/crm/v8/%s?fields=id&per_page=1" % modules[0].title()
    request = Request(record["api_domain"].rstrip("/") + path, method="GET", headers={
        "Authorization": "Zoho-oauthtoken " + record["access_token"],
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    })
    status, raw = _send(request, timeout, validate_certs)
    if status not in (200, 204):
        raise api_error(status, _json_object(raw), "GET", path, granted)


def request_tokens(token_url, fields, grant, timeout=DEFAULT_TIMEOUT, validate_certs=True):
    """One token-endpoint call; returns the response when it carries an access token."""
    _status, body = post_form(token_url, fields, timeout=timeout, validate_certs=validate_certs)
    if body is None:
        raise TransportError("%s answered without JSON. Fix: retry later." % urlsplit(token_url).netloc)
    if not body.get("access_token"):
        raise token_error(body, grant, _accounts_base(token_url))
    return body


def exchange_code(client, authorization, timeout=DEFAULT_TIMEOUT, validate_certs=True, now=None):
    """Exchange a grant code for tokens; returns the new token record (not yet written)."""
    accounts_server, token_url = token_endpoint_for(client, authorization)
    fields = [("grant_type", "authorization_code"), ("client_id", client.client_id),
              ("client_secret", client.client_secret), ("code", authorization.code)]
    # Redirect-issued codes must name the same redirect URI; Self Client codes have none, and Zoho
    # ignores it for them.
    # (the official SDK sends it too).
    fields.append(("redirect_uri", client.redirect_uri))
    response = request_tokens(token_url, fields, "authorization_code", timeout, validate_certs)
    if not response.get("refresh_token"):
        raise AuthorizationError("Zoho issued no refresh token: the authorization lacked access_type=offline "
                                 "and prompt=consent. Fix: use the authorization URL this tool prints.")
    return token_record(response, client, accounts_server, now=now, code=authorization.code,
                        location=authorization.location)


def refresh_access_token(client, record, timeout=DEFAULT_TIMEOUT, validate_certs=True, now=None):
    """Mint a new access token; the refresh token is kept (Zoho never rotates it)."""
    accounts_server = accounts_server_of(record, client)
    fields = [("grant_type", "refresh_token"), ("client_id", client.client_id),
              ("client_secret", client.client_secret), ("refresh_token", record["refresh_token"])]
    response = request_tokens(accounts_server + TOKEN_PATH, fields, "refresh_token", timeout, validate_certs)
    return token_record(response, client, accounts_server, now=now, previous=record)


def accounts_server_of(record, client):
    """Where a token record's tokens live. Files written by the manual guide's script do not say,
    so the client-secret file's server is assumed (client may be None when there is none)."""
    if record.get("accounts_server"):
        return record["accounts_server"]
    if client is None:
        raise ConfigError("The token file does not name the accounts server that issued it, and there is no "
                          "client-secret file to take it from. Fix: restore the client-secret file (run the "
                          "provisioning playbook), or revoke the app under Connected Apps in Zoho Accounts.")
    return client.accounts_server


def missing_scopes(record, wanted):
    """The wanted scopes that a token record's scopes do not cover."""
    granted = parse_scopes(record.get("scope") or "")
    return [scope for scope in parse_scopes(wanted) if not scope_satisfied(scope, granted)]


ExchangeResult = namedtuple("ExchangeResult", "record replaced revoked revoke_error")


def store_exchanged_tokens(token_file, client, authorization, scopes=None, timeout=DEFAULT_TIMEOUT,
                           validate_certs=True):
    """Exchange a grant code and store its tokens, under the token file's lock.

    Into an empty (or unreadable) file the new tokens go as they are. When they would replace
    stored tokens, they must first carry the wanted scopes and read the CRM; if not, the new
    refresh token is revoked (it would occupy one of Zoho's 20 slots), the file is left as it
    was, and the error is raised. Once the new file is written, the replaced refresh token is
    revoked; a failure there is returned in revoke_error rather than raised, since the new tokens
    are in place.
    """
    with token_file.locked():
        try:
            replaced = token_file.read()
        except TokenFileError:
            replaced = None  # damaged beyond use: nothing worth keeping
        record = exchange_code(client, authorization, timeout=timeout, validate_certs=validate_certs)
        if replaced:
            try:
                missing = missing_scopes(record, scopes or client.scopes)
                if missing:
                    raise AuthorizationError(
                        "The new code's tokens lack %s, so the stored tokens were kept. Fix: generate a code "
                        "for all the scopes (%s)." % (", ".join(missing), ",".join(scopes or client.scopes)))
                probe_api(record, timeout=timeout, validate_certs=validate_certs)
            except ZohoError:
                with contextlib.suppress(ZohoError):
                    revoke_refresh_token(accounts_server_of(record, client), record["refresh_token"],
                                         timeout=timeout, validate_certs=validate_certs)
                raise
        token_file.write(record)
    revoked, revoke_error = None, None
    if replaced and replaced["refresh_token"] != record["refresh_token"]:
        try:
            revoked = revoke_refresh_token(accounts_server_of(replaced, client), replaced["refresh_token"],
                                           timeout=timeout, validate_certs=validate_certs)
        except ZohoError as exc:
            revoke_error = exc
    return ExchangeResult(record, replaced, revoked, revoke_error)


def revoke_refresh_token(accounts_server, refresh_token, timeout=DEFAULT_TIMEOUT, validate_certs=True):
    """Revoke at Zoho. True when revoked now, False when Zoho no longer knows the token."""
    status, body = post_form(accounts_server.rstrip("/") + TOKEN_PATH + "/revoke", [("token", refresh_token)],
                             timeout=timeout, validate_certs=validate_certs)
    if status == 200 and body and body.get("status") == "success":
        return True
    if status == 400:
        return False
    host = urlsplit(accounts_server).netloc
    raise TransportError("%s answered the revoke with HTTP %s. Fix: retry later; if it persists, revoke the "
                         "client under Connected Apps in Zoho Accounts." % (host, status))


# --------------------------------------------------------------------------------------------
# Token records and the token file.
# --------------------------------------------------------------------------------------------

def format_time(timestamp):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(timestamp)))


def parse_time(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def _expires_in_seconds(response):
    # Legacy responses give expires_in in milliseconds next to expires_in_sec.
    if response.get("expires_in_sec") is not None:
        return int(response["expires_in_sec"])
    return int(response.get("expires_in") or 3600)


def token_record(response, client, accounts_server, now=None, previous=None, code=None, location=None):
    """The token file's content after an exchange or a refresh. The data center comes from Zoho's
    accounts server, else the redirect's location, else the client-secret file."""
    now = time.time() if now is None else now
    previous = previous or {}
    expires_in = _expires_in_seconds(response)
    scope = response.get("scope") or previous.get("scope") or " ".join(client.scopes)
    record = {
        "access_token": response["access_token"],
        "refresh_token": response.get("refresh_token") or previous.get("refresh_token"),
        "expires_in": expires_in,
        "api_domain": response.get("api_domain") or previous.get("api_domain"),
        "token_type": response.get("token_type") or "Bearer",
        "scope": " ".join(parse_scopes(scope)),
        "expires_at": format_time(now + expires_in),
        "accounts_server": accounts_server,
        "data_center": (data_center_of(accounts_server) or location or previous.get("data_center")
                        or client.data_center),
        "client_id": client.client_id,
        "code_sha256": code_digest(code) if code else previous.get("code_sha256"),
        "updated_at": format_time(now),
    }
    if not record["refresh_token"]:
        raise TokenFileError("No refresh token in the response nor in the token file. Fix: authorize again.")
    if not record["api_domain"]:
        raise TransportError("Zoho's token response lacks api_domain. Fix: retry; if it persists, report it.")
    require_secure_url(record["api_domain"], "The token response's api_domain", TransportError,
                       "check the accounts server URL; Zoho's API domains are https.")
    return record


def expires_at(record):
    """Expiry as a timestamp; 0 for a file without expires_at (e.g. written by the manual guide's
    script), so such tokens refresh on first use."""
    try:
        return parse_time(record["expires_at"])
    except (KeyError, TypeError, ValueError):
        return 0


def needs_refresh(record, min_ttl=DEFAULT_MIN_TTL, now=None):
    now = time.time() if now is None else now
    return expires_at(record) - now <= min_ttl


def redacted(record):
    """What may be shown of a token record: no token, only fingerprints."""
    if not record:
        return {}
    return {
        "api_domain": record.get("api_domain"),
        "data_center": record.get("data_center"),
        "accounts_server": record.get("accounts_server"),
        "client_id": record.get("client_id"),
        "scopes": list(parse_scopes(record.get("scope") or "")),
        "expires_at": record.get("expires_at"),
        "access_token": fingerprint(record.get("access_token")),
        "refresh_token": fingerprint(record.get("refresh_token")),
    }


class TokenFile:
    """The token file: read and validate, and replace it atomically under an exclusive lock.

    The lock lives in a sidecar file (<name>.lock) because the token file itself is replaced on
    every write. Writers re-read after taking the lock, so a refresh another process just made is
    used instead of minting again. New files take the owner of the existing file, or else of the
    directory, so a refresh run as root never leaves the agent's user locked out.
    """

    def __init__(self, path, mode=0o600, private=False):
        """private: refuse to read a file that other users can read (the tools do; the module
        repairs the mode instead)."""
        self.path = os.path.abspath(path)
        self.lock_path = self.path + ".lock"
        self.mode = mode
        self.private = private

    def __repr__(self):
        return "TokenFile(%r)" % self.path

    def exists(self):
        return os.path.exists(self.path)

    def read(self):
        """The validated record, or None when there is no file."""
        if not os.path.exists(self.path):
            return None
        record = _read_json_object(self.path, TokenFileError, "token file", self.private)
        missing = [key for key in ("access_token", "refresh_token", "api_domain") if not record.get(key)]
        if missing:
            raise TokenFileError("The token file %s lacks %s. Fix: authorize again (provision.yml with "
                                 "zoho_crm_auth_code, or tools/zoho-crm-oauth-exchange.py)." % (
                                     self.path, ", ".join(missing)))
        require_secure_url(str(record["api_domain"]), "The token file's api_domain", TokenFileError,
                           "authorize again: Zoho's token response names an https API domain.")
        return record

    def _owner(self):
        """(uid, gid) for new files, or None to leave them to the process."""
        reference = self.path if os.path.exists(self.path) else os.path.dirname(self.path)
        stat = os.stat(reference)
        if (stat.st_uid, stat.st_gid) == (os.geteuid(), os.getegid()):
            return None
        return stat.st_uid, stat.st_gid

    @contextlib.contextmanager
    def locked(self, timeout=LOCK_TIMEOUT):
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            raise TokenFileError("The credentials directory %s does not exist. Fix: run the provisioning "
                                 "playbook." % directory)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            owner = self._owner()
            if owner and os.geteuid() == 0:
                os.fchown(fd, *owner)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except (IOError, OSError) as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise TokenFileError("Another process has held %s for %d s. Fix: look for a stuck "
                                             "refresh (ps aux | grep zoho-crm) and retry."
                                             % (self.lock_path, timeout))
                    time.sleep(0.05)
            self._remove_stale_temporary_files()
            yield self
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _temporary_prefix(self):
        return "." + os.path.basename(self.path) + "."

    def _remove_stale_temporary_files(self):
        # Writers hold the lock, so a temporary file seen by the lock's new holder belongs to a
        # writer that was killed between creating it and renaming it.
        directory = os.path.dirname(self.path)
        for name in os.listdir(directory):
            if name.startswith(self._temporary_prefix()) and name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(directory, name))

    def write(self, record):
        """Replace the file atomically: 0600 temp file in the same directory, fsync, rename.
        Call with the lock held."""
        directory = os.path.dirname(self.path)
        owner = self._owner()
        fd, temp_path = tempfile.mkstemp(prefix=self._temporary_prefix(), suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, self.mode)
            if owner and os.geteuid() == 0:
                os.fchown(fd, *owner)
            with os.fdopen(fd, "w") as handle:
                json.dump(ordered_record(record), handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_path, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_path)
            raise
        _fsync_directory(directory)

    def remove(self):
        """Delete the token file (call with the lock held); True when there was one."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return False
        _fsync_directory(os.path.dirname(self.path))
        return True

    def remove_lock(self):
        """Delete the lock file, once the token file is gone and the lock released: a process still
        waiting on the old lock then finds no tokens, which is the truth."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.lock_path)


def ordered_record(record):
    keys = list(GUIDE_TOKEN_FIELDS) + sorted(k for k in record if k not in GUIDE_TOKEN_FIELDS)
    return dict((key, record[key]) for key in keys if key in record)


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def refresh_token_file(token_file, client, min_ttl=DEFAULT_MIN_TTL, force=False, rejected_access_token=None,
                       timeout=DEFAULT_TIMEOUT, validate_certs=True, now=None):
    """Refresh the stored access token when it expires within min_ttl, when forced, or when the
    API just rejected rejected_access_token. Returns (record, refreshed).

    Under the lock the file is read again: when another process has refreshed meanwhile, its token
    is returned and Zoho is not called. That keeps any number of processes to one mint.
    """
    with token_file.locked():
        record = token_file.read()
        if record is None:
            raise TokenFileError("No token file at %s. Fix: authorize first (provision.yml with zoho_crm_auth_code, "
                                 "or tools/zoho-crm-oauth-exchange.py)." % token_file.path)
        replaced = rejected_access_token is not None and record["access_token"] != rejected_access_token
        stale = needs_refresh(record, min_ttl, now) or rejected_access_token == record["access_token"]
        if replaced or not (force or stale):
            return record, False
        refreshed = refresh_access_token(client, record, timeout=timeout, validate_certs=validate_certs, now=now)
        token_file.write(refreshed)
        return refreshed, True

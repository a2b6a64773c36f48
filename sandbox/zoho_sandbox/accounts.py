"""Zoho Accounts (OAuth 2.0): consent page, grant codes, token endpoint, revoke, and the token limits.

Faithful to reference §1-§4: token errors are HTTP 200 with {"error": ...}; refresh never rotates
the refresh token; grant codes are single-use; the per-window and per-token limits of §4 apply.
"""

import hashlib
import html
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import GrantLimitReached
from .web import Response, html_response, json_response, redirect

THROTTLE_BODIES = {  # reference §2.4; Zoho's two pages word the same throttle differently
    "crm": {"error_description": "You have made too many requests continuously. Please try again "
                                 "after some time.", "error": "Access Denied", "status": "failure"},
    "accounts": {"error_description": "Token creation throttle limit reached. Please reuse the valid "
                                      "tokens you currently have.", "error": "Access Denied"},
}
TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CONSENT_REQUEST_LIFETIME = 600


@dataclass
class Client:
    client_id: str
    client_secret: str
    name: str
    redirect_uris: tuple


@dataclass
class GrantCode:
    client_id: str
    dc: str
    user_id: str
    scopes: tuple
    redirect_uri: str | None  # None for Self Client codes: no redirect_uri check
    offline: bool
    expires_at: float


@dataclass
class RefreshToken:
    token: str
    client_id: str
    dc: str
    user_id: str
    scopes: tuple
    mints: deque = field(default_factory=deque)  # times access tokens were minted from it
    access_tokens: list = field(default_factory=list)  # oldest first


@dataclass
class AccessToken:
    token: str
    client_id: str
    dc: str
    user_id: str
    scopes: tuple
    expires_at: float
    refresh: RefreshToken | None


def new_token() -> str:
    """Zoho's shape for codes and tokens: 1000.<32 hex>.<32 hex>."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def parse_scopes(value: str | None) -> tuple:
    """Scopes are comma-separated (reference §1); blanks are dropped, order and case kept."""
    return tuple(scope.strip() for scope in (value or "").split(",") if scope.strip())


def valid_scope(scope: str) -> bool:
    """Zoho scope syntax: Service.scope_name[.OPERATION], e.g. ZohoCRM.modules.deals.READ."""
    parts = scope.split(".")
    return 2 <= len(parts) <= 4 and all(part.replace("_", "").isalnum() for part in parts)


class Accounts:
    """The accounts servers of every DC: one token store, since Zoho's DCs share client ids."""

    def __init__(self, settings, clock, org, urls):
        self.settings = settings
        self.clock = clock
        self.urls = urls  # has accounts_url(dc) and api_domain(dc)
        self.user_id = org.current_user["id"]
        self.client = self._make_client(settings)
        self.clients = {self.client.client_id: self.client}
        self.retired_secrets = set()  # still redacted from logs after a rotation
        self.issued = set()  # every code and token ever handed out, for redaction
        self.codes = {}
        self.refresh_tokens = {}
        self.access_tokens = {}
        self.consented = set()  # (dc, user, client) that already received a refresh token by consent
        self.code_issues = {}  # client_id -> deque of issue times
        self.consent_requests = {}
        self.lock = threading.RLock()

    @staticmethod
    def _make_client(settings) -> Client:
        digest = hashlib.sha256(f"zoho-sandbox-client:{settings.seed}".encode()).hexdigest()
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        client_id = "1000." + "".join(alphabet[int(digest[i:i + 2], 16) % 36] for i in range(0, 60, 2))
        return Client(client_id, digest[20:62], "Minnie CRM Integration", (settings.redirect_uri,))

    def rotate_client_secret(self) -> str:
        """A new client secret, as the API console's regenerate does; grants stay valid."""
        with self.lock:
            self.retired_secrets.add(self.client.client_secret)
            self.client.client_secret = secrets.token_hex(21)
            return self.client.client_secret

    # -- grant codes ---------------------------------------------------------------------------

    def take_code_slot(self, client_id) -> None:
        """Count one grant (consent code, Self Client code or device code) against the per-client
        window; raises GrantLimitReached past the limit (reference §4)."""
        now = self.clock.now()
        with self.lock:
            issued = self.code_issues.setdefault(client_id, deque())
            while issued and issued[0] <= now - self.settings.token_window:
                issued.popleft()
            if len(issued) >= self.settings.grant_codes_per_window:
                raise GrantLimitReached(
                    f"at most {self.settings.grant_codes_per_window} grant codes per "
                    f"{self.settings.token_window // 60} minutes per client")
            issued.append(now)

    def issue_code(self, client_id, dc, scopes, redirect_uri, offline, lifetime=None) -> str:
        """A single-use grant code; raises GrantLimitReached past the per-client window limit."""
        with self.lock:
            self.take_code_slot(client_id)
            code = self.new_secret()
            self.codes[code] = GrantCode(client_id, dc, self.user_id, tuple(scopes), redirect_uri, offline,
                                         self.clock.now() + (lifetime or self.settings.code_lifetime))
            return code

    def self_client_code(self, scopes, lifetime=None, dc=None) -> str:
        """What the API console's "Generate Code" does for a Self Client (always offline)."""
        scopes = parse_scopes(scopes) if isinstance(scopes, str) else tuple(scopes)
        if not scopes or not all(valid_scope(s) for s in scopes):
            raise ValueError(f"invalid scope list: {', '.join(scopes) or '(empty)'}")
        dc = dc or self.settings.home_dc
        if dc not in self.settings.data_centers:
            raise ValueError(f"unknown data center {dc!r}")
        if lifetime is not None and lifetime <= 0:
            raise ValueError("lifetime must be positive")
        return self.issue_code(self.client.client_id, dc, scopes, None, True, lifetime)

    # -- consent (authorization endpoint) ------------------------------------------------------

    def authorize_page(self, request) -> Response:
        """GET /oauth/v2/auth: the consent page, or an error page when the request is unusable."""
        params = request.params()
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            return error_page("Invalid Client", "The client_id in this request is not registered.")
        if params.get("redirect_uri") not in client.redirect_uris:
            return error_page("Invalid Redirect Uri", "The redirect_uri does not match the one "
                                                      "registered for this client.")
        if params.get("response_type") != "code":
            return error_page("Invalid Response Type", "Only response_type=code is supported.")
        scopes = parse_scopes(params.get("scope"))
        if not scopes:
            return error_page("Scope Missing", "The scope parameter is required.")
        bad = [s for s in scopes if not valid_scope(s)]
        if bad:
            return error_page("Invalid OAuth Scope", "Unknown scope: " + ", ".join(bad))
        request_id = secrets.token_urlsafe(16)
        with self.lock:
            now = self.clock.now()
            for stale in [k for k, v in self.consent_requests.items() if v["expires_at"] <= now]:
                del self.consent_requests[stale]
            self.consent_requests[request_id] = {**params, "scopes": scopes,
                                                 "expires_at": now + CONSENT_REQUEST_LIFETIME}
        action = self.urls.accounts_url(request.dc) + "/oauth/v2/auth/consent"
        return html_response(200, _consent_page(client, scopes, action, request_id))

    def consent(self, request) -> Response:
        """POST /oauth/v2/auth/consent: the user's Approve/Deny, answered with Zoho's redirect."""
        with self.lock:
            pending = self.consent_requests.pop(request.param("request_id", ""), None)
        if pending is None or pending["expires_at"] <= self.clock.now():
            return error_page("Request Expired", "This consent request is unknown or has expired; "
                                                  "start the authorization again.")
        state = {"state": pending["state"]} if "state" in pending else {}
        if request.param("action") != "approve":
            return redirect(_add_query(pending["redirect_uri"], {"error": "access_denied", **state}))
        dc = self.settings.home_dc  # Zoho sends the user to their own DC, wherever they started
        client_id = pending["client_id"]
        with self.lock:
            offline = self.gives_refresh_token(dc, client_id, pending.get("access_type") == "offline",
                                               pending.get("prompt") == "consent")
            try:
                code = self.issue_code(client_id, dc, pending["scopes"], pending["redirect_uri"], offline)
            except GrantLimitReached:
                return redirect(_add_query(pending["redirect_uri"], {"error": "access_denied", **state}))
            if offline:
                self.consented.add((dc, self.user_id, client_id))
        # The trailing "&" is in the redirects observed from real Zoho (reference §1).
        return redirect(_add_query(pending["redirect_uri"], {
            **state, "code": code, "location": dc, "accounts-server": self.urls.accounts_url(dc)}) + "&")

    def gives_refresh_token(self, dc, client_id, wants_offline, prompt_consent) -> bool:
        """access_type=offline yields a refresh token on the first consent only, or with
        prompt=consent (reference §1)."""
        return wants_offline and ((dc, self.user_id, client_id) not in self.consented or prompt_consent)

    def approved_grant_tokens(self, client_id, dc, scopes, wants_offline, prompt_consent) -> dict:
        """The token response for a grant approved without a code (device flow): what consent and
        then a code exchange would give, with the same limits."""
        with self.lock:
            refresh = None
            if self.gives_refresh_token(dc, client_id, wants_offline, prompt_consent):
                self.consented.add((dc, self.user_id, client_id))
                refresh = self._new_refresh_token(client_id, dc, self.user_id, scopes)
            access = self._mint(client_id, dc, self.user_id, scopes, refresh)
            body = {"access_token": access.token}
            if refresh:
                body["refresh_token"] = refresh.token
            return self._token_body(body, scopes, dc)

    # -- token endpoint ------------------------------------------------------------------------

    def token(self, request) -> tuple:
        """POST /oauth/v2/token -> (error or None, Response); errors are HTTP 200 too."""
        params = request.params()
        if request.method != "POST":  # GET is undocumented (reference §2.4): refuse it
            body = {"error": "invalid_request"}
        else:
            body = self._token(request, params.get("grant_type", ""))
        return body.get("error"), json_response(200, body, TOKEN_HEADERS)

    def authenticate_client(self, request) -> tuple:
        """(client, None) for a known client with its secret (from the parameters or HTTP Basic),
        else (None, "invalid_client" or "invalid_client_secret")."""
        params = request.params()
        client_id, secret = params.get("client_id"), params.get("client_secret")
        basic = request.basic_auth()
        if basic and not client_id:
            client_id, secret = basic
        client = self.clients.get(client_id or "")
        if client is None:
            return None, "invalid_client"
        if secret != client.client_secret:
            return None, "invalid_client_secret"
        return client, None

    def _token(self, request, grant_type) -> dict:
        client, error = self.authenticate_client(request)
        if error:
            return {"error": error}
        params, dc = request.params(), request.dc
        with self.lock:
            if grant_type == "authorization_code":
                return self._exchange(client, params, dc)
            if grant_type == "refresh_token":
                return self._refresh(client, params.get("refresh_token", ""), dc)
        return {"error": "unsupported_grant_type"}

    def _exchange(self, client, params, dc) -> dict:
        grant = self.codes.get(params.get("code", ""))
        if grant is None or grant.client_id != client.client_id:
            return {"error": "invalid_code"}
        if grant.dc != dc:
            return {"error": "invalid_client"}
        if grant.expires_at <= self.clock.now():
            del self.codes[params["code"]]
            return {"error": "invalid_code"}
        if grant.redirect_uri is not None and params.get("redirect_uri") != grant.redirect_uri:
            return {"error": "invalid_redirect_uri"}
        del self.codes[params["code"]]  # single use
        refresh = (self._new_refresh_token(grant.client_id, grant.dc, grant.user_id, grant.scopes)
                   if grant.offline else None)
        access = self._mint(client.client_id, dc, grant.user_id, grant.scopes, refresh)
        body = {"access_token": access.token}
        if refresh:
            body["refresh_token"] = refresh.token
        return self._token_body(body, grant.scopes, dc)

    def _refresh(self, client, token, dc) -> dict:
        refresh = self.refresh_tokens.get(token)
        if refresh is None or refresh.client_id != client.client_id:
            return {"error": "invalid_code"}
        if refresh.dc != dc:
            return {"error": "invalid_client"}
        now = self.clock.now()
        while refresh.mints and refresh.mints[0] <= now - self.settings.token_window:
            refresh.mints.popleft()
        if len(refresh.mints) >= self.settings.mints_per_window:
            return dict(THROTTLE_BODIES[self.settings.throttle_wording])
        access = self._mint(client.client_id, dc, refresh.user_id, refresh.scopes, refresh)
        return self._token_body({"access_token": access.token}, refresh.scopes, dc)

    def _token_body(self, body, scopes, dc) -> dict:
        # Seconds, never expires_in_sec (reference §2.1, §10.5); api_domain is our own, per DC.
        return {**body, "scope": " ".join(scopes), "api_domain": self.urls.api_domain(dc),
                "token_type": "Bearer", "expires_in": self.settings.access_token_lifetime}

    def _new_refresh_token(self, client_id, dc, user_id, scopes) -> RefreshToken:
        mine = [r for r in self.refresh_tokens.values() if (r.dc, r.user_id, r.client_id) == (dc, user_id, client_id)]
        # The 21st refresh token silently kills the oldest, with its access tokens (reference §4).
        for oldest in mine[: max(0, len(mine) - self.settings.refresh_tokens_per_user + 1)]:
            self._drop_refresh_token(oldest)
        refresh = RefreshToken(self.new_secret(), client_id, dc, user_id, tuple(scopes))
        self.refresh_tokens[refresh.token] = refresh
        return refresh

    def _mint(self, client_id, dc, user_id, scopes, refresh) -> AccessToken:
        now = self.clock.now()
        access = AccessToken(self.new_secret(), client_id, dc, user_id, scopes,
                             now + self.settings.access_token_lifetime, refresh)
        self.access_tokens[access.token] = access
        if refresh is not None:
            # The exchange's first access token counts toward the mint limit like any other.
            refresh.mints.append(now)
            live = [a for a in refresh.access_tokens if a.expires_at > now]
            for expired in refresh.access_tokens:
                if expired.expires_at <= now:
                    self.access_tokens.pop(expired.token, None)
            live.append(access)
            while len(live) > self.settings.live_access_tokens:  # the 16th evicts the oldest
                self.access_tokens.pop(live.pop(0).token, None)
            refresh.access_tokens = live
        return access

    def new_secret(self) -> str:
        """A new code or token in Zoho's shape, remembered for redaction and secret_values()."""
        value = new_token()
        self.issued.add(value)
        return value

    def _drop_refresh_token(self, refresh):
        self.refresh_tokens.pop(refresh.token, None)
        for access in refresh.access_tokens:
            self.access_tokens.pop(access.token, None)
        key = (refresh.dc, refresh.user_id, refresh.client_id)
        if not any((r.dc, r.user_id, r.client_id) == key for r in self.refresh_tokens.values()):
            self.consented.discard(key)  # with no grant left, the next consent is a first one again

    # -- revoke --------------------------------------------------------------------------------

    def revoke(self, request) -> Response:
        """POST /oauth/v2/token/revoke: {"status": "success"}, or HTTP 400 for an unknown token."""
        token = request.param("token", "")
        with self.lock:
            refresh = self.refresh_tokens.get(token)
            access = self.access_tokens.get(token)
            if request.method == "POST" and refresh is not None and refresh.dc == request.dc:
                self._drop_refresh_token(refresh)
            elif request.method == "POST" and access is not None and access.dc == request.dc:
                del self.access_tokens[token]
                if access.refresh is not None:
                    access.refresh.access_tokens.remove(access)
            else:
                return json_response(400, {"status": "failure", "error": "invalid_token"})
        return json_response(200, {"status": "success"}, TOKEN_HEADERS)

    def revoke_all(self) -> None:
        with self.lock:
            for refresh in list(self.refresh_tokens.values()):
                self._drop_refresh_token(refresh)
            self.access_tokens.clear()
            self.consented.clear()

    # -- lookups for the API and the control endpoints ------------------------------------------

    def access_token(self, token, dc) -> AccessToken | None:
        """The live access token, if it exists, was issued in this DC and has not expired."""
        with self.lock:
            access = self.access_tokens.get(token)
        if access is None or access.dc != dc or access.expires_at <= self.clock.now():
            return None
        return access

    def live_tokens(self) -> dict:
        now = self.clock.now()
        with self.lock:
            counts = {cid: {"refresh_tokens": 0, "access_tokens": 0} for cid in self.clients}
            for refresh in self.refresh_tokens.values():
                counts[refresh.client_id]["refresh_tokens"] += 1
            for access in self.access_tokens.values():
                if access.expires_at > now:
                    counts[access.client_id]["access_tokens"] += 1
        return counts

    def secret_values(self) -> set:
        """Every secret value the stand-in has handed out, for redacting logs."""
        with self.lock:
            return {self.client.client_secret, *self.retired_secrets, *self.issued}

    def serverinfo(self) -> Response:
        """GET /oauth/serverinfo: DC -> accounts URL (shape UNCONFIRMED; modelled on third-party use)."""
        locations = {dc: self.urls.accounts_url(dc) for dc in self.settings.data_centers}
        return json_response(200, {"result": "success", "locations": locations, "stage": "production"})


def _add_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_page(title: str, message: str) -> Response:
    return html_response(400, f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head>"
                              f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>")


def _consent_page(client, scopes, action, request_id) -> str:
    items = "".join(f"<li>{html.escape(s)}</li>" for s in scopes)
    return (
        "<!DOCTYPE html><html><head><title>Zoho Accounts - Consent</title></head><body>"
        f"<h1>{html.escape(client.name)} would like to access your Zoho account</h1>"
        f"<p>Client ID: {html.escape(client.client_id)}</p><ul>{items}</ul>"
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="request_id" value="{html.escape(request_id)}">'
        '<button type="submit" name="action" value="approve">Accept</button>'
        '<button type="submit" name="action" value="deny">Reject</button>'
        "</form></body></html>"
    )

"""Zoho's device flow (reference §2.5): a device asks for a user code, a person approves it on any
browser at the verification URL, and the device polls for its tokens.

    POST /oauth/v3/device/code    client_id, grant_type=device_request, scope, access_type, prompt
    POST /oauth/v3/device/token   client_id, client_secret, grant_type=device_token, code
    GET|POST /oauth/v3/device     the verification page (user_code=... shows the consent at once)
    POST /oauth/v3/device/consent user_code, action=approve|deny

Tokens come from Accounts, so the grant-code window and the refresh-token limits of §4 apply.
"""

import html
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

from .accounts import TOKEN_HEADERS, error_page, parse_scopes, valid_scope
from .errors import GrantLimitReached, SandboxError
from .web import html_response, json_response

# RFC 8628 §6.1: consonants only, so a code never spells a word or mixes 0/O and 1/I.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    dc: str  # the accounts server the flow started on
    scopes: tuple
    offline: bool  # access_type=offline was asked for
    prompt_consent: bool
    expires_at: float
    status: str = "pending"  # pending -> approved or denied; approved -> issued once the tokens are fetched
    user_dc: str | None = None  # the approving user's data center
    polls: int = 0
    last_poll: float | None = None

    def public(self) -> dict:
        """What the control endpoints show: everything but the device code."""
        return {"user_code": self.user_code, "status": self.status, "client_id": self.client_id, "dc": self.dc,
                "user_dc": self.user_dc, "scopes": list(self.scopes), "offline": self.offline,
                "expires_at": self.expires_at, "polls": self.polls, "last_poll": self.last_poll}


def normalize_user_code(text: str) -> str:
    """What a person types: any case, with or without the dash or spaces."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


class DeviceFlow:
    def __init__(self, accounts, settings, clock, urls, count):
        self.accounts = accounts
        self.settings = settings
        self.clock = clock
        self.urls = urls  # has accounts_url(dc)
        self.count = count  # count(event): "approved", "denied"
        self.grants = {}  # device code -> DeviceGrant
        self.by_user_code = {}  # normalized user code -> DeviceGrant
        self.lock = threading.RLock()

    # -- the device's endpoints ------------------------------------------------------------------

    def initiate(self, request) -> tuple:
        """POST /oauth/v3/device/code -> (error or None, Response)."""
        params = request.params()
        if request.method != "POST":
            return self._error("invalid_request")
        client = self.accounts.clients.get(params.get("client_id", ""))
        if client is None:
            return self._error("invalid_client")
        if params.get("grant_type") != "device_request":
            return self._error("unsupported_grant_type")
        scopes = parse_scopes(params.get("scope"))
        if not scopes or not all(valid_scope(s) for s in scopes):
            return self._error("invalid_scope")
        with self.lock:
            try:
                self.accounts.take_code_slot(client.client_id)
            except GrantLimitReached:
                return self._error("access_denied")
            grant = DeviceGrant(self.accounts.new_secret(), self._new_user_code(), client.client_id, request.dc,
                                scopes, params.get("access_type") == "offline", params.get("prompt") == "consent",
                                self.clock.now() + self.settings.device_code_lifetime)
            self.grants[grant.device_code] = grant
            self.by_user_code[normalize_user_code(grant.user_code)] = grant
        verification_url = self.verification_url(request.dc)
        scale = 1000 if self.settings.device_units == "milliseconds" else 1
        body = {"user_code": grant.user_code, "device_code": grant.device_code, "verification_url": verification_url,
                "expires_in": round(self.settings.device_code_lifetime * scale),
                "interval": round(self.settings.device_interval * scale)}
        if self.settings.device_verification_uri_complete:
            body["verification_uri_complete"] = verification_url + "?" + urlencode({"user_code": grant.user_code})
        return None, json_response(200, body, TOKEN_HEADERS)

    def poll(self, request) -> tuple:
        """POST /oauth/v3/device/token -> (error or None, Response): the tokens once approved."""
        if request.method != "POST":
            return self._error("invalid_request")
        client, error = self.accounts.authenticate_client(request)
        if error:
            return self._error(error)
        params = request.params()
        if params.get("grant_type") != "device_token":
            return self._error("unsupported_grant_type")
        with self.lock:
            grant = self.grants.get(params.get("code", ""))
            if grant is None or grant.client_id != client.client_id or grant.status == "issued":
                return self._error("invalid_code")  # unknown, another client's, or already used
            if request.dc not in (grant.dc, grant.user_dc):
                return self._error("invalid_client")  # as a code at the wrong accounts server
            now = self.clock.now()
            if now >= grant.expires_at:
                return self._error("expired")
            too_soon = grant.last_poll is not None and now - grant.last_poll < self.settings.device_poll_interval
            grant.polls += 1
            grant.last_poll = now  # every poll restarts the 30 s, so polling every 20 s never gets through
            if too_soon:
                return self._error("slow_down")
            if grant.status == "pending":
                return self._error("authorization_pending")
            if grant.status == "denied":
                return self._error("access_denied")
            if request.dc != grant.user_dc:
                return self._error("other_dc", user_location=grant.user_dc)
            grant.status = "issued"
            body = self.accounts.approved_grant_tokens(grant.client_id, grant.user_dc, grant.scopes, grant.offline,
                                                       grant.prompt_consent)
        return None, json_response(200, body, TOKEN_HEADERS)

    def _error(self, error, **extra) -> tuple:
        return error, json_response(self.settings.device_error_status, {"error": error, **extra}, TOKEN_HEADERS)

    def _new_user_code(self) -> str:
        while True:
            raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
            if raw not in self.by_user_code:
                return f"{raw[:4]}-{raw[4:]}"

    # -- what the person does --------------------------------------------------------------------

    def verification_url(self, dc) -> str:
        return self.urls.accounts_url(dc) + "/oauth/v3/device"

    def decide(self, user_code: str, approve: bool) -> dict:
        """Approve or deny a pending user code, as the consent page does; SandboxError if it cannot be."""
        with self.lock:
            grant = self.by_user_code.get(normalize_user_code(user_code))
            if grant is None:
                raise SandboxError(f"no device flow has the user code {user_code!r}")
            if self.clock.now() >= grant.expires_at:
                raise SandboxError(f"the user code {grant.user_code} has expired")
            if grant.status != "pending":
                raise SandboxError(f"the user code {grant.user_code} was already {grant.status}")
            grant.status = "approved" if approve else "denied"
            grant.user_dc = self.settings.home_dc if approve else None  # the user's own DC, wherever it started
        self.count(grant.status)
        return grant.public()

    def flows(self) -> list:
        with self.lock:
            return [grant.public() for grant in self.grants.values()]

    def page(self, request):
        """GET or POST /oauth/v3/device: the code entry form, or the consent for a given user code."""
        user_code = request.param("user_code")
        if user_code is None:
            action = html.escape(self.verification_url(request.dc))
            return html_response(200, _page(
                "Zoho Accounts - Connect a device", "Enter the code shown on your device",
                f'<form method="post" action="{action}"><input name="user_code" autocomplete="off">'
                '<button type="submit">Next</button></form>'))
        with self.lock:
            grant, refusal = self._usable(user_code)
            if refusal:
                return refusal
            client = self.accounts.clients[grant.client_id]
        action = html.escape(self.verification_url(request.dc) + "/consent")
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in grant.scopes)
        return html_response(200, _page(
            "Zoho Accounts - Consent", f"{html.escape(client.name)} would like to access your Zoho account",
            f"<p>Device code: {html.escape(grant.user_code)}</p><p>Client ID: {html.escape(client.client_id)}</p>"
            f'<ul>{scopes}</ul><form method="post" action="{action}">'
            f'<input type="hidden" name="user_code" value="{html.escape(grant.user_code)}">'
            '<button type="submit" name="action" value="approve">Accept</button>'
            '<button type="submit" name="action" value="deny">Reject</button></form>'))

    def consent(self, request):
        """POST /oauth/v3/device/consent: the person's Accept or Reject."""
        approve = request.param("action") == "approve"
        with self.lock:
            grant, refusal = self._usable(request.param("user_code", ""))
            if refusal:
                return refusal
            self.decide(grant.user_code, approve)
        if approve:
            return html_response(200, _page("Zoho Accounts - Access granted", "Access Granted",
                                            "<p>You can close this window: the device goes on by itself.</p>"))
        return html_response(200, _page("Zoho Accounts - Access denied", "Access Denied",
                                        "<p>The device was not given access.</p>"))

    def _usable(self, user_code) -> tuple:
        """(grant, None) for a pending, unexpired user code, else (None, an error page)."""
        grant = self.by_user_code.get(normalize_user_code(user_code))
        if grant is None:
            return None, error_page("Invalid Code", "No device is waiting for this code; check what it shows.")
        if self.clock.now() >= grant.expires_at:
            return None, error_page("Code Expired", "This code has expired; start again on the device.")
        if grant.status != "pending":
            return None, error_page("Code Already Used", f"This code was already {grant.status}.")
        return grant, None


def _page(title: str, heading: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>"
            f"<h1>{heading}</h1>{body}</body></html>")

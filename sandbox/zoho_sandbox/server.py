"""HTTP plumbing: one loopback port; each DC's accounts server and API domain are path prefixes.

    {base}/{dc}/accounts/oauth/v2/...   Zoho Accounts of data center `dc`
    {base}/{dc}/api/crm/v8/...          the CRM API domain of data center `dc`
    {base}/_sandbox/...                 control endpoints for tests (never on Zoho's paths)
"""

import json
import socket
import struct
import threading
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .accounts import THROTTLE_BODIES, TOKEN_HEADERS
from .crm import CallContext
from .faults import target_group
from .web import ApiError, Request, Response, html_response, json_response, parse_query

MAX_BODY = 1 << 20
LOG_SIZE = 10_000
SECRET_PARAMS = {"client_secret", "code", "device_code", "refresh_token", "token", "access_token", "password"}
# Device-flow requests counted as they arrive (verification page loads, GET or POST, are "page").
DEVICE_REQUESTS = {"/oauth/v3/device/code": "code", "/oauth/v3/device/token": "token", "/oauth/v3/device": "page"}
DEVICE_EVENTS = ("code", "token", "page", "approved", "denied", "issued")
REDACTED = "[REDACTED]"
ERROR_PAGES = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class Traffic:
    """Counters and the redacted request log."""

    def __init__(self, log_file=None):
        self.lock = threading.Lock()
        self.token = Counter({"authorization_code": 0, "refresh_token": 0})
        self.token_errors = Counter()
        self.crm = Counter()
        self.revoke = 0
        self.auth = 0
        self.device = Counter(dict.fromkeys(DEVICE_EVENTS, 0))
        self.device_errors = Counter()
        self.log = deque(maxlen=LOG_SIZE)
        self.log_file = log_file

    def count_accounts(self, request) -> None:
        """Requests as they arrive, faulted or not: what Zoho's side would have seen."""
        with self.lock:
            if request.path == "/oauth/v2/token":
                self.token[request.param("grant_type", "")] += 1
            elif request.path == "/oauth/v2/token/revoke":
                self.revoke += 1
            elif request.path == "/oauth/v2/auth" and request.method == "GET":
                self.auth += 1
            elif request.path in DEVICE_REQUESTS:
                self.device[DEVICE_REQUESTS[request.path]] += 1

    def count_device(self, event: str) -> None:
        """A device-flow event that is not a request: "approved", "denied", "issued"."""
        with self.lock:
            self.device[event] += 1

    def count_device_error(self, error: str) -> None:
        with self.lock:
            self.device_errors[error] += 1

    def count_token_error(self, error: str) -> None:
        with self.lock:
            self.token_errors[error] += 1

    def count_crm(self, template: str) -> None:
        with self.lock:
            self.crm[template] += 1

    def counters(self) -> dict:
        with self.lock:
            return {"token": dict(self.token), "token_errors": dict(self.token_errors),
                    "revoke": self.revoke, "auth": self.auth, "device": dict(self.device),
                    "device_errors": dict(self.device_errors), "crm": dict(self.crm)}

    def record(self, entry: dict) -> None:
        with self.lock:
            self.log.append(entry)
            if self.log_file:
                with open(self.log_file, "a", encoding="utf-8") as stream:
                    stream.write(json.dumps(entry) + "\n")

    def entries(self) -> list:
        with self.lock:
            return list(self.log)


def redact(request, known_secrets) -> tuple:
    """(params, authorization) of a request with every secret replaced by [REDACTED]."""
    params = request.params()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            params.update({k: v for k, v in body.items() if isinstance(v, str)})
    params = {k: REDACTED if k in SECRET_PARAMS or v in known_secrets else v for k, v in params.items()}
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    authorization = f"{scheme} {REDACTED}" if value else (REDACTED if scheme else None)
    return params, authorization


@dataclass
class Outcome:
    """What to send: a response, unless a fault drops the connection ("reset") or cuts the body."""

    response: Response | None
    fault: str | None = None

    @property
    def action(self) -> str | None:
        return self.fault if self.fault in ("reset", "truncated") else None


class App:
    """Routes a request to the accounts server, the CRM API or the control endpoints."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.settings = sandbox.settings

    def dispatch(self, method, raw_path, headers, body) -> Outcome:
        split = urlsplit(raw_path)
        query = parse_query(split.query)
        if split.path.startswith("/_sandbox/"):
            request = Request(method, split.path[len("/_sandbox"):], query, headers, body)
            return Outcome(self.sandbox.control.handle(request))
        _, dc, area, rest = (split.path.split("/", 3) + ["", "", ""])[:4]
        if dc not in self.settings.data_centers or area not in ("accounts", "api"):
            return Outcome(json_response(404, {"error": "not found", "path": split.path}))
        request = Request(method, "/" + rest, query, headers, body, dc)
        outcome = self.accounts(request) if area == "accounts" else self.api(request)
        params, authorization = redact(request, self.sandbox.accounts.secret_values())
        entry = {"time": self.sandbox.clock.now(), "method": method, "path": request.path, "dc": dc,
                 "status": outcome.response.status if outcome.response else None, "params": params}
        if authorization:
            entry["authorization"] = authorization
        if outcome.fault:
            entry["fault"] = outcome.fault
        self.sandbox.traffic.record(entry)
        return outcome

    def fault(self, template) -> Outcome | None:
        """A fault's outcome when it replaces the real answer; delays sleep and return None."""
        fault = self.sandbox.faults.pick(template)
        if fault is None:
            return None
        if fault.kind == "delay":
            time.sleep(fault.delay)
            return None
        if fault.kind == "reset":  # dropped before the server acts: nothing is minted or spent
            return Outcome(None, "reset")
        if fault.kind == "truncated":
            return Outcome(None, "truncated")  # the real answer is computed, then cut
        if fault.kind == "access_denied":
            body = THROTTLE_BODIES[self.settings.throttle_wording]
            self.sandbox.traffic.count_token_error(body["error"])
            return Outcome(json_response(200, body, TOKEN_HEADERS), fault.kind)
        status = int(fault.kind[len("status_"):])
        if status == 500 and target_group(template) == "crm":
            return Outcome(ApiError(500, "INTERNAL_ERROR", "Internal Server Error").response(), fault.kind)
        if status == 429 and target_group(template) == "crm":
            return Outcome(ApiError(429, "TOO_MANY_REQUESTS", "The concurrency limit has been exceeded").response(),
                           fault.kind)
        # Front-end proxies and the accounts server answer 5xx with an HTML page.
        return Outcome(html_response(status, f"<html><body><h1>{status} {ERROR_PAGES[status]}</h1></body></html>"),
                       fault.kind)

    def accounts(self, request) -> Outcome:
        accounts = self.sandbox.accounts
        self.sandbox.traffic.count_accounts(request)
        template = f"{request.method} {request.path}"
        faulted = self.fault(template)
        if faulted and faulted.fault != "truncated":
            return faulted
        group = target_group(template)
        if group == "token":
            error, response = accounts.token(request)
            if error:
                self.sandbox.traffic.count_token_error(error)
        elif group == "device":
            device = self.sandbox.device
            error, response = (device.initiate if request.path.endswith("/code") else device.poll)(request)
            if error:
                self.sandbox.traffic.count_device_error(error)
            elif request.path.endswith("/token"):
                self.sandbox.traffic.count_device("issued")
        elif request.path == "/oauth/v3/device" and request.method in ("GET", "POST"):
            response = self.sandbox.device.page(request)
        elif request.path == "/oauth/v3/device/consent" and request.method == "POST":
            response = self.sandbox.device.consent(request)
        elif group == "revoke":
            response = accounts.revoke(request)
        elif request.path == "/oauth/v2/auth" and request.method == "GET":
            response = accounts.authorize_page(request)
        elif request.path == "/oauth/v2/auth/consent" and request.method == "POST":
            response = accounts.consent(request)
        elif request.path == "/oauth/serverinfo" and request.method == "GET":
            response = accounts.serverinfo()
        else:
            response = html_response(404, "<html><body><h1>404 Not Found</h1></body></html>")
        return Outcome(response, faulted.fault if faulted else None)

    def api(self, request) -> Outcome:
        sandbox = self.sandbox
        route = sandbox.crm.route(request.path)
        if route is None:
            return Outcome(ApiError(404, "INVALID_URL_PATTERN",
                                    "Please check if the URL trying to access is a correct one").response())
        template = f"{request.method} {route.template}"
        sandbox.traffic.count_crm(template)
        if request.method != route.method:
            return Outcome(ApiError(400, "INVALID_REQUEST_METHOD",
                                    "The http request method type is not a valid one").response())
        # Every CRM call takes a slot, heavy ones a sub-concurrency slot too; a full cap is 429 at once.
        caps = [sandbox.concurrency] + ([sandbox.sub_concurrency] if route.is_heavy(request.query) else [])
        held = []
        try:
            for cap in caps:
                if not cap.acquire():
                    return Outcome(ApiError(429, "TOO_MANY_REQUESTS",
                                            "The concurrency limit has been exceeded").response())
                held.append(cap)
            faulted = self.fault(template)
            if faulted and faulted.fault != "truncated":
                return faulted
            try:
                ctx = CallContext(self.authenticate(request), self.charge)
            except ApiError as error:
                return Outcome(error.response(), faulted.fault if faulted else None)
            try:
                response = route.handler(request, ctx, **route.args)
            except ApiError as error:
                response = error.response()
            remaining = sandbox.credits.remaining_header()
            if remaining is not None:
                response.headers["X-API-CREDITS-REMAINING"] = remaining
            return Outcome(response, faulted.fault if faulted else None)
        finally:
            for cap in held:
                cap.release()

    def authenticate(self, request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        accepted = scheme.lower() == "zoho-oauthtoken" or (self.settings.accept_bearer and scheme.lower() == "bearer")
        if not accepted or not token.strip():
            raise ApiError(401, "AUTHENTICATION_FAILURE", "Authentication failed")
        access = self.sandbox.accounts.access_token(token.strip(), request.dc)
        if access is None:
            raise ApiError(401, "INVALID_TOKEN", "invalid oauth token")
        return access

    def charge(self, credits):
        if not self.sandbox.credits.charge(credits):
            raise ApiError(429, "TOO_MANY_REQUESTS",
                           "The API credit limit for the rolling 24 hours has been exceeded")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Zoho; every response has a Content-Length
    server_version = "ZGS"
    timeout = 30  # idle keep-alive connections are closed, so threads do not pile up
    wbufsize = -1  # headers and body leave in one write (flushed after each request)

    def setup(self):
        super().setup()
        # Without this, Nagle's algorithm and the client's delayed ACK add ~40 ms per keep-alive call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self.handle_request()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def handle_request(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            outcome = self.server.app.dispatch(self.command, self.path, headers, body)
        except Exception as error:  # a stand-in bug: answer loudly instead of dropping the connection
            traceback.print_exc()
            outcome = Outcome(ApiError(500, "INTERNAL_ERROR", "Internal Server Error",
                                       {"sandbox_bug": repr(error)}).response())
        response, action = outcome.response, outcome.action
        if action == "reset":
            # Linger 0 turns close() into a TCP reset: the client sees the connection dropped.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 304:  # a 304's Content-Length would describe the unsent 200 body
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if action == "truncated":
            self.wfile.write(response.body[: len(response.body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(response.body)

    def version_string(self):
        return self.server_version  # Zoho answers with `Server: ZGS`

    def log_message(self, format, *args):
        """Requests are logged (redacted) by the app, not on stderr."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's listen backlog is 5: of 32 simultaneous connections some would be dropped and
    # retried by TCP a second later, a delay Zoho does not add.
    request_queue_size = 128

    def __init__(self, port, app, tls=None):
        self.app = app
        self.tls = tls  # a server-side ssl.SSLContext: https instead of http
        self.connections = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)

    def process_request_thread(self, request, client_address):
        if self.tls is not None:
            # The TLS handshake runs in the connection's own thread, so a slow client holds up no other.
            request.settimeout(Handler.timeout)
            try:
                wrapped = self.tls.wrap_socket(request, server_side=True)
            except OSError:  # includes ssl.SSLError: a client that does not trust the certificate
                self.shutdown_request(request)
                return
            with self.connections_lock:
                self.connections.discard(request)
                self.connections.add(wrapped)
            request = wrapped
        super().process_request_thread(request, client_address)

    def process_request(self, request, client_address):
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        """Drop idle keep-alive connections so stop() does not leave threads waiting on them."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

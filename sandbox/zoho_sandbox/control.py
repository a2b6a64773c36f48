"""Control endpoints under /_sandbox/ for tests and scripts running outside the process."""

from .errors import GrantLimitReached, SandboxError
from .web import json_response


class Control:
    def __init__(self, sandbox):
        self.sandbox = sandbox

    def handle(self, request):
        sandbox = self.sandbox
        params = request.params()
        if request.headers.get("content-type", "").startswith("application/json") and request.body:
            try:
                body = request.json()
            except ValueError:
                return _error("invalid_json", "the body is not valid JSON")
            if isinstance(body, dict):
                params.update(body)
        routes = {
            ("GET", "/client"): lambda: {**sandbox.client, "accounts_url": sandbox.accounts_url(),
                                         "api_domain": sandbox.api_domain(),
                                         "data_centers": {dc: {"accounts_url": sandbox.accounts_url(dc),
                                                               "api_domain": sandbox.api_domain(dc)}
                                                          for dc in sandbox.settings.data_centers}},
            ("POST", "/self-client-code"): lambda: {"code": sandbox.self_client_code(
                params.get("scope", ""), _number(params.get("lifetime")), params.get("dc") or None)},
            ("GET", "/clock"): lambda: {"now": sandbox.clock.now()},
            ("POST", "/clock"): lambda: {"now": sandbox.clock.advance(_number(params.get("advance")) or 0)},
            ("POST", "/faults"): lambda: {"fault": vars(sandbox.inject_fault(
                params.get("target"), params.get("kind"), _number(params.get("count")),
                _number(params.get("rate")), _number(params.get("delay"))))},
            ("GET", "/faults"): sandbox.faults.active,
            ("DELETE", "/faults"): lambda: {"cleared": sandbox.clear_faults() is None},
            ("GET", "/counters"): sandbox.counters,
            ("GET", "/tokens"): sandbox.live_tokens,
            ("GET", "/requests"): sandbox.request_log,
            ("POST", "/revoke-all"): lambda: {"revoked": sandbox.revoke_all() is None},
            ("POST", "/rotate-client-secret"): lambda: {"client_secret": sandbox.rotate_client_secret()},
            ("POST", "/touch"): lambda: sandbox.touch_record(_required(params, "module"), _required(params, "id")),
            ("GET", "/device"): sandbox.device_flows,
            ("POST", "/device/approve"): lambda: sandbox.approve_device(_required(params, "user_code")),
            ("POST", "/device/deny"): lambda: sandbox.deny_device(_required(params, "user_code")),
        }
        action = routes.get((request.method, request.path))
        if action is None:
            return _error("not_found", f"no control endpoint {request.method} /_sandbox{request.path}", 404)
        try:
            return json_response(200, action())
        except GrantLimitReached as error:
            return _error("access_denied", str(error))
        except (SandboxError, TypeError, ValueError) as error:
            return _error("invalid_request", str(error))


def _required(params, name):
    value = params.get(name)
    if not value:
        raise SandboxError(f"{name} is required")
    return value


def _number(value):
    if value is None or value == "":
        return None
    return float(value) if not isinstance(value, (int, float)) else value


def _error(code, message, status=400):
    return json_response(status, {"error": code, "message": message})

"""Injected failures: errors, delays, dropped connections and cut-off bodies, per target."""

import random
import threading
from dataclasses import dataclass

KINDS = ("status_429", "status_500", "status_502", "status_503", "delay", "reset", "truncated", "access_denied")
GROUP_TARGETS = ("token", "revoke", "auth", "device", "crm")
DEVICE_PATHS = ("/oauth/v3/device/code", "/oauth/v3/device/token")
TOKEN_TEMPLATE = "POST /oauth/v2/token"
MAX_DELAY = 60.0


@dataclass
class Fault:
    target: str
    kind: str
    count: int | None = None  # fire for the next `count` matching calls, then retire
    rate: float | None = None  # fire with this probability (seeded)
    delay: float | None = None


def target_group(template: str) -> str:
    """The named group of a request template: "token", "revoke", "device" (the device's two
    endpoints), "crm", or "auth" (consent and verification pages, serverinfo)."""
    path = template.partition(" ")[2]
    if path.startswith("/crm/"):
        return "crm"
    if path == "/oauth/v2/token":
        return "token"
    if path == "/oauth/v2/token/revoke":
        return "revoke"
    if path in DEVICE_PATHS:
        return "device"
    return "auth"


class Faults:
    """Registered faults, checked in order; the first one that fires decides."""

    def __init__(self, seed: int):
        self._faults = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, target, kind, count=None, rate=None, delay=None) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        method, _, path = str(target).partition(" ")
        if target not in GROUP_TARGETS and not (method.isupper() and path.startswith("/")):
            raise ValueError(f"target must be one of {', '.join(GROUP_TARGETS)} or a template like "
                             "'GET /crm/v8/Deals'")
        if kind == "access_denied" and target not in ("token", TOKEN_TEMPLATE):
            raise ValueError("access_denied is the token endpoint's throttle: target 'token'")
        if count is not None and int(count) < 1:
            raise ValueError("count must be >= 1")
        if rate is not None and not 0 <= float(rate) <= 1:
            raise ValueError("rate must be between 0 and 1")
        if kind == "delay" and (delay is None or not 0 < float(delay) <= MAX_DELAY):
            raise ValueError(f"a delay fault needs delay seconds in (0, {MAX_DELAY:g}]")
        fault = Fault(target, kind, None if count is None else int(count),
                      None if rate is None else float(rate), None if delay is None else float(delay))
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pick(self, template: str) -> Fault | None:
        """The fault to apply to a request with this template, if any fires."""
        group = target_group(template)
        with self._lock:
            for fault in self._faults:
                if fault.target not in (template, group):
                    continue
                if fault.rate is not None and self._random.random() >= fault.rate:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                return fault
        return None

    def active(self) -> list:
        with self._lock:
            return [vars(f).copy() for f in self._faults]

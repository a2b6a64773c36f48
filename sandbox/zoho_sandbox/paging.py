"""Record order and pagination: page numbers up to a limit, then page tokens (reference §6.1)."""

import base64
import bisect
import hashlib
import hmac
import json
import secrets
import threading

from .data import iso
from .web import ApiError

SORT_KEYS = ("id", "Created_Time", "Modified_Time")


class Orderings:
    """Index sequences of a module in a sort order, computed once per module and key."""

    def __init__(self):
        self._cache = {}  # (module, sort key) -> (indices ascending, their timestamps)
        self._lock = threading.Lock()

    def ordered(self, module, sort_by="id", descending=True, subset=None):
        """Indices in order; `subset` restricts to some indices (ids= or a filter)."""
        if sort_by == "id":
            if subset is not None:
                return sorted(subset, reverse=not descending)  # index order is id descending
            return range(module.count) if descending else range(module.count - 1, -1, -1)
        if subset is not None:
            timestamp = module.created_ts if sort_by == "Created_Time" else module.modified_ts
            ordered = sorted(subset, key=lambda i: (timestamp(i), -i))
        else:
            ordered = self._by_time(module, sort_by)[0]
        return ordered[::-1] if descending else ordered

    def modified_after(self, module, since: float) -> list:
        """Indices of the records whose Modified_Time is later than `since` (If-Modified-Since)."""
        order, stamps = self._by_time(module, "Modified_Time")
        return order[bisect.bisect_right(stamps, since):]

    def forget(self, module) -> None:
        """Drop a module's Modified_Time order, after one of its records was edited."""
        with self._lock:
            self._cache.pop((id(module), "Modified_Time"), None)

    def _by_time(self, module, sort_by):
        key = (id(module), sort_by)
        with self._lock:
            if key not in self._cache:
                timestamp = module.created_ts if sort_by == "Created_Time" else module.modified_ts
                order = sorted(range(module.count), key=lambda i: (timestamp(i), -i))
                self._cache[key] = (order, [timestamp(i) for i in order])
            return self._cache[key]


class PageTokens:
    """Opaque, signed page tokens bound to the user and to the other request parameters."""

    def __init__(self, clock, lifetime: int):
        self.clock = clock
        self.lifetime = lifetime
        self._key = secrets.token_bytes(32)

    def issue(self, user_id: str, binding: str, offset: int) -> tuple:
        """(token, expiry timestamp) for continuing at `offset`."""
        expires = self.clock.now() + self.lifetime
        payload = base64.urlsafe_b64encode(json.dumps([user_id, binding, offset, expires]).encode())
        return payload.decode() + "." + self._sign(payload), expires

    def read(self, token: str, user_id: str, binding: str) -> int:
        """The offset a token continues at, or the ApiError Zoho gives for it."""
        payload, _, signature = token.encode().partition(b".")
        try:
            if not hmac.compare_digest(signature.decode(), self._sign(payload)):
                raise ValueError("bad signature")
            owner, bound, offset, expires = json.loads(base64.urlsafe_b64decode(payload))
        except ValueError:
            raise ApiError(400, "INVALID_DATA", "invalid data", {"param_name": "page_token"}) from None
        if owner != user_id:
            raise ApiError(400, "INVALID_DATA", "invalid data", {"param_name": "page_token"})
        if expires <= self.clock.now():
            raise ApiError(400, "EXPIRED_VALUE", "The page token has expired",
                           {"param_name": "page_token", "expired_time": iso(expires)})
        if bound != binding:
            raise ApiError(400, "TOKEN_BOUND_DATA_MISMATCH",
                           "The request parameters do not match the ones the page token was issued for",
                           {"param_name": "page_token"})
        return offset

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()[:24]


def binding_of(*parts) -> str:
    """A short fingerprint of the parameters a page token is bound to."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

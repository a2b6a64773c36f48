"""CRM API limits: the rolling 24-hour credit budget and the concurrency caps (reference §8)."""

import threading
from collections import deque


class CreditBudget:
    """Credits spent in the last `window` seconds of the stand-in clock; each call frees up 24 h later."""

    def __init__(self, clock, daily: int, window: int):
        self.clock = clock
        self.daily = daily
        self.window = window
        self._spent = deque()  # (time, credits)
        self._used = 0
        self._lock = threading.Lock()

    def _expire(self, now):
        while self._spent and self._spent[0][0] <= now - self.window:
            self._used -= self._spent.popleft()[1]

    def charge(self, credits: int) -> bool:
        """Spend credits if the budget allows; False means 429."""
        now = self.clock.now()
        with self._lock:
            self._expire(now)
            if self._used + credits > self.daily:
                return False
            self._spent.append((now, credits))
            self._used += credits
            return True

    def remaining_header(self) -> str | None:
        """X-API-CREDITS-REMAINING, sent once half the budget is used (reference §7)."""
        with self._lock:
            self._expire(self.clock.now())
            if self._used * 2 >= self.daily:
                return str(self.daily - self._used)
        return None

    def used(self) -> int:
        with self._lock:
            self._expire(self.clock.now())
            return self._used


class ConcurrencyCap:
    """In-flight calls; a call beyond the cap is refused at once (429), never queued."""

    def __init__(self, limit: int):
        self.limit = limit
        self._active = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self._active >= self.limit:
                return False
            self._active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._active -= 1

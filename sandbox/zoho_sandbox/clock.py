"""The stand-in's clock: wall time plus an offset that tests advance instead of sleeping."""

import threading
import time


class Clock:
    """Every expiry and rolling window in the stand-in reads this clock."""

    def __init__(self):
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward (never backward, so windows and expiries stay monotonic)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

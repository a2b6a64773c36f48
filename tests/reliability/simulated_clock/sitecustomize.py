"""Simulated wall-clock time for the concurrency soak's processes (loaded by python at start-up
when this directory is on PYTHONPATH).

time.time() returns the real time plus the offset in the file named by SIMULATED_CLOCK_OFFSET_FILE,
read on every call, so the driver moves every process's clock, and the stand-in's, together.
The tools read the time through time.time() alone (expires_at, needs_refresh, log lines).
Monotonic time and sleeps stay real. (libfaketime does this for any program, but its 0.9.10 in
Debian 12 breaks python 3.11's time.sleep and threading waits.)
"""

import os
import time

_offset_file = os.environ.get("SIMULATED_CLOCK_OFFSET_FILE")

if _offset_file:
    _real_time = time.time

    def _simulated_time():
        with open(_offset_file) as handle:
            return _real_time() + float(handle.read())

    time.time = _simulated_time

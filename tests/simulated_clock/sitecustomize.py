"""Simulated wall-clock time for the processes under test, loaded by python at start-up when this
directory is on PYTHONPATH (tests/shared_clock.py sets that up). Tests only: nothing deployed
loads it, and the product waits real time.

time.time() returns the real time plus the offset in the file named by SIMULATED_CLOCK_OFFSET_FILE,
read on every call, so a test moves every process's clock, and the stand-in's, together. The tools
read the time through time.time() alone (expires_at, needs_refresh, log lines, the device flow's
polls).

With SIMULATED_CLOCK_SLEEP_SCALE (e.g. 0.05), time.sleep(s) of a second or more sleeps s * scale
of real time, then moves the shared clock on until time.time() is s later than when it began: the
device flow's 30 s between polls take 1.5 s, and every process, the stand-in included, sees 30 s
pass. Sleepers that overlap move the clock to the latest wake-up time among them (their sleeps do
not add up). Shorter sleeps (lock retries, Ansible's own polling) stay real, as do monotonic time
and threading waits. (libfaketime does this for any program, but its 0.9.10 in Debian 12 breaks
python 3.11's time.sleep and threading waits.)
"""

import fcntl
import os
import time

_offset_file = os.environ.get("SIMULATED_CLOCK_OFFSET_FILE")

if _offset_file:
    _real_time = time.time

    def _offset():
        with open(_offset_file) as handle:
            return float(handle.read())

    def _simulated_time():
        return _real_time() + _offset()

    time.time = _simulated_time

    _sleep_scale = os.environ.get("SIMULATED_CLOCK_SLEEP_SCALE")
    if _sleep_scale:
        _real_sleep = time.sleep

        def _simulated_sleep(seconds):
            if seconds < 1:
                return _real_sleep(seconds)
            wake = _simulated_time() + seconds
            _real_sleep(seconds * float(_sleep_scale))
            # The same lock and atomic replace as tests/shared_clock.py's writes.
            with open(_offset_file + ".lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                offset = max(_offset(), wake - _real_time())
                temporary = "%s.%d.tmp" % (_offset_file, os.getpid())
                with open(temporary, "w") as handle:
                    handle.write("%r\n" % offset)
                os.replace(temporary, _offset_file)
            return None

        time.sleep = _simulated_sleep

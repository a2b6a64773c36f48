"""The simulated clock that the processes under test share with the in-process Zoho stand-in.

Processes started with SharedClock.environment() load simulated_clock/sitecustomize.py, whose
time.time() adds the offset in a file; the stand-in attached to the clock adds the same offset to
its own. The test moves the clock with advance(); with sleep_scale, the processes move it too, by
sleeping (see sitecustomize.py): the device flow's waits between polls then pass in a fraction of
real time, and the stand-in, which counts every poll against its 30 s, sees them pass.
"""

import fcntl
import os
import time
from pathlib import Path

SIMULATED_CLOCK_DIR = Path(__file__).resolve().parent / "simulated_clock"


class SharedClock:
    def __init__(self, directory, zoho=None, sleep_scale=None):
        self.file = Path(directory) / "simulated-clock-offset"
        self.sleep_scale = sleep_scale
        self._write(0)
        if zoho is not None:
            self.attach(zoho)

    def environment(self, *python_path):
        """The variables a process needs to run on this clock (python_path: more PYTHONPATH entries)."""
        env = {"SIMULATED_CLOCK_OFFSET_FILE": str(self.file),
               "PYTHONPATH": os.pathsep.join([str(SIMULATED_CLOCK_DIR)] + [str(path) for path in python_path])}
        if self.sleep_scale:
            env["SIMULATED_CLOCK_SLEEP_SCALE"] = str(self.sleep_scale)
        return env

    def attach(self, zoho):
        """Make the stand-in's clock (every expiry and window it keeps) move with this one."""
        stand_in_now = zoho.clock.now
        zoho.clock.now = lambda: stand_in_now() + self.offset()

    def offset(self):
        return float(self.file.read_text())

    def now(self):
        return time.time() + self.offset()

    def advance(self, seconds):
        with open(str(self.file) + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._write(self.offset() + seconds)

    def advance_to_minute(self, minute):
        """Forward to the next hh:minute:00 of simulated time."""
        self.advance(int((minute * 60 - self.now()) % 3600))

    def _write(self, offset):
        temporary = self.file.with_suffix(".tmp")
        temporary.write_text("%r\n" % offset)
        os.replace(temporary, self.file)

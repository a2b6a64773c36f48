"""Run a workspace tool with every HTTP timeout cut to SHORT_TIMEOUT seconds.

    python with_short_timeouts.py TOOL_PATH [ARGS...]

The tools wait up to 30 s for Zoho, so a "delay past the timeout" fault would cost half a minute
per call; here it costs one second. Nothing else changes: the tool runs as __main__ with its own
arguments, retries and error handling, and exits with its own status.
"""

import os
import runpy
import sys

SHORT_TIMEOUT = 1.0


def shorten_timeouts():
    """Cap the timeouts of every zoho_crm_oauth.Transport the tool creates: the one transport of
    the token endpoint and the CRM alike."""
    import zoho_crm_oauth  # the very module object the tool imports next

    create = zoho_crm_oauth.Transport.__init__

    def create_with_short_timeouts(self, *args, **kwargs):
        create(self, *args, **kwargs)
        self.timeout = tuple(min(limit, SHORT_TIMEOUT) for limit in self.timeout)

    zoho_crm_oauth.Transport.__init__ = create_with_short_timeouts


def main():
    tool = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(tool)))
    shorten_timeouts()
    runpy.run_path(tool, run_name="__main__")


if __name__ == "__main__":
    main()

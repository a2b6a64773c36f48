"""Helpers shared by the fault, crash and soak tests: credentials on the Zoho stand-in (the tools'
harness, reused), running a tool with short timeouts, and the check that the token file survived.
"""

import json
import subprocess
import sys
from pathlib import Path

import zoho_crm_oauth as oauth

RELIABILITY_DIR = Path(__file__).resolve().parent
REPO = RELIABILITY_DIR.parents[1]
# The tools' own test harness: one Credentials class, one leak check.
sys.path.insert(0, str(REPO / "tests" / "tools"))

from tool_harness import TOOLS_DIR, Credentials, assert_one_line_error  # noqa: E402

__all__ = ["REPO", "TOOLS_DIR", "Credentials", "assert_one_line_error", "authorized_credentials",
           "run_with_short_timeouts", "token_file_problem"]

SHORT_TIMEOUT_LAUNCHER = RELIABILITY_DIR / "with_short_timeouts.py"


def authorized_credentials(zoho, directory):
    """A 0700 credentials directory on this stand-in, holding a client-secret file and tokens."""
    directory.mkdir(mode=0o700)
    credentials = Credentials(directory, zoho)
    credentials.write_client_secret()
    credentials.authorize()
    return credentials


def run_with_short_timeouts(credentials, tool, *args, timeout=120):
    """Run a workspace tool as a user would, but with 1-second HTTP timeouts (with_short_timeouts.py);
    its output is kept for the credentials' leak check."""
    command = [sys.executable, str(SHORT_TIMEOUT_LAUNCHER), str(TOOLS_DIR / tool)] + [str(arg) for arg in args]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=str(REPO), timeout=timeout,
                               env=credentials.environment())
    credentials.outputs.append(completed.stdout + completed.stderr)
    return completed


def token_file_problem(path, refresh_token):
    """What is wrong with the token file after a fault or a crash: "missing", "damaged" (not a
    whole token file), "refresh token lost" (another or no refresh token), or None."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return "missing"
    try:
        record = json.loads(text)
    except ValueError:
        return "damaged"
    if not isinstance(record, dict) or not all(record.get(key) for key in ("access_token", "api_domain")):
        return "damaged"
    if record.get("refresh_token") != refresh_token:
        return "refresh token lost"
    try:
        oauth.parse_time(record["expires_at"])
    except (KeyError, TypeError, ValueError):
        return "damaged"
    return None

"""Helpers of the reliability tests: the playbook and tool harnesses of tests/role and tests/tools
(reused, not copied), plus what these tests add: credentials with tokens, a provisioned host,
running a tool with short timeouts, the check that the token file survived, snapshots that prove
"nothing changed", the one-line-error check for every surface, and ad hoc module runs.
"""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import zoho_crm_oauth as oauth

RELIABILITY_DIR = Path(__file__).resolve().parent
REPO = RELIABILITY_DIR.parents[1]
SHORT_TIMEOUT_LAUNCHER = RELIABILITY_DIR / "with_short_timeouts.py"
for harness_dir in ("role", "tools"):
    if str(REPO / "tests" / harness_dir) not in sys.path:
        sys.path.insert(0, str(REPO / "tests" / harness_dir))

from playbook_harness import VENV_BIN, DeviceApprover, Playbooks, mode, recap  # noqa: E402
from tool_harness import TOOLS_DIR, Credentials, assert_one_line_error, tool_environment  # noqa: E402
from zoho_sandbox import Sandbox  # noqa: E402

__all__ = ["RELIABILITY_DIR", "REPO", "TOOLS_DIR", "VENV_BIN", "Credentials", "DeviceApprover", "Playbooks",
           "ansible_module", "assert_one_line_error", "assert_unchanged", "authorized_credentials", "closed_port",
           "error_line", "failure_message", "mode", "provisioned_host", "recap", "run_with_short_timeouts", "snapshot",
           "stand_in_state", "token_file_problem", "tool_environment"]


def snapshot(root):
    """Every file and directory under root (root included): name -> (kind, mode, uid, gid, bytes).
    Equal snapshots mean nothing was created, removed, rewritten, chmod-ed or chown-ed."""
    root = Path(root)
    if not root.exists():
        return {}
    entries = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        entries[str(path.relative_to(root))] = (kind, info.st_mode & 0o7777, info.st_uid, info.st_gid, content)
    return entries


def assert_unchanged(before, after):
    """after == before, except that the token file's lock may have appeared: an empty 0600 sidecar
    that the first process to take the lock creates and that only revoke removes. It holds nothing."""
    lock = oauth.TOKENS_FILENAME + ".lock"
    if lock in after and lock not in before:
        kind, file_mode, _uid, _gid, content = after[lock]
        assert (kind, file_mode, content) == ("file", 0o600, b""), after[lock]
        after = {name: entry for name, entry in after.items() if name != lock}
    assert after == before


def stand_in_state(zoho):
    """What a failed attempt must not have changed at Zoho: the live tokens per client (a mint adds an
    access token, an exchange a refresh token, a revoke removes one) and the number of revokes."""
    return {"live_tokens": zoho.live_tokens(), "revokes": zoho.counters()["revoke"]}


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def error_line(stderr):
    """The one line a failing tool prints; AssertionError when there is not exactly one."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, "expected one error line, got:\n" + stderr
    return lines[0]


def failure_message(output):
    """What the operator reads of the one failed task: ansible-core's "[ERROR]: Task failed: ..."
    (shown even for no_log tasks), else the result's msg (results printed as JSON). Multi-line
    messages are returned whole, so a one-line check can fail."""
    error = re.search(r"^\[ERROR\]: Task failed: (?:Action failed: )?(.*?)\n(?:Origin:|\n)", output,
                      re.MULTILINE | re.DOTALL)
    if error:
        return error.group(1)
    marker = "FAILED! => "
    assert marker in output, output[-3000:]
    start = output.index(marker) + len(marker)
    result, _end = json.JSONDecoder().raw_decode(output[start:])
    return result["msg"]


def ansible_module(credentials_dir, *module_args, verbosity=1):
    """Run the zoho_crm_token module ad hoc with `ansible`, as an operator would; (exit, output)."""
    arguments = ["token_path=%s" % (Path(credentials_dir) / oauth.TOKENS_FILENAME),
                 "client_secret_path=%s" % (Path(credentials_dir) / oauth.CLIENT_SECRET_FILENAME), *module_args]
    command = [str(VENV_BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable, "-m", "zoho_crm_token",
               "-a", " ".join(arguments), "-" + "v" * verbosity]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180,
                               env=ansible_environment())
    return completed.returncode, completed.stdout + completed.stderr


def ansible_environment(**extra):
    """ansible's environment for these tests: plain text, and results as JSON so a failure's msg can
    be read back exactly (the yaml format folds long lines)."""
    return dict(os.environ, PATH="%s:%s" % (VENV_BIN, os.environ["PATH"]), ANSIBLE_NOCOLOR="1",
                ANSIBLE_FORCE_COLOR="0", ANSIBLE_CALLBACK_RESULT_FORMAT="json", **extra)


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


def provisioned_host(directory):
    """A generator for a module-scoped fixture: one host provisioned on its own stand-in (a
    provision run is costly, so the cases that only need tokens in place share it)."""
    zoho = Sandbox().start()
    try:
        playbooks = Playbooks(zoho, directory)
        playbooks.provision()
        yield playbooks
    finally:
        zoho.stop()

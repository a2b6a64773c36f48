"""`make demo` end to end, into a temporary directory instead of demo/."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def processes_mentioning(text):
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.append(cmdline.parent.name)
        except OSError:
            pass  # the process ended while we looked
    return found


def test_demo_runs_the_main_job_and_leaves_nothing_running(tmp_path, path_without_crontab, check_demo_output):
    """As on a newcomer's machine, where cron is not installed: no crontab on PATH."""
    demo_dir = tmp_path / "demo"
    completed = subprocess.run([sys.executable, "scripts/demo.py", str(demo_dir)], cwd=ROOT, capture_output=True,
                               text=True, timeout=600,
                               env=dict(os.environ, ANSIBLE_NOCOLOR="1", PATH=path_without_crontab))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    check_demo_output(output)
    assert not (demo_dir / "auth-code.json").exists()
    cron_entry = (demo_dir / "crontab").read_text().splitlines()[1]
    assert cron_entry.startswith("*/10 * * * * ") and "tools/zoho-crm-refresh-token.py" in cron_entry
    assert cron_entry in output  # shown to the viewer
    assert processes_mentioning(str(demo_dir)) == []

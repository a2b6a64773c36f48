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


def test_demo_runs_the_main_job_and_leaves_nothing_running(tmp_path, check_demo_output):
    demo_dir = tmp_path / "demo"
    completed = subprocess.run([sys.executable, "scripts/demo.py", str(demo_dir)], cwd=ROOT, capture_output=True,
                               text=True, timeout=600, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    check_demo_output(output)
    assert not (demo_dir / "auth-code.json").exists()
    assert "zoho_crm token refresh" in (demo_dir / "crontab").read_text()
    assert processes_mentioning(str(demo_dir)) == []

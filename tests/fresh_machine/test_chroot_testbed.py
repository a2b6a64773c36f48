"""scripts/chroot-testbed.sh takes down what it made, and only that: the fresh machine and every
molecule target rely on it to leave no process, mount or file behind, pass or fail."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROOT_TESTBED = str(ROOT / "scripts/chroot-testbed.sh")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the script needs root (debootstrap, chroot, mount)")


def run_testbed(*args):
    return subprocess.run([CHROOT_TESTBED, *map(str, args)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def bed_dir():
    path = Path("/var/tmp") / f"zoho-crm-chroot-testbed-test.{secrets.token_hex(4)}"
    yield path
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)


def test_destroy_refuses_a_directory_it_did_not_make(bed_dir):
    bed_dir.mkdir()
    (bed_dir / "precious").write_text("keep me")
    result = run_testbed("destroy", bed_dir)
    assert result.returncode == 1
    assert result.stderr == f"chroot-testbed: {bed_dir} was not made by this script (no .chroot-testbed); not touching it\n"
    assert (bed_dir / "precious").read_text() == "keep me"


def test_create_refuses_an_existing_directory(bed_dir):
    bed_dir.mkdir()
    result = run_testbed("create", bed_dir, "bookworm", "")
    assert result.returncode == 1 and f"{bed_dir} exists; run: " in result.stderr
    assert list(bed_dir.iterdir()) == []


def test_check_destroyed_names_what_is_left_and_destroy_removes_it(bed_dir):
    bed_dir.mkdir()
    (bed_dir / ".chroot-testbed").touch()
    # A helper started outside the chroot that names the bed on its command line, as the stand-in does.
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(bed_dir)])
    try:
        left = run_testbed("check-destroyed", bed_dir)
        assert left.returncode == 1
        assert f"process: {helper.pid} " in left.stderr and f"directory: {bed_dir}" in left.stderr

        destroyed = run_testbed("destroy", bed_dir)
        assert destroyed.returncode == 0, destroyed.stderr
        assert f"\n{helper.pid} " in destroyed.stderr  # named among the processes it stopped
        assert helper.wait(timeout=10) == -15  # SIGTERM
        assert not bed_dir.exists()
        assert run_testbed("check-destroyed", bed_dir).returncode == 0
    finally:
        helper.kill()
        helper.wait()


@pytest.mark.parametrize("args", [["remove", "/var/tmp/x"], ["create", "/var/tmp/x"], ["destroy"]])
def test_bad_usage_is_one_line(args):
    result = run_testbed(*args)
    assert result.returncode == 1
    assert result.stderr == f"chroot-testbed: usage: {CHROOT_TESTBED} create DIR SUITE PACKAGES | destroy DIR | check-destroyed DIR\n"

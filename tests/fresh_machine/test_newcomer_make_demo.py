"""The README's promise to a newcomer: on a fresh Debian 12 with only the README's prerequisites,
an ordinary user clones the repository and `make demo` runs to the end.

The machine is a debootstrapped bookworm root (minbase plus exactly the packages of the README's
prerequisites line, without their recommends) in a chroot: scripts/chroot-testbed.sh builds it
(the rootfs is cached by scripts/debian-rootfs.sh) and takes it down again, pass or fail. Of the
controller it gets only its network settings: name resolution and the certificates it trusts.
The repository under test is offered inside it as a bare repository holding this checkout's
commit (with its uncommitted changes to tracked files, if any: `git add` a new file to test it);
the newcomer clones it with the machine's git and runs `make demo` from a login shell, so the
venv, pip's downloads from PyPI and the demo all happen as that user, on that machine.
"""

import os
import re
import secrets
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROOT_TESTBED = ROOT / "scripts/chroot-testbed.sh"
SUITE = "bookworm"
# What the controller trusts for TLS: on a network whose egress inspects TLS (a proxy with its own
# CA) the machine must trust that CA too, as the controller does, or pip cannot reach PyPI.
CONTROLLER_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
NEWCOMER = "newcomer"
ORIGIN = "/srv/zoho-crm.git"  # where the newcomer clones from, inside the machine
PREREQUISITES_LINE = re.compile(r"^apt-get install (?P<packages>[a-z0-9.+\- ]+?)\s+# the prerequisites$", re.MULTILINE)


def readme_prerequisites():
    """The Debian packages of the README's one prerequisites line."""
    lines = PREREQUISITES_LINE.findall((ROOT / "README.md").read_text())
    assert len(lines) == 1, ("README.md must have exactly one line 'apt-get install PACKAGES    # the prerequisites', "
                             f"found {len(lines)}")
    return lines[0].split()


def test_the_readme_has_one_prerequisites_line():
    assert readme_prerequisites()


def run(*command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def commit_under_test():
    """This checkout's HEAD, or a commit of its working tree when tracked files have changes."""
    stash = run("git", "-C", str(ROOT), "stash", "create").stdout.strip()
    return stash or run("git", "-C", str(ROOT), "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def fresh_machine():
    """The rootfs of a fresh Debian 12 with the README's prerequisites, destroyed afterwards."""
    bed = Path("/var/tmp") / f"zoho-crm-fresh-machine.{secrets.token_hex(4)}"
    try:
        created = subprocess.run([str(CHROOT_TESTBED), "create", str(bed), SUITE, ",".join(readme_prerequisites())],
                                 capture_output=True, text=True, timeout=1800)
        assert created.returncode == 0, created.stderr
        rootfs = bed / "rootfs"
        if CONTROLLER_CA_BUNDLE.exists():  # pip's own bundle lacks a TLS-inspecting proxy's CA
            (rootfs / "etc/ssl/certs").mkdir(parents=True, exist_ok=True)
            (rootfs / "etc/ssl/certs/ca-certificates.crt").write_bytes(CONTROLLER_CA_BUNDLE.read_bytes())
            (rootfs / "etc/pip.conf").write_text(f"[global]\ncert = {CONTROLLER_CA_BUNDLE}\n")
        yield rootfs
    finally:
        destroyed = subprocess.run([str(CHROOT_TESTBED), "destroy", str(bed)], capture_output=True, text=True, timeout=120)
        left = subprocess.run([str(CHROOT_TESTBED), "check-destroyed", str(bed)], capture_output=True, text=True, timeout=60)
        assert destroyed.returncode == 0 and left.returncode == 0, destroyed.stderr + left.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for debootstrap, chroot and mount (CI runs make test as root)")
def test_make_demo_on_a_fresh_debian_12_as_an_ordinary_user(fresh_machine, check_demo_output):
    rootfs = fresh_machine
    run("chroot", str(rootfs), "useradd", "--create-home", "--shell", "/bin/bash", NEWCOMER)
    run("git", "init", "--quiet", "--bare", "--initial-branch=main", f"{rootfs}{ORIGIN}")
    # Fetched, not pushed from the checkout: no hook of the checkout's runs.
    run("git", "-C", f"{rootfs}{ORIGIN}", "fetch", "--quiet", str(ROOT), f"{commit_under_test()}:refs/heads/main")
    # The newcomer's own copy of the project's repository (git refuses to read another user's).
    run("chroot", str(rootfs), "chown", "--recursive", f"{NEWCOMER}:", ORIGIN)

    # A login shell of the newcomer's: a clean environment, the PATH of /etc/login.defs, no root.
    demo = subprocess.run(["chroot", str(rootfs), "runuser", "--login", NEWCOMER, "--command",
                           f"set -e; id -u; git clone --quiet {ORIGIN} zoho-crm; cd zoho-crm; make demo"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    assert demo.returncode == 0, demo.stdout
    assert demo.stdout.split("\n", 1)[0] != "0", "make demo ran as root"
    check_demo_output(demo.stdout)
    # Only what the demo needs was installed: Ansible, not the test tools.
    installed = run("chroot", str(rootfs), "runuser", "--login", NEWCOMER, "--command",
                    "zoho-crm/.venv/bin/pip list --format=freeze").stdout
    assert "ansible-core==" in installed and "pytest==" not in installed and "molecule==" not in installed

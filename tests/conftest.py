"""Shared fixtures: the Zoho stand-in (sandbox/zoho_sandbox), started per test on a free loopback port,
over http or (tls_zoho) https with a test CA; a CONNECT proxy (tls_and_proxy.py); a PATH without
crontab, as on a machine where cron is not installed; and the check of what `make demo` shows."""

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from zoho_sandbox import Sandbox

from tls_and_proxy import CertificateAuthority, ConnectProxy

# Where ansible.builtin.cron looks for crontab besides PATH (AnsibleModule.get_bin_path).
SBIN_DIRS = ("/sbin", "/usr/sbin", "/usr/local/sbin")


@pytest.fixture
def make_zoho():
    """Factory: make_zoho(**Sandbox kwargs) -> a started Sandbox; all are stopped after the test."""
    started = []

    def make(**kwargs):
        sandbox = Sandbox(**kwargs).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def zoho(make_zoho):
    """A started Sandbox with default settings (one DC "us", 60 deals)."""
    return make_zoho()


@pytest.fixture
def certificate_authority(tmp_path):
    """A throwaway CA; its PEM file is certificate_authority.ca_file."""
    return CertificateAuthority(tmp_path)


@pytest.fixture
def tls_zoho(make_zoho, certificate_authority):
    """A started Sandbox serving https://127.0.0.1:PORT with a certificate of certificate_authority."""
    return make_zoho(tls=certificate_authority.server_context())


@pytest.fixture
def make_proxy():
    """Factory: make_proxy(credentials=None) -> a running ConnectProxy; all are stopped after the test."""
    started = []

    def make(credentials=None):
        proxy = ConnectProxy(credentials)
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()


@pytest.fixture
def check_demo_output():
    """check_demo_output(output): the demo's output shows the whole job, as the README's list says."""

    def check(output):
        assert "Zoho CRM is waiting for your approval" in output
        assert "Deal #1: Oakland School District - Grant Funded - Stage: Qualification" in output
        assert "✓ Test successful! Zoho CRM API is working." in output
        # The refresh schedule it installed in demo/crontab, shown to the viewer.
        assert re.search(r"^\*/10 \* \* \* \* .*python3 tools/zoho-crm-refresh-token\.py ", output, re.MULTILINE)
        assert output.rstrip().endswith("Zoho stand-in stopped.")
        # The three playbook runs: waiting for approval, authorized (changes), then nothing to change.
        recaps = re.findall(r"^demo-vps\s*:.*$", output, re.MULTILINE)
        assert len(recaps) == 3, recaps
        assert "failed=0" in recaps[0] and "changed=0" not in recaps[1], recaps
        assert "changed=0" in recaps[2] and "failed=0" in recaps[2], recaps

    return check


@pytest.fixture(scope="session")
def path_without_crontab(tmp_path_factory):
    """A PATH (the venv's bin first) that finds every program this one finds but crontab: one
    directory of links to them, as on a machine without the cron package."""
    programs = tmp_path_factory.mktemp("path-without-crontab")
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = programs / entry.name
            if entry.name != "crontab" and not os.path.lexists(link) and os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    path = f"{Path(sys.executable).parent}{os.pathsep}{programs}"
    assert shutil.which("crontab", path=path) is None
    assert not any(os.path.exists(os.path.join(directory, "crontab")) for directory in SBIN_DIRS), \
        "crontab is in an sbin directory, where ansible.builtin.cron finds it whatever PATH says"
    return path

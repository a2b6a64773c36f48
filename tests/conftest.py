"""Shared fixtures: the Zoho stand-in (sandbox/zoho_sandbox), started per test on a free loopback port,
and the check of what `make demo` shows."""

import re

import pytest
from zoho_sandbox import Sandbox


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
def check_demo_output():
    """check_demo_output(output): the demo's output shows the whole job, as the README's list says."""

    def check(output):
        assert "Zoho CRM is waiting for your approval" in output
        assert "Deal #1: Oakland School District - Grant Funded - Stage: Qualification" in output
        assert "✓ Test successful! Zoho CRM API is working." in output
        assert output.rstrip().endswith("Zoho stand-in stopped.")
        # The three playbook runs: waiting for approval, authorized (changes), then nothing to change.
        recaps = re.findall(r"^demo-vps\s*:.*$", output, re.MULTILINE)
        assert len(recaps) == 3, recaps
        assert "failed=0" in recaps[0] and "changed=0" not in recaps[1], recaps
        assert "changed=0" in recaps[2] and "failed=0" in recaps[2], recaps

    return check

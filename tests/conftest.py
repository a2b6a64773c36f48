"""Shared fixtures: the Zoho stand-in (sandbox/zoho_sandbox), started per test on a free loopback port."""

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

"""Shared fixtures: the Zoho stand-in (sandbox/zoho_sandbox), started per test on a free loopback port,
over http or (tls_zoho) https with a test CA; and a CONNECT proxy (tls_and_proxy.py)."""

import pytest
from zoho_sandbox import Sandbox

from tls_and_proxy import CertificateAuthority, ConnectProxy


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

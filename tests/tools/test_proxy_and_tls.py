"""The tools against Zoho over TLS, as a user behind a corporate proxy runs them: HTTPS_PROXY carries
the refresh and the CRM calls through a CONNECT proxy, NO_PROXY bypasses it, certificates are
verified against the CA file named by SSL_CERT_FILE (or REQUESTS_CA_BUNDLE)."""

import json

import pytest

import zoho_crm_oauth as oauth

from tool_harness import assert_one_line_error

OAKLAND = "Oakland School District - Grant Funded"


@pytest.fixture
def over_tls(make_credentials, tls_zoho, certificate_authority, monkeypatch):
    """Tokens from the stand-in over https (the test process trusts the CA for the setup only)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate_authority.ca_file))
    credentials = make_credentials(tls_zoho)
    credentials.authorize()
    monkeypatch.delenv("SSL_CERT_FILE")
    assert credentials.tokens()["api_domain"].startswith("https://127.0.0.1:")
    return credentials


def calls(zoho):
    counters = zoho.counters()
    return counters["token"]["refresh_token"], sum(counters["crm"].values())


def test_https_proxy_carries_the_refresh_and_the_crm_calls_and_no_proxy_bypasses_it(over_tls, make_proxy,
                                                                                     certificate_authority):
    proxy = make_proxy()
    zoho = over_tls.zoho
    env = {"SSL_CERT_FILE": str(certificate_authority.ca_file), "HTTPS_PROXY": proxy.url()}
    tunnel = "127.0.0.1:%d" % zoho.port
    deal_id = zoho.org.deals.id(0)

    refresh = over_tls.run("zoho-crm-refresh-token.py", "--force", env=env)  # the token endpoint only
    assert refresh.returncode == 0, refresh.stderr
    assert proxy.tunnels == [tunnel] and calls(zoho) == (1, 0)

    deal = over_tls.run("zoho-crm.py", "--json", "deals", "get", deal_id, env=env)  # the CRM only
    assert deal.returncode == 0, deal.stderr
    assert json.loads(deal.stdout)["deal"]["Deal_Name"] == OAKLAND
    assert proxy.tunnels == [tunnel] * 2 and calls(zoho) == (1, 1)

    over_tls.expire_access_token()  # both, in one process: one tunnel, kept alive for the two
    both = over_tls.run("zoho-crm.py", "--json", "deals", "get", deal_id, env=env)
    assert both.returncode == 0, both.stderr
    assert proxy.tunnels == [tunnel] * 3 and calls(zoho) == (2, 2)

    over_tls.expire_access_token()
    bypassed = over_tls.run("zoho-crm.py", "--json", "deals", "get", deal_id, env=dict(env, NO_PROXY="127.0.0.1"))
    assert bypassed.returncode == 0, bypassed.stderr
    assert proxy.tunnels == [tunnel] * 3 and calls(zoho) == (3, 3)


def test_a_proxy_that_refuses_is_one_line_naming_the_proxy(over_tls, make_proxy, certificate_authority):
    proxy = make_proxy(credentials=("agent", "right"))
    env = {"SSL_CERT_FILE": str(certificate_authority.ca_file), "HTTPS_PROXY": proxy.url("agent", "wrong")}
    completed = over_tls.run("zoho-crm.py", "--json", "deals", "list", "--limit", "1", env=env)
    assert_one_line_error(completed, "The proxy 127.0.0.1:%d refused" % proxy.port, "HTTPS_PROXY")
    assert completed.returncode == oauth.EXIT_CONFIG
    assert "wrong" not in completed.stderr
    assert json.loads(completed.stdout)["error"]["code"] == "config"
    assert calls(over_tls.zoho) == (0, 0)


@pytest.mark.parametrize("tool, args", [("zoho-crm.py", ("--json", "deals", "list", "--limit", "1")),
                                        ("zoho-crm-refresh-token.py", ("--force",))])
def test_an_unknown_certificate_authority_is_refused_with_the_fix(over_tls, tool, args):
    if tool == "zoho-crm-refresh-token.py":  # as cron runs it: the error goes to the log and stderr
        args += ("--log-file", over_tls.directory.parent / "refresh.log")
    completed = over_tls.run(tool, *args)
    assert_one_line_error(completed, "Cannot verify the TLS certificate of 127.0.0.1", "SSL_CERT_FILE")
    assert completed.returncode == oauth.EXIT_CONFIG
    assert calls(over_tls.zoho) == (0, 0)


def test_requests_ca_bundle_is_honoured_as_requests_honoured_it(over_tls, certificate_authority):
    completed = over_tls.run("zoho-crm-test.py", env={"REQUESTS_CA_BUNDLE": str(certificate_authority.ca_file)})
    assert completed.returncode == 0, completed.stderr
    assert "✓ Connected to: https://127.0.0.1:" in completed.stdout

"""zoho_crm_oauth.Transport against the stand-in (http and https) and a CONNECT proxy: keep-alive,
TLS verification, timeouts, retries, proxies and NO_PROXY, compressed answers."""

import gzip
import http.server
import json
import threading
import time
from urllib.parse import urlencode

import pytest

import zoho_crm_oauth as oauth

ENVIRONMENT = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_FILE",
               "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def trusted(monkeypatch, certificate_authority):
    """The test CA made known the way a user would: SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate_authority.ca_file))


def server_info(zoho, transport=None):
    """One request with no token needed: the accounts server's serverinfo."""
    return (transport or oauth.Transport()).request("GET", zoho.accounts_url() + "/oauth/serverinfo")


# ---- keep-alive ------------------------------------------------------------------------------

def test_one_connection_serves_every_call_of_a_process(tls_zoho, trusted, make_proxy, monkeypatch):
    proxy = make_proxy()  # each new connection is one CONNECT here: the proxy counts them
    monkeypatch.setenv("HTTPS_PROXY", proxy.url())
    transport = oauth.Transport()
    answers = [server_info(tls_zoho, transport) for _ in range(5)]
    assert [answer.status for answer in answers] == [200] * 5
    assert answers[0].json_object()["result"] == "success"
    assert proxy.tunnels == ["127.0.0.1:%d" % tls_zoho.port]


def test_a_connection_the_other_side_closed_is_replaced_without_a_retry(tls_zoho, trusted, make_proxy,
                                                                         monkeypatch):
    proxy = make_proxy()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url())
    transport = oauth.Transport(max_retries=0)
    assert server_info(tls_zoho, transport).status == 200
    proxy.close_tunnels()  # as a server or a proxy does with idle keep-alive connections
    time.sleep(oauth.IDLE_CHECK_SECONDS)  # idle: checked before use
    assert server_info(tls_zoho, transport).status == 200
    assert len(proxy.tunnels) == 2


# ---- TLS -------------------------------------------------------------------------------------

def test_tls_is_verified_by_default(tls_zoho):
    with pytest.raises(oauth.CertificateError, match="Cannot verify the TLS certificate of 127.0.0.1") as raised:
        server_info(tls_zoho, oauth.Transport(max_retries=3))
    assert "SSL_CERT_FILE" in str(raised.value) and "Fix:" in str(raised.value)
    assert (raised.value.exit_status, raised.value.retry) == (oauth.EXIT_CONFIG, oauth.RETRY_NEVER)
    assert tls_zoho.request_log() == []  # refused at the handshake: nothing was sent


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_file_named_as_users_do_is_trusted(tls_zoho, certificate_authority, monkeypatch, variable):
    monkeypatch.setenv(variable, str(certificate_authority.ca_file))
    assert server_info(tls_zoho).status == 200


def test_a_missing_ca_bundle_is_a_configuration_error(tls_zoho, monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nowhere.pem"))
    with pytest.raises(oauth.CertificateError, match="Cannot load the CA bundle .*nowhere.pem"):
        server_info(tls_zoho)


def test_validate_certs_false_is_for_a_local_test_server(tls_zoho):
    assert server_info(tls_zoho, oauth.Transport(validate_certs=False)).status == 200


# ---- failures, timeouts, retries -----------------------------------------------------------

def test_a_slow_answer_times_out(zoho):
    zoho.inject_fault("auth", "delay", delay=1.0)
    with pytest.raises(oauth.TransportError, match=r"did not answer within 0.2 s \(timed out\)") as raised:
        server_info(zoho, oauth.Transport(timeout=(2, 0.2)))
    assert raised.value.retry == oauth.RETRY_NOW


@pytest.mark.parametrize("kind, reason", [("reset", "Cannot reach"), ("truncated", "the answer was cut off")])
def test_a_dropped_or_cut_off_answer_is_a_transient_transport_error(zoho, kind, reason):
    zoho.inject_fault("auth", kind)
    with pytest.raises(oauth.TransportError, match=reason):
        server_info(zoho)


def test_call_retries_what_retries_now_with_jittered_backoff(monkeypatch):
    slept = []
    monkeypatch.setattr(oauth.time, "sleep", slept.append)
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise oauth.ServerError("busy. Fix: wait.")
        return "done"

    transport = oauth.Transport(max_retries=3, backoff=0.5, max_backoff=5.0)
    assert transport.call(flaky) == "done"
    assert len(attempts) == 3
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0


@pytest.mark.parametrize("error", [oauth.TokenThrottledError("x"), oauth.InvalidCodeError("x"),
                                   oauth.CertificateError("x")], ids=lambda error: type(error).__name__)
def test_call_never_retries_what_a_retry_cannot_cure(error, monkeypatch):
    monkeypatch.setattr(oauth.time, "sleep", lambda seconds: pytest.fail("slept before a useless retry"))
    attempts = []

    def failing():
        attempts.append(1)
        raise error

    with pytest.raises(type(error)):
        oauth.Transport(max_retries=3).call(failing)
    assert len(attempts) == 1


def test_retries_are_bounded_and_backoff_capped(monkeypatch):
    slept = []
    monkeypatch.setattr(oauth.time, "sleep", slept.append)

    def down():
        raise oauth.TransportError("down. Fix: wait.")

    with pytest.raises(oauth.TransportError):
        oauth.Transport(max_retries=6, backoff=1.0, max_backoff=3.0).call(down)
    assert len(slept) == 6 and max(slept) <= 3.0 and min(slept[2:]) >= 1.5


def test_the_refresh_is_retried_by_the_transport_it_is_given(zoho, tmp_path):
    client = oauth.ClientConfig(zoho.client["client_id"], zoho.client["client_secret"],
                                zoho.accounts_url() + oauth.TOKEN_PATH)
    record = oauth.exchange_code(client, oauth.parse_authorization_response(
        zoho.self_client_code(list(oauth.DEFAULT_SCOPES))))
    zoho.inject_fault("token", "status_503", count=2)
    with pytest.raises(oauth.TransportError, match="HTTP 503 without JSON"):
        oauth.refresh_access_token(client, record, oauth.Transport(max_retries=1, backoff=0.01))
    assert zoho.counters()["token"]["refresh_token"] == 2
    assert oauth.refresh_access_token(client, record, oauth.Transport(max_retries=1, backoff=0.01)).access_token


def test_the_exchange_is_never_retried(zoho):
    client = oauth.ClientConfig(zoho.client["client_id"], zoho.client["client_secret"],
                                zoho.accounts_url() + oauth.TOKEN_PATH)
    zoho.inject_fault("token", "status_503", count=1)
    code = zoho.self_client_code(list(oauth.DEFAULT_SCOPES))
    with pytest.raises(oauth.TransportError):
        oauth.exchange_code(client, oauth.parse_authorization_response(code), oauth.Transport(max_retries=3))
    assert zoho.counters()["token"]["authorization_code"] == 1


def test_a_token_endpoint_that_is_not_one_is_a_configuration_error(zoho):
    client = oauth.ClientConfig(zoho.client["client_id"], zoho.client["client_secret"],
                                zoho.accounts_url() + "/oauth/v2/nowhere")
    record = oauth.TokenRecord("1000.a.b", zoho.api_domain(), refresh_token="1000.r.t",
                               accounts_server=zoho.accounts_url() + "/wrong")
    with pytest.raises(oauth.ConfigError, match="answered HTTP 404 without JSON: .* is not a Zoho token endpoint"):
        oauth.refresh_access_token(client, record)


# ---- compressed answers ----------------------------------------------------------------------

class GzipHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = gzip.compress(json.dumps({"data": [{"id": "1"}], "accept": self.headers["Accept-Encoding"]}).encode())
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def test_a_gzip_answer_is_decompressed():
    server = http.server.HTTPServer(("127.0.0.1", 0), GzipHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = oauth.Transport().request("GET", "http://127.0.0.1:%d/x" % server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
    assert answer.json_object() == {"data": [{"id": "1"}], "accept": "gzip"}


class EchoPathHandler(http.server.BaseHTTPRequestHandler):
    """Answers any request with the path and body it received, as JSON."""

    def do_GET(self):
        self.do_POST()

    def do_POST(self):
        sent = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("ascii")
        body = json.dumps({"path": self.path, "body": sent}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def echo_url():
    server = http.server.HTTPServer(("127.0.0.1", 0), EchoPathHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


QUERIES = [{"fields": "Deal_Name,Stage,Owner", "per_page": 200, "page": 3},
           {"word": "Müller & Söhne = 100% + more", "criteria": "(Stage:equals:Closed Won)"},
           {"page_token": "a/b+c==", "empty": "", "bytes": b"\x00\xff,"}]


@pytest.mark.parametrize("params", QUERIES)
def test_a_query_string_is_urlencoded_exactly_each_time(echo_url, params):
    # The quoting of query values is remembered (_quote_query_value): a remembered one must be the same.
    transport = oauth.Transport()
    for _call in range(2):
        answer = transport.request("GET", echo_url + "/crm/v8/Deals?x=1", params=params)
        assert answer.json_object()["path"] == "/crm/v8/Deals?x=1&" + urlencode(params)


def test_a_form_is_never_remembered_with_the_query_values(echo_url):
    # A form carries the client secret and tokens: none of it may stay in the quoting cache.
    before = oauth._quote_query_value.cache_info().currsize
    form = {"client_secret": "a-secret-%d" % time.monotonic_ns(), "refresh_token": "1000.a-refresh-token"}
    answer = oauth.Transport().request("POST", echo_url + "/oauth/v2/token", form=form)
    assert answer.json_object()["body"] == urlencode(form)
    assert oauth._quote_query_value.cache_info().currsize == before


# ---- proxies ---------------------------------------------------------------------------------

def test_https_proxy_carries_https_and_no_proxy_bypasses_it(tls_zoho, trusted, make_proxy, monkeypatch):
    proxy = make_proxy()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url())
    assert server_info(tls_zoho).status == 200
    assert len(proxy.tunnels) == 1
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert server_info(tls_zoho).status == 200
    assert len(proxy.tunnels) == 1


def test_plain_http_never_goes_through_the_proxy(zoho, make_proxy, monkeypatch):
    proxy = make_proxy()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url())
    monkeypatch.setenv("ALL_PROXY", proxy.url())
    assert server_info(zoho).status == 200
    assert proxy.tunnels == []


def test_proxy_credentials_are_sent_and_never_shown(tls_zoho, trusted, make_proxy, monkeypatch):
    proxy = make_proxy(credentials=("agent", "p@ss word"))
    monkeypatch.setenv("HTTPS_PROXY", proxy.url("agent", "p%40ss%20word"))
    assert server_info(tls_zoho).status == 200
    monkeypatch.setenv("HTTPS_PROXY", proxy.url("agent", "wrong-password"))
    with pytest.raises(oauth.ConfigError, match="The proxy 127.0.0.1:%d refused to connect .*407" % proxy.port) \
            as raised:
        server_info(tls_zoho)
    assert "wrong-password" not in str(raised.value) and raised.value.exit_status == oauth.EXIT_CONFIG
    assert proxy.refused == 1


def test_an_unreachable_proxy_is_named(tls_zoho, trusted, make_proxy, monkeypatch):
    proxy = make_proxy()
    proxy.stop()
    monkeypatch.setenv("HTTPS_PROXY", "http://user:secret@127.0.0.1:%d" % proxy.port)
    with pytest.raises(oauth.TransportError, match="through the proxy 127.0.0.1:%d .*ConnectionRefused" % proxy.port) \
            as raised:
        server_info(tls_zoho)
    assert "secret" not in str(raised.value)


def test_only_http_proxies_are_understood(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://user:secret@proxy.example:1080")
    with pytest.raises(oauth.ConfigError, match="socks5://proxy.example in HTTPS_PROXY .* is not an http:// proxy"):
        oauth.proxy_for("www.zohoapis.com", 443)


def test_proxy_variables_are_read_as_requests_read_them(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:3128")
    assert oauth.proxy_for("www.zohoapis.com", 443).hostname == "upper"
    monkeypatch.setenv("https_proxy", "lower:8080")  # no scheme: http
    assert (oauth.proxy_for("www.zohoapis.com", 443).hostname, oauth.proxy_for("x", 443).port) == ("lower", 8080)
    monkeypatch.setenv("https_proxy", "")  # set empty: no proxy, whatever HTTPS_PROXY says
    assert oauth.proxy_for("www.zohoapis.com", 443) is None
    monkeypatch.delenv("https_proxy")
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("ALL_PROXY", "http://all:3128")
    assert oauth.proxy_for("www.zohoapis.com", 443).hostname == "all"


@pytest.mark.parametrize("no_proxy, host, port, bypassed", [
    ("*", "www.zohoapis.com", 443, True),
    ("zohoapis.com", "www.zohoapis.com", 443, True),
    (".zohoapis.com", "www.zohoapis.com", 443, True),
    ("zohoapis.com", "zohoapis.com", 443, True),
    ("zohoapis.com", "notzohoapis.com", 443, False),
    ("accounts.zoho.com", "www.zohoapis.com", 443, False),
    ("www.zohoapis.com:443", "www.zohoapis.com", 443, True),
    ("www.zohoapis.com:8443", "www.zohoapis.com", 443, False),
    ("10.0.0.0/8, 127.0.0.1", "10.1.2.3", 443, True),
    ("10.0.0.0/8", "192.168.1.1", 443, False),
    ("::1", "::1", 443, True),
    ("[::1]:443", "::1", 443, True),
    ("", "www.zohoapis.com", 443, False),
])
def test_no_proxy_entries(monkeypatch, no_proxy, host, port, bypassed):
    monkeypatch.setenv("no_proxy", no_proxy)
    assert oauth.bypasses_proxy(host, port) is bypassed

"""zoho_crm_oauth's device flow below the module: the answer's units, the pending-flow record and
file, and where an other_dc answer may send the client secret."""

import http.server
import json
import threading

import pytest

import zoho_crm_oauth as oauth

DEVICE_CODE = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"


def make_client(token_uri="https://accounts.zoho.com/oauth/v2/token"):
    return oauth.ClientConfig("1000.CLIENTID", "s3cret-value", token_uri)


def answer(**overrides):
    body = {"user_code": "BCDF-GHJK", "device_code": DEVICE_CODE,
            "verification_url": "https://accounts.zoho.com/oauth/v3/device", "expires_in": 300, "interval": 5}
    body.update(overrides)
    return body


@pytest.mark.parametrize("expires_in, interval, lifetime, gap, first_poll", [
    (300, 5, 300, 30, 5),             # seconds, as the stand-in sends by default
    (300000, 5000, 300, 30, 5),       # milliseconds, as one client's fixtures show: 5000 is 5 s, not 83 minutes
    (None, None, 300, 30, 0),         # neither said: Zoho's documented 5 minutes, the 30 s rule
    (300, 5000, 300, 30, 5),          # an interval no one would mean in seconds
    (600, 45, 600, 45, 45),           # an interval above 30 s is kept
])
def test_lifetime_and_poll_gap_whatever_the_units(expires_in, interval, lifetime, gap, first_poll):
    body = answer(expires_in=expires_in, interval=interval)
    flow = oauth.DeviceFlow.from_answer(body, make_client(), oauth.DEFAULT_SCOPES, "https://accounts.zoho.com", now=1000)
    assert flow.expires_at == 1000 + lifetime
    assert flow.poll_gap == gap and flow.next_poll_at() == 1000 + first_poll
    flow.last_poll_at = 1010
    assert flow.next_poll_at() == 1010 + gap


def test_the_device_code_is_in_the_file_and_nowhere_else():
    flow = oauth.DeviceFlow.from_answer(answer(), make_client(), oauth.DEFAULT_SCOPES, "https://accounts.zoho.com")
    assert DEVICE_CODE not in repr(flow) and DEVICE_CODE not in json.dumps(flow.redacted())
    assert "BCDF-GHJK" in repr(flow)
    again = oauth.DeviceFlow.from_json(flow.to_json(), "/x")
    assert again.to_json() == flow.to_json()


@pytest.mark.parametrize("broken", [{"device_code": None}, {"expires_at": "soon"}, {"accounts_server": "http://evil.example"},
                                    {"scopes": 7}, {"polls": "x"}])
def test_a_damaged_pending_file_is_one_error_naming_it(broken):
    data = oauth.DeviceFlow.from_answer(answer(), make_client(), oauth.DEFAULT_SCOPES,
                                        "https://accounts.zoho.com").to_json()
    data.update(broken)
    with pytest.raises(oauth.TokenFileError, match=r"/x is damaged\. Fix: delete it|Fix: delete /x and run again"):
        oauth.DeviceFlow.from_json(data, "/x")


@pytest.mark.parametrize("missing", ["device_code", "user_code", "verification_url"])
def test_an_answer_without_what_a_flow_needs_is_refused(missing):
    with pytest.raises(oauth.AuthorizationError, match="lacks %s" % missing):
        oauth.DeviceFlow.from_answer(answer(**{missing: None}), make_client(), oauth.DEFAULT_SCOPES,
                                     "https://accounts.zoho.com")


def test_a_pending_flow_serves_only_its_client_and_scopes_with_time_for_a_poll():
    flow = oauth.DeviceFlow.from_answer(answer(), make_client(), oauth.DEFAULT_SCOPES, "https://accounts.zoho.com", now=0)
    assert flow.serves(make_client(), list(reversed(oauth.DEFAULT_SCOPES)), now=0)
    assert not flow.serves(make_client(), ["ZohoCRM.modules.deals.READ"], now=0)
    assert not flow.serves(oauth.ClientConfig("1000.OTHER", "s", "https://accounts.zoho.com/oauth/v2/token"),
                           oauth.DEFAULT_SCOPES, now=0)
    assert not flow.serves(make_client(), oauth.DEFAULT_SCOPES, now=300 - oauth.DEVICE_POLL_GAP)


class RefusingTransport:
    """A transport that must not be used (Zoho's own data centers are known without asking)."""

    def request(self, *args, **kwargs):
        raise AssertionError("no request expected")


@pytest.mark.parametrize("location, server", [("eu", "https://accounts.zoho.eu"), ("IN", "https://accounts.zoho.in"),
                                              ("ca", "https://accounts.zohocloud.ca")])
def test_other_dc_at_zoho_maps_through_the_data_centers(location, server):
    assert oauth.accounts_server_for_location("https://accounts.zoho.com", location, RefusingTransport()) == server


@pytest.fixture
def serverinfo():
    """A real HTTP server answering /oauth/serverinfo with the locations a test sets."""
    locations = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"result": "success", "locations": locations}).encode()
            self.send_response(200 if self.path == oauth.SERVERINFO_PATH else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port, locations
    server.shutdown()
    server.server_close()


def test_other_dc_elsewhere_asks_serverinfo_and_takes_only_its_own_origin_or_zoho(serverinfo):
    base, locations = serverinfo
    locations.update(eu=base + "/eu/accounts", au="https://accounts.zoho.com.au", jp="https://accounts.evil.example")
    assert oauth.accounts_server_for_location(base + "/us/accounts", "eu", oauth.Transport()) == base + "/eu/accounts"
    assert oauth.accounts_server_for_location(base + "/us/accounts", "au", oauth.Transport()) == \
        "https://accounts.zoho.com.au"
    with pytest.raises(oauth.AuthorizationError, match=r"not Zoho's \(accounts.evil.example\).*Fix:"):
        oauth.accounts_server_for_location(base + "/us/accounts", "jp", oauth.Transport())
    with pytest.raises(oauth.ConfigError, match="'mars', which 127.0.0.1:[0-9]+ does not list. Fix: set the data"):
        oauth.accounts_server_for_location(base + "/us/accounts", "mars", oauth.Transport())


@pytest.mark.parametrize("error, grant, error_class, exit_status", [
    ("access_denied", "device_request", oauth.GrantCodeLimitError, oauth.EXIT_RETRY_LATER),
    ("access_denied", "device_token", oauth.DeviceFlowDeniedError, oauth.EXIT_REAUTHORIZE),
    ("expired", "device_token", oauth.DeviceFlowExpiredError, oauth.EXIT_REAUTHORIZE),
    ("invalid_code", "device_token", oauth.DeviceFlowError, oauth.EXIT_REAUTHORIZE),
    ("invalid_scope", "device_request", oauth.InvalidScopeError, oauth.EXIT_CONFIG),
    ("invalid_client", "device_request", oauth.InvalidClientError, oauth.EXIT_CONFIG),
    ("something_new", "device_token", oauth.OAuthError, oauth.EXIT_FAILED),
])
def test_each_device_flow_answer_is_its_own_one_line_error(error, grant, error_class, exit_status):
    exc = oauth.token_error({"error": error}, grant, "https://accounts.zoho.com")
    assert type(exc) is error_class and exc.exit_status == exit_status
    assert "Fix:" in str(exc) and "\n" not in str(exc)
    if error == "something_new":
        assert "refused the device-flow poll request (something_new)" in str(exc)

"""zoho-crm-oauth-init.py: the guide's URL block, and the --listen callback server end to end."""

import queue
import socket
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

import zoho_crm_oauth as oauth

from tool_harness import assert_one_line_error

INIT = "zoho-crm-oauth-init.py"


def open_in_browser(url):
    """(status, page text) of a GET, as a browser following the redirect would make it."""
    page = oauth.Transport(timeout=60).request("GET", url)
    return page.status, page.body.decode("utf-8")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_prints_the_guides_url_block_and_how_to_finish(credentials):
    completed = credentials.run(INIT)

    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == "Zoho CRM OAuth Authorization URL:"
    url = urlsplit(lines[1])
    assert "%s://%s%s" % (url.scheme, url.netloc, url.path) == credentials.zoho.accounts_url() + oauth.AUTH_PATH
    query = parse_qs(url.query)
    assert query["scope"] == [",".join(oauth.DEFAULT_SCOPES)]
    assert query["client_id"] == [credentials.zoho.client["client_id"]]
    assert query["response_type"] == ["code"]
    assert query["access_type"] == ["offline"]
    assert query["redirect_uri"] == [credentials.zoho.client["redirect_uri"]]
    assert len(query["state"][0]) >= 20
    assert "Copy this URL and open it in your browser." in lines
    assert "  python3 tools/zoho-crm-oauth-exchange.py -      (then paste it and press Enter)" in lines
    # The Self Client alternative: the data center's API console and the exact scope string.
    assert "  1. Open https://api-console.zoho.com, choose Self Client, then Generate Code." in lines
    assert "  2. Scope: %s" % ",".join(oauth.DEFAULT_SCOPES) in lines


def test_the_state_is_the_one_a_pasted_redirect_is_checked_against(credentials):
    def state():
        return parse_qs(urlsplit(credentials.run(INIT).stdout.splitlines()[1]).query)["state"][0]
    assert state() == state() == oauth.authorization_state(credentials.client(), str(credentials.token_path))


def test_self_client_console_follows_the_data_center(credentials):
    credentials.write_client_secret(data_center="eu")
    assert "Open https://api-console.zoho.eu, choose Self Client" in credentials.run(INIT).stdout


def test_warns_that_existing_tokens_are_kept(authorized):
    completed = authorized.run(INIT)
    assert completed.returncode == 0
    assert completed.stdout.startswith("Note: %s already exists." % authorized.token_path)


def test_missing_client_secret_file_is_a_configuration_error(credentials):
    credentials.client_secret_path.unlink()
    completed = credentials.run(INIT)
    assert_one_line_error(completed, "does not exist")
    assert completed.returncode == oauth.EXIT_CONFIG


def test_listen_refuses_a_redirect_uri_that_is_not_loopback(credentials):
    credentials.write_client_secret(redirect_uri="https://crm.example.org/oauth/callback")
    completed = credentials.run(INIT, "--listen")
    assert_one_line_error(completed, "loopback")
    assert completed.returncode == oauth.EXIT_CONFIG
    assert "Authorization URL" not in completed.stdout


def test_listen_reports_a_busy_port(credentials):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        credentials.write_client_secret(redirect_uri="http://localhost:%d/oauth/callback" % busy.getsockname()[1])
        completed = credentials.run(INIT, "--listen", "--timeout", "5")
    assert_one_line_error(completed, "Cannot listen on 127.0.0.1:")
    assert completed.returncode == oauth.EXIT_CONFIG


def test_listen_gives_up_after_the_timeout(credentials):
    credentials.write_client_secret(redirect_uri="http://localhost:%d/oauth/callback" % free_port())
    completed = credentials.run(INIT, "--listen", "--timeout", "1")
    assert_one_line_error(completed, "No redirect reached", "within 1 s")
    assert completed.returncode == oauth.EXIT_REAUTHORIZE


@pytest.mark.parametrize("timeout", ["0", "3601", "soon"])
def test_timeout_must_be_bounded(credentials, timeout):
    completed = credentials.run(INIT, "--listen", "--timeout", timeout)
    assert completed.returncode == 2
    assert "--timeout" in completed.stderr


class Listener:
    """init --listen as a background process, with its stdout read line by line."""

    def __init__(self, credentials, *args):
        self.process = credentials.start(INIT, "--listen", "--timeout", "60", *args)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, prefix):
        while True:
            line = self.lines.get(timeout=30)
            assert line is not None, "init --listen ended early: %s" % self.seen
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def finish(self):
        stderr = self.process.stderr.read()
        status = self.process.wait(timeout=60)
        while True:
            line = self.lines.get(timeout=30)
            if line is None:
                return status, "\n".join(self.seen), stderr
            self.seen.append(line)


@pytest.fixture
def listening(make_zoho, make_credentials):
    """A sandbox whose client is registered with a free loopback port, and credentials for it."""
    zoho = make_zoho(redirect_uri="http://localhost:%d/oauth/callback" % free_port())
    return make_credentials(zoho)


def start_listener(credentials, *args):
    listener = Listener(credentials, *args)
    listener.wait_for("Zoho CRM OAuth Authorization URL:")
    url = listener.wait_for("http")
    tunnel = listener.wait_for("If the browser runs on another machine")
    port = urlsplit(credentials.zoho.client["redirect_uri"]).port
    assert "ssh -L %d:127.0.0.1:%d user@vps" % (port, port) in tunnel
    return listener, url


def test_listen_catches_the_redirect_and_saves_the_tokens(listening):
    listener, url = start_listener(listening)
    location = listening.zoho.authorize(url)
    listening.seen_secrets.add(parse_qs(urlsplit(location).query)["code"][0])
    # A stray request (a browser's favicon) is not the redirect and does not end the wait.
    favicon = location.split("?")[0].replace("/oauth/callback", "/favicon.ico")
    assert open_in_browser(favicon)[0] == 404

    status_code, page = open_in_browser(location)

    status, stdout, stderr = listener.finish()
    listening.outputs.append(stdout + stderr + page)
    assert status == 0, stderr
    assert status_code == 200 and "Zoho CRM connected" in page
    assert "✓ Tokens retrieved successfully" in stdout
    assert "✓ Tokens saved to: %s" % listening.token_path in stdout
    assert listening.tokens()["accounts_server"] == listening.zoho.accounts_url()


def test_listen_reports_a_denied_authorization(listening):
    listener, url = start_listener(listening)
    location = listening.zoho.authorize(url, approve=False)

    status_code, page = open_in_browser(location)

    status, stdout, stderr = listener.finish()
    listening.outputs.append(stdout + stderr + page)
    assert status == oauth.EXIT_REAUTHORIZE
    assert status_code == 400 and "refused (access_denied)" in page
    assert "Error: The authorization was refused (access_denied)" in stderr
    assert not listening.token_path.exists()


def test_listen_refuses_a_redirect_with_another_state(listening):
    listener, url = start_listener(listening)
    forged = listening.zoho.authorize(url.replace("state=", "state=forged"))
    listening.seen_secrets.add(parse_qs(urlsplit(forged).query)["code"][0])

    status_code, page = open_in_browser(forged)

    status, stdout, stderr = listener.finish()
    listening.outputs.append(stdout + stderr + page)
    assert status == oauth.EXIT_REAUTHORIZE
    assert status_code == 400 and "state does not match" in page
    assert listening.zoho.counters()["token"]["authorization_code"] == 0  # the forged code was never used
    assert not listening.token_path.exists()


def test_listen_passes_the_exchange_failure_to_the_browser(listening):
    listener, url = start_listener(listening)
    location = listening.zoho.authorize(url)
    listening.seen_secrets.add(parse_qs(urlsplit(location).query)["code"][0])
    listening.zoho.inject_fault("token", "status_500")

    status_code, page = open_in_browser(location)

    status, stdout, stderr = listener.finish()
    listening.outputs.append(stdout + stderr + page)
    assert status == oauth.EXIT_RETRY_LATER
    assert status_code == 400 and "HTTP 500" in page
    assert not listening.token_path.exists()

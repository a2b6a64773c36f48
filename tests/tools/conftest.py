"""Fixtures for the workspace tools (helpers in tool_harness.py).

Every test here runs with `import requests` failing, in this process (requests_unavailable below)
and in the tools it starts (tool_harness.tool_environment): the agent's python3 has no requests.
The one exception is marked `uses_requests`: the adapter for a caller's own requests.Session.
"""

import sys

import pytest

from tool_harness import Credentials


class RequestsUnavailable:
    """A sys.meta_path finder that refuses requests and its submodules."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "requests" or name.startswith("requests."):
            raise ImportError("requests is not installed here: the tools must run on the standard library alone")
        return None


@pytest.fixture(autouse=True)
def requests_unavailable(request):
    if request.node.get_closest_marker("uses_requests"):
        yield
        return
    hidden = {name: module for name, module in sys.modules.items()
              if name == "requests" or name.startswith("requests.")}
    for name in hidden:
        del sys.modules[name]
    finder = RequestsUnavailable()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        sys.modules.update(hidden)


@pytest.fixture
def make_credentials(tmp_path):
    """Credentials on a given sandbox (e.g. one from make_zoho with other settings)."""
    made = []

    def make(zoho):
        directory = tmp_path / ("credentials-%d" % len(made))
        directory.mkdir(mode=0o700)
        creds = Credentials(directory, zoho)
        creds.write_client_secret()
        made.append(creds)
        return creds

    yield make
    for creds in made:
        creds.assert_no_secret_in(*creds.outputs)


@pytest.fixture
def credentials(make_credentials, zoho):
    return make_credentials(zoho)


@pytest.fixture
def authorized(credentials):
    credentials.authorize()
    return credentials

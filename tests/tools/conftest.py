"""Fixtures for the workspace tools (helpers in tool_harness.py)."""

import pytest

from tool_harness import Credentials


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

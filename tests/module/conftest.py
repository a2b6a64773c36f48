import pytest

from module_harness import ModuleRunner


@pytest.fixture
def credentials(tmp_path):
    directory = tmp_path / "credentials"
    directory.mkdir(mode=0o700)
    return directory


@pytest.fixture
def run(zoho, credentials, capsys):
    return ModuleRunner(zoho, credentials, capsys)

import pytest

from playbook_harness import Playbooks


@pytest.fixture
def playbooks(zoho, tmp_path, path_without_crontab):
    """The playbooks on this machine with no crontab on PATH, as on a machine without cron: the
    role must not need it for a cron file (the harness's), nor when nothing is scheduled."""
    return Playbooks(zoho, tmp_path, path=path_without_crontab)

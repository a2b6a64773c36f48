import pytest

from playbook_harness import Playbooks


@pytest.fixture
def playbooks(zoho, tmp_path):
    return Playbooks(zoho, tmp_path)

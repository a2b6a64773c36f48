"""The real OpenClaw CLI (openclaw@2026.9.6, in the test bed's image) on the skill as provision.yml
installs it: `openclaw skills info zoho-crm --json` finds it eligible and visible to the model, and
its gating on python3 is read (a binary the image lacks makes it ineligible)."""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from docker_harness import AGENT_GID, AGENT_UID, agent_owned_dir

ROLE_TESTS = Path(__file__).resolve().parents[1] / "role"
if str(ROLE_TESTS) not in sys.path:
    sys.path.insert(0, str(ROLE_TESTS))

from playbook_harness import Playbooks  # noqa: E402

SKILL = Path("workspace/skills/zoho-crm/SKILL.md")


@pytest.fixture
def provisioned_state_dir(docker_engine, zoho, tmp_path, path_without_crontab):
    """A state directory as provision.yml leaves it (run for real on this machine, authorized on the
    stand-in), copied into a host directory owned 1000:1000, as the agent's bind mount is."""
    playbooks = Playbooks(zoho, tmp_path / "controller", path=path_without_crontab)
    playbooks.provision()
    state_dir = agent_owned_dir(tmp_path / "openclaw-config")
    shutil.copytree(playbooks.home, state_dir, symlinks=True, dirs_exist_ok=True)
    for directory, names, files in os.walk(state_dir):
        for name in names + files:
            os.chown(os.path.join(directory, name), AGENT_UID, AGENT_GID, follow_symlinks=False)
    return state_dir


def skill_info(container):
    shown = container.openclaw_on_a_copy("skills", "info", "zoho-crm", "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return json.loads(shown.stdout)


def test_openclaw_finds_the_installed_skill_eligible_and_visible(openclaw_container, provisioned_state_dir):
    info = skill_info(openclaw_container(config_dir=provisioned_state_dir))
    assert (info["name"], info["source"], info["eligible"], info["modelVisible"]) == (
        "zoho-crm", "openclaw-workspace", True, True)
    assert info["requirements"]["bins"] == ["python3"]  # the block-YAML gating, as OpenClaw read it
    assert info["homepage"] == "https://www.zoho.com/crm/developer/docs/api/v8/"
    assert info["missing"] and all(not missing for missing in info["missing"].values()), info["missing"]


def test_openclaw_enforces_the_skills_python3_requirement(openclaw_container, provisioned_state_dir):
    skill = provisioned_state_dir / SKILL
    skill.write_text(skill.read_text().replace("        - python3\n", "        - zoho-crm-no-such-binary\n", 1))
    info = skill_info(openclaw_container(config_dir=provisioned_state_dir))
    assert (info["name"], info["eligible"]) == ("zoho-crm", False)
    assert info["missing"]["bins"] == ["zoho-crm-no-such-binary"]

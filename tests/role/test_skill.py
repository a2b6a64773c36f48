"""The skill the role installs, as provision.yml renders it, against the AgentSkills reference
validator (PyPI skills-ref, `agentskills validate`). OpenClaw's own verdict on the same file is
tests/docker/test_openclaw_skill.py."""

import json
import subprocess

import zoho_crm_oauth
from playbook_harness import VENV_BIN

SEARCH_SCOPES = list(zoho_crm_oauth.DEFAULT_SCOPES) + [zoho_crm_oauth.SEARCH_SCOPE]


def agentskills(*args):
    return subprocess.run([str(VENV_BIN / "agentskills"), *map(str, args)], capture_output=True, text=True, timeout=60)


def provisioned_skill_dir(playbooks, scopes=zoho_crm_oauth.DEFAULT_SCOPES):
    playbooks.write_inventory(zoho_crm_scopes=list(scopes))
    playbooks.run("provision.yml", "-e", f"zoho_crm_auth_code={playbooks.code(scopes)}")
    return playbooks.workspace / "skills" / "zoho-crm"


def assert_valid(skill_dir):
    validated = agentskills("validate", skill_dir)
    assert (validated.returncode, validated.stdout, validated.stderr) == (0, f"Valid skill: {skill_dir}\n", "")
    properties = agentskills("read-properties", skill_dir)
    assert properties.returncode == 0, properties.stderr
    read = json.loads(properties.stdout)
    assert read["name"] == "zoho-crm" and "python3 tools/zoho-crm.py" in read["description"]
    # skills-ref keeps metadata as a string-to-string map: the openclaw block is one value of it.
    assert list(read["metadata"]) == ["openclaw"] and "python3" in read["metadata"]["openclaw"]
    return (skill_dir / "SKILL.md").read_text()


def test_with_the_default_scopes_the_skill_is_valid_and_teaches_their_answers_first(playbooks):
    text = assert_valid(provisioned_skill_dir(playbooks))
    first_commands = text[text.index("## Start here"):text.index("## Other commands")]
    for command in ("deals find", "deals changed --since 7d", "deals pipeline", "context DEAL_ID", "contacts find",
                    "contacts changed"):
        assert f"python3 tools/zoho-crm.py {command}" in first_commands, command
    assert '"method": "scan"' in first_commands and "--scan" not in first_commands
    assert "deals search" not in text  # the search scope is not granted


def test_with_the_search_scope_the_skill_is_valid_and_says_find_searches(playbooks):
    text = assert_valid(provisioned_skill_dir(playbooks, SEARCH_SCOPES))
    assert '"method": "search"' in text and "add `--scan`" in text
    assert "python3 tools/zoho-crm.py deals search" in text


def test_the_validator_refuses_the_flow_mapping_metadata_it_replaced(tmp_path):
    """The check above can fail: the frontmatter line the template had before is refused."""
    skill_dir = tmp_path / "zoho-crm"
    skill_dir.mkdir()
    (skill_dir / "SKILL.md").write_text(
        '---\nname: zoho-crm\ndescription: Read Zoho CRM.\n'
        'metadata: {"openclaw":{"requires":{"bins":["python3"]}}}\n---\n\n# Zoho CRM\n')
    refused = agentskills("validate", skill_dir)
    assert refused.returncode == 1
    assert "Invalid YAML in frontmatter" in refused.stderr

"""provision, verify, rotate and revoke, run for real with ansible-playbook on localhost."""

import filecmp
import getpass
import json
from pathlib import Path

import pytest

import zoho_crm_oauth
from playbook_harness import ROOT, mode, recap, task_statuses

TOOLS = ["zoho-crm-oauth-init.py", "zoho-crm-oauth-exchange.py", "zoho-crm-test.py", "zoho-crm-refresh-token.py",
         "zoho-crm.py", "zoho_crm_cli.py", "zoho_crm_client.py", "zoho_crm_tools.py", "zoho_crm_oauth.py"]


def test_first_run_without_a_code_shows_how_to_authorize_and_exits_0(playbooks, zoho):
    _, output = playbooks.run("provision.yml")
    assert "Zoho CRM is waiting for your approval" in output
    assert zoho.accounts_url() + "/oauth/v2/auth?" in output
    assert "zoho-crm-oauth-init.py --listen" in output
    assert recap(output)["failed"] == 0
    assert not playbooks.token_path.exists()
    assert (playbooks.workspace / "tools" / "zoho-crm-oauth-init.py").exists()  # ready for the listener
    assert not playbooks.cron_file.exists() or "zoho-crm" not in playbooks.cron_file.read_text()
    assert sum(zoho.counters()["token"].values()) == 0


def test_check_mode_on_a_fresh_host_changes_nothing_and_calls_no_one(playbooks, zoho):
    _, output = playbooks.run("provision.yml", "--check")
    assert "check mode: shown on a real run" in output and recap(output)["failed"] == 0
    _, with_code = playbooks.run("provision.yml", "--check", "-e", f"zoho_crm_auth_code={playbooks.code()}")
    assert recap(with_code)["failed"] == 0
    assert not playbooks.home.exists()
    assert sum(zoho.counters()["token"].values()) == 0


def test_provision_installs_everything_and_a_rerun_changes_nothing(playbooks, zoho):
    _, output = playbooks.provision()
    assert recap(output)["failed"] == 0 and recap(output)["changed"] > 0
    home = playbooks.home
    assert mode(home) == 0o700 and mode(playbooks.credentials) == 0o700 and mode(home / "logs") == 0o700
    assert mode(playbooks.token_path) == 0o600 and mode(playbooks.client_secret_path) == 0o600
    client = json.loads(playbooks.client_secret_path.read_text())
    assert client["token_uri"] == zoho.accounts_url() + "/oauth/v2/token"
    assert client["auth_uri"] == zoho.accounts_url() + "/oauth/v2/auth"
    for tool in TOOLS:
        assert filecmp.cmp(playbooks.workspace / "tools" / tool, ROOT / "roles/zoho_crm/files/tools" / tool,
                           shallow=False), tool
    assert filecmp.cmp(playbooks.workspace / "tools/zoho_crm_oauth.py", ROOT / "module_utils/zoho_crm_oauth.py",
                       shallow=False)
    cron = playbooks.cron_file.read_text()
    assert "#Ansible: zoho_crm token refresh" in cron
    log = home / "logs" / "zoho-crm-token-refresh.log"
    assert f"*/10 * * * * {getpass.getuser()} cd {playbooks.workspace} && python3 tools/zoho-crm-refresh-token.py " \
           f"--log-file {log} --log-max-bytes 1048576" in cron
    skill = (playbooks.workspace / "skills/zoho-crm/SKILL.md").read_text()
    assert skill.startswith("---\nname: zoho-crm\n")
    for gitignore in (home / ".gitignore", playbooks.workspace / ".gitignore"):
        assert "# BEGIN zoho_crm (managed by Ansible)" in gitignore.read_text()
    assert "credentials/zoho-crm-*" in (home / ".gitignore").read_text()
    assert "Verify | Read Zoho CRM as the agent would" in output

    test = playbooks.tool("zoho-crm-test.py")
    assert test.returncode == 0, test.stdout + test.stderr
    assert "✓ Test successful! Zoho CRM API is working." in test.stdout
    assert "Deal #1: Oakland School District - Grant Funded - Stage: Qualification" in test.stdout

    _, again = playbooks.run("provision.yml")
    assert recap(again)["changed"] == 0 and recap(again)["failed"] == 0
    assert zoho.counters()["token"]["authorization_code"] == 1


def test_the_cron_file_holds_the_entry_alone_and_goes_when_the_refresh_is_disabled(playbooks):
    """Written as ansible.builtin.cron writes a cron file, but with no crontab on PATH (the fixture's)."""
    playbooks.provision()
    log = playbooks.home / "logs" / "zoho-crm-token-refresh.log"
    assert playbooks.cron_file.read_text() == (
        f"#Ansible: zoho_crm token refresh\n*/10 * * * * {getpass.getuser()} cd {playbooks.workspace} && "
        f"python3 tools/zoho-crm-refresh-token.py --log-file {log} --log-max-bytes 1048576 >/dev/null\n")
    assert mode(playbooks.cron_file) == 0o644
    playbooks.write_inventory(zoho_crm_cron_enabled=False)
    _, output = playbooks.run("provision.yml")
    assert recap(output)["changed"] == 1 and not playbooks.cron_file.exists()


def test_nothing_scheduled_needs_no_crontab(playbooks):
    """No cron file and the refresh disabled, on a host without crontab: provision and revoke go
    through, and nothing is scheduled anywhere."""
    playbooks.write_inventory(zoho_crm_cron_file="", zoho_crm_cron_enabled=False)
    _, output = playbooks.provision()
    assert recap(output)["failed"] == 0 and "Cron | Look for crontab" in output
    _, again = playbooks.run("provision.yml")
    assert recap(again)["changed"] == 0
    _, revoked = playbooks.run("revoke.yml")
    assert recap(revoked)["failed"] == 0 and not playbooks.token_path.exists()
    assert not playbooks.cron_file.exists()


# The tasks that write a path: files.yml's one look lets a re-run skip each of them.
WRITING_TASKS = ["Directories | Create the OpenClaw directories", "Client secret | Write zoho-crm-client-secret.json",
                 "Tools | Install the scripts, the client library and the OAuth module",
                 "Cron | Write the token refresh's cron file", "Skill | Write SKILL.md"]


def test_every_drift_is_repaired_and_a_rerun_writes_nothing(playbooks):
    """Each kind of path the one look covers, drifted in content, mode or type: all repaired and
    reported in one run; then a run that finds everything right skips every writing task."""
    playbooks.provision()
    tools = playbooks.workspace / "tools"
    skill = playbooks.workspace / "skills/zoho-crm/SKILL.md"
    installed = {path: path.read_bytes() for path in (tools / "zoho-crm.py", tools / "zoho_crm_client.py", skill,
                                                      playbooks.cron_file, playbooks.client_secret_path)}
    with open(tools / "zoho-crm.py", "a") as edited:
        edited.write("# edited on the host\n")
    (tools / "zoho_crm_client.py").chmod(0o755)
    skill.write_text("---\nname: zoho-crm\n---\n")
    playbooks.cron_file.chmod(0o666)
    (playbooks.workspace / "skills/zoho-crm").chmod(0o700)
    playbooks.client_secret_path.chmod(0o640)
    # The same bytes, but through a link: not the file the role installs.
    elsewhere = playbooks.home.parent / "zoho-crm-test.py"
    (tools / "zoho-crm-test.py").rename(elsewhere)
    (tools / "zoho-crm-test.py").symlink_to(elsewhere)

    _, repair = playbooks.run("provision.yml")
    assert recap(repair)["changed"] == 5  # directories, client secret, tools, cron file, SKILL.md
    assert {path: path.read_bytes() for path in installed} == installed
    assert (mode(tools / "zoho_crm_client.py"), mode(playbooks.cron_file), mode(playbooks.client_secret_path),
            mode(playbooks.workspace / "skills/zoho-crm")) == (0o644, 0o644, 0o600, 0o755)
    assert not (tools / "zoho-crm-test.py").is_symlink()
    assert (tools / "zoho-crm-test.py").read_bytes() == elsewhere.read_bytes() and mode(tools / "zoho-crm-test.py") == 0o755

    _, again = playbooks.run("provision.yml")
    assert recap(again)["changed"] == 0
    statuses = task_statuses(again)
    assert {task: statuses[task] for task in WRITING_TASKS} == {task: {"skipping"} for task in WRITING_TASKS}


def test_loosened_modes_are_repaired_and_reported(playbooks):
    playbooks.provision()
    playbooks.token_path.chmod(0o644)
    playbooks.client_secret_path.chmod(0o644)
    _, output = playbooks.run("provision.yml")
    assert recap(output)["changed"] == 2
    assert mode(playbooks.token_path) == 0o600 and mode(playbooks.client_secret_path) == 0o600
    _, again = playbooks.run("provision.yml")
    assert recap(again)["changed"] == 0


def test_verify_playbook_reads_and_changes_nothing(playbooks, zoho):
    playbooks.provision()
    before = zoho.counters()["crm"]
    _, output = playbooks.run("verify.yml")
    assert recap(output)["changed"] == 0
    after = zoho.counters()["crm"]
    for path in ("GET /crm/v8/Deals", "GET /crm/v8/Contacts"):
        assert after.get(path, 0) > before.get(path, 0), path


def test_verify_fails_when_access_was_revoked_at_zoho(playbooks, zoho):
    playbooks.provision()
    zoho_crm_oauth.revoke_refresh_token(zoho.accounts_url(), playbooks.tokens()["refresh_token"])
    code, output = playbooks.run("verify.yml", check=False)
    assert code != 0
    assert recap(output)["failed"] == 1
    assert "invalid_code" in output or "INVALID_TOKEN" in output


def test_rotate_refresh_token_swaps_and_revokes_the_old(playbooks, zoho):
    playbooks.provision()
    old = playbooks.tokens()["refresh_token"]
    code = playbooks.code()
    _, output = playbooks.run("rotate.yml", "-e", f"zoho_crm_auth_code={code}")
    assert recap(output)["changed"] >= 1
    assert playbooks.tokens()["refresh_token"] != old
    assert zoho.counters()["revoke"] == 1
    _, again = playbooks.run("rotate.yml", "-e", f"zoho_crm_auth_code={code}")
    assert recap(again)["changed"] == 0
    assert zoho.counters()["token"]["authorization_code"] == 2


@pytest.mark.parametrize("playbook", ["rotate.yml", "provision.yml"])
def test_a_new_client_secret_is_proven_and_the_refresh_token_kept(playbooks, zoho, playbook):
    playbooks.provision()
    refresh_token = playbooks.tokens()["refresh_token"]
    playbooks.client_secret = zoho.rotate_client_secret()
    playbooks.write_inventory()
    _, output = playbooks.run(playbook)
    assert "Client secret | Refresh the access token with the candidate secret" in output
    assert recap(output)["changed"] >= 1
    assert json.loads(playbooks.client_secret_path.read_text())["client_secret"] == playbooks.client_secret
    assert playbooks.tokens()["refresh_token"] == refresh_token
    assert not Path(str(playbooks.client_secret_path) + ".new").exists()
    _, again = playbooks.run(playbook)
    assert recap(again)["changed"] == 0


@pytest.mark.parametrize("playbook", ["rotate.yml", "provision.yml"])
def test_a_wrong_client_secret_is_refused_and_the_working_one_kept(playbooks, playbook):
    """A vault typo must not break an agent that works: provision.yml proves a new secret too."""
    playbooks.provision()
    before = playbooks.client_secret_path.read_bytes()
    playbooks.client_secret = "a-secret-zoho-does-not-know"
    playbooks.write_inventory()
    code, output = playbooks.run(playbook, check=False)
    assert code != 0
    assert "The new client secret was not installed" in output and "invalid_client_secret" in output
    assert playbooks.client_secret_path.read_bytes() == before
    assert not Path(str(playbooks.client_secret_path) + ".new").exists()


def test_revoke_removes_everything_and_a_second_run_changes_nothing(playbooks, zoho):
    playbooks.provision()
    with open(playbooks.workspace / ".gitignore", "a") as gitignore:
        gitignore.write("drafts/\n")  # a line of the user's own
    _, output = playbooks.run("revoke.yml")
    assert recap(output)["changed"] > 0
    assert zoho.counters()["revoke"] == 1
    assert not playbooks.token_path.exists() and not playbooks.client_secret_path.exists()
    assert not (playbooks.workspace / "skills/zoho-crm").exists()
    assert not any((playbooks.workspace / "tools").iterdir())
    assert not playbooks.cron_file.exists()  # the cron file held only our entry
    assert not (playbooks.home / ".gitignore").exists()  # created by the role, empty now
    assert (playbooks.workspace / ".gitignore").read_text() == "drafts/\n"
    _, again = playbooks.run("revoke.yml")
    assert recap(again)["changed"] == 0


@pytest.mark.parametrize("overrides, fragment", [
    ({"zoho_crm_client_secret": "PASTE_CLIENT_SECRET_HERE"}, "still a\nplaceholder"),
    ({"zoho_crm_client_id": "YOUR_CLIENT_ID"}, "placeholder"),
    ({"zoho_crm_data_center": "mars"}, "zoho_crm_data_center"),
    ({"zoho_crm_scopes": ["ZohoCRM.modules.deals.ALL"]}, "zoho_crm_allow_write_scopes"),
    ({"zoho_crm_user": "no-such-agent-user"}, "does not exist"),
    # The fixture's PATH has no crontab, and the role does not install cron here.
    ({"zoho_crm_cron_file": ""}, "crontab is not installed on vps, so the token refresh cannot be scheduled"),
    ({"zoho_crm_cron_file": "/etc/crontab"}, "is /etc/crontab"),
    ({"zoho_crm_cron_file": "zoho-crm.cron"}, "a name in /etc/cron.d that cron ignores"),
])
def test_bad_input_fails_early_and_changes_nothing(playbooks, overrides, fragment):
    playbooks.write_inventory(**overrides)
    code, output = playbooks.run("provision.yml", check=False)
    assert code != 0
    assert fragment.replace("\n", " ") in " ".join(output.split())
    assert not playbooks.home.exists()


def test_a_malformed_code_fails_early(playbooks):
    code, output = playbooks.run("provision.yml", "-e", "zoho_crm_auth_code=hello world", check=False)
    assert code != 0 and "neither a grant code" in output
    assert not playbooks.home.exists()


def test_no_secret_reaches_the_output_at_vvv(playbooks, zoho):
    code = playbooks.code()
    playbooks.run("provision.yml", verbosity=3)
    playbooks.run("provision.yml", "-e", f"zoho_crm_auth_code={code}", verbosity=3)
    tokens = playbooks.tokens()
    playbooks.run("provision.yml", verbosity=3)
    rotate_code = playbooks.code()
    playbooks.run("rotate.yml", "-e", f"zoho_crm_auth_code={rotate_code}", verbosity=3)
    rotated = playbooks.tokens()
    playbooks.run("revoke.yml", verbosity=3)
    secrets = [playbooks.client_secret, code, rotate_code, tokens["access_token"], tokens["refresh_token"],
               rotated["access_token"], rotated["refresh_token"]]
    text = "\n".join(playbooks.outputs)
    assert "zoho_crm_token" in text  # the module really ran, verbosely
    for secret in secrets:
        assert secret not in text

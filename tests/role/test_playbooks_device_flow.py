"""provision.yml with zoho_crm_auth_flow: device, run for real with ansible-playbook on localhost:
from a fresh host to a working agent in one run, while a person (DeviceApprover) approves the code
the play shows; and each way the flow can end otherwise.

Time: every process of the run (ansible-playbook, its modules, the deployed tools) and the
stand-in share a SharedClock whose sleeps pass at 1/20 of real time: the module's 30 s between
polls take 1.5 s, and the stand-in, which answers slow_down to two polls of one code less than 30 s
apart on its clock, sees 30 s pass.
"""

import re

import pytest

import zoho_crm_oauth as oauth
from playbook_harness import DeviceApprover, Playbooks, one_line_failure, recap
from shared_clock import SharedClock

WAIT_TASK = "TASK [zoho_crm : Authorize | Wait for the approval at Zoho]"


@pytest.fixture
def make_playbooks(tmp_path, path_without_crontab):
    """make(zoho) -> Playbooks on that stand-in, on a shared clock, one host with the device flow."""
    def make(zoho):
        clock = SharedClock(tmp_path, zoho, sleep_scale=0.05)
        # Results as JSON, so that a failure's message can be read back exactly (yaml folds long lines).
        playbooks = Playbooks(zoho, tmp_path, path=path_without_crontab,
                              env=dict(clock.environment(), ANSIBLE_CALLBACK_RESULT_FORMAT="json"))
        playbooks.clock = clock
        playbooks.write_inventory(zoho_crm_auth_flow="device")
        return playbooks
    return make


@pytest.fixture
def playbooks(make_playbooks, zoho):
    return make_playbooks(zoho)


def recaps(output):
    return {host: dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", counters))
            for host, counters in re.findall(r"^(\S+)\s*:\s*(ok=.*)$", output, re.MULTILINE)}


def pending_flow(playbooks, home=None):
    return (home or playbooks.home) / "credentials" / oauth.DEVICE_FLOW_FILENAME


def assert_never_slowed_down(zoho):
    assert zoho.counters()["device_errors"].get("slow_down", 0) == 0, zoho.counters()["device_errors"]


def test_one_run_takes_fresh_hosts_to_working_agents_and_a_rerun_starts_no_flow(playbooks, zoho, tmp_path):
    homes = {name: tmp_path / name / ".openclaw" for name in ("vps1", "vps2")}
    playbooks.write_hosts({name: playbooks.host_vars(zoho_crm_auth_flow="device", zoho_crm_home=str(home),
                                                     zoho_crm_cron_file=str(home.parent / "cron"))
                           for name, home in homes.items()})
    person = DeviceApprover(zoho, after_polls=2)  # approves each code after the module polled it twice
    _, output = playbooks.run("provision.yml", watch=person.watch)
    assert sorted(person.join()) == sorted((code, "approved") for code in person.shown)
    assert len(set(person.shown)) == 2
    # Every host's URL and code show before any host waits, each code under its own host's name (in
    # whichever order the hosts' results come).
    named = [re.search(r"=== Zoho CRM on (\S+): approve the code %s ===" % re.escape(code), output)
             for code in person.shown]
    assert all(named), output
    assert sorted(match.group(1) for match in named) == sorted(homes)
    for code in person.shown:
        assert output.index(code) < output.index(WAIT_TASK)
    assert "The code is valid for 4 min" in output and "(the code filled in)" in output
    for name, home in homes.items():
        assert recaps(output)[name]["failed"] == 0
        tokens = home / "credentials" / oauth.TOKENS_FILENAME
        assert tokens.stat().st_mode & 0o777 == 0o600 and not pending_flow(playbooks, home).exists()
        assert "zoho-crm-refresh-token.py" in (home.parent / "cron").read_text()
        assert (home / "workspace/skills/zoho-crm/SKILL.md").exists()
    assert output.count("All checks passed.") == 2  # verify's reads, as each agent's user
    flows = zoho.device_flows()
    assert [flow["status"] for flow in flows] == ["issued", "issued"] and all(flow["polls"] == 3 for flow in flows)
    assert_never_slowed_down(zoho)

    _, again = playbooks.run("provision.yml")
    assert all(counts["changed"] == 0 for counts in recaps(again).values())
    assert zoho.counters()["device"]["code"] == 2


def test_a_denial_ends_the_host_with_one_line_and_what_to_rerun(playbooks, zoho):
    person = DeviceApprover(zoho, after_polls=1, approve=False)
    code, output = playbooks.run("provision.yml", check=False, watch=person.watch)
    assert person.join() == [(person.shown[0], "denied")]
    assert code != 0 and recap(output)["failed"] == 1
    message = one_line_failure(output)
    assert "The user code was rejected on Zoho's consent page (access_denied). Fix: run again" in message
    assert f"To run again: ansible-playbook -i {playbooks.inventory} playbooks/provision.yml --limit vps" in message
    assert not playbooks.token_path.exists() and not pending_flow(playbooks).exists()
    assert "zoho-crm" not in (playbooks.cron_file.read_text() if playbooks.cron_file.exists() else "")


def test_an_expired_code_ends_the_host_with_one_line(playbooks, zoho):
    person = DeviceApprover(zoho, on_shown=lambda code: playbooks.clock.advance(301))  # nobody approves in time
    code, output = playbooks.run("provision.yml", check=False, watch=person.watch)
    assert code != 0 and recap(output)["failed"] == 1
    message = one_line_failure(output)
    assert "The user code expired before anyone approved it (expired): Zoho gives 5 minutes." in message
    assert "--limit vps" in message
    assert not playbooks.token_path.exists() and not pending_flow(playbooks).exists()


def test_other_dc_is_followed_to_the_users_data_center(make_playbooks, make_zoho):
    zoho = make_zoho(data_centers=("us", "eu"), user_dc="eu")
    playbooks = make_playbooks(zoho)
    playbooks.write_inventory(zoho_crm_auth_flow="device", zoho_crm_accounts_url=zoho.accounts_url("us"))
    person = DeviceApprover(zoho)
    _, output = playbooks.run("provision.yml", watch=person.watch)
    assert person.join() == [(person.shown[0], "approved")] and recap(output)["failed"] == 0
    tokens = playbooks.tokens()
    assert tokens["accounts_server"] == zoho.accounts_url("eu") and tokens["data_center"] == "eu"
    assert tokens["api_domain"] == zoho.api_domain("eu") and "All checks passed." in output
    assert zoho.counters()["device_errors"].get("other_dc") == 1
    assert_never_slowed_down(zoho)


def test_check_mode_starts_no_flow_a_timeout_keeps_the_code_and_revoke_drops_it(playbooks, zoho):
    _, predicted = playbooks.run("provision.yml", "--check")
    assert "Check mode: a real run starts Zoho's device flow here" in " ".join(predicted.split())
    assert recap(predicted)["failed"] == 0 and not playbooks.home.exists()
    assert not any(zoho.counters()["device"].values())

    playbooks.write_inventory(zoho_crm_auth_flow="device", zoho_crm_device_wait_timeout=1)
    person = DeviceApprover(zoho, on_shown=lambda code: None)  # shown, not acted on
    code, output = playbooks.run("provision.yml", check=False, watch=person.watch)
    assert code != 0
    message = one_line_failure(output)
    assert f"Nobody approved the user code {person.shown[0]} within 1 s (authorization_pending)" in message
    assert "--limit vps" in message and pending_flow(playbooks).exists()

    polls = zoho.counters()["device"].get("token", 0)
    again = DeviceApprover(zoho, on_shown=lambda code: None)
    _, checked = playbooks.run("provision.yml", "--check", watch=again.watch)
    assert again.shown == person.shown and recap(checked)["failed"] == 0  # the pending code, not polled
    assert zoho.counters()["device"]["code"] == 1 and zoho.counters()["device"].get("token", 0) == polls

    _, revoked = playbooks.run("revoke.yml")
    assert recap(revoked)["changed"] > 0 and not pending_flow(playbooks).exists()


def test_after_a_timeout_a_rerun_waits_for_the_same_code(playbooks, zoho):
    playbooks.write_inventory(zoho_crm_auth_flow="device", zoho_crm_device_wait_timeout=1)
    first = DeviceApprover(zoho, on_shown=zoho.approve_device)  # approved only after this run gave up
    code, _ = playbooks.run("provision.yml", check=False, watch=first.watch)
    assert code != 0 and not playbooks.token_path.exists()
    playbooks.write_inventory(zoho_crm_auth_flow="device")
    second = DeviceApprover(zoho, on_shown=lambda code: None)
    _, output = playbooks.run("provision.yml", watch=second.watch)
    assert second.shown == first.shown and recap(output)["failed"] == 0 and "All checks passed." in output
    assert zoho.counters()["device"]["code"] == 1
    assert_never_slowed_down(zoho)

"""A separate refresher: the client secret and the refresh token stay in the refresher's directory,
and the agent's tools work from the agent's copy of the token file alone (the access token, its
expiry, api_domain and scopes), never refreshing; when that copy runs out, one line says so."""

import json
import os
import time

import pytest

import zoho_crm_oauth as oauth
from tool_harness import assert_one_line_error, json_answer
from zoho_crm_client import ZohoCRMClient

REFRESH = "zoho-crm-refresh-token.py"
AGENT_FIELDS = {"access_token", "api_domain", "expires_in", "token_type", "scope", "expires_at", "data_center",
                "updated_at", "refresher_dir"}


@pytest.fixture
def refresher(authorized):
    """The authorized credentials directory as the refresher's store."""
    return authorized


@pytest.fixture
def agent(refresher, make_credentials, zoho, tmp_path):
    """The agent's credentials directory: no client-secret file, and the copy the refresher writes."""
    creds = make_credentials(zoho)
    creds.client_secret_path.unlink()
    creds.seen_secrets |= refresher.seen_secrets
    completed = run_refresher(refresher, creds, "--force")
    assert completed.returncode == 0, completed.stderr
    return creds


def run_refresher(refresher, agent, *args):
    return refresher.run(REFRESH, "--credentials-dir", refresher.directory, "--agent-token-file", agent.token_path,
                         *args)


def mints(zoho):
    return zoho.counters()["token"]["refresh_token"]


def test_the_agents_copy_holds_the_access_token_and_nothing_that_mints_one(refresher, agent):
    copy = json.loads(agent.token_path.read_text())
    stored = refresher.tokens()
    assert set(copy) == AGENT_FIELDS
    assert copy["access_token"] == stored["access_token"] and copy["expires_at"] == stored["expires_at"]
    assert copy["refresher_dir"] == str(refresher.directory)
    assert stored["refresh_token"] not in agent.token_path.read_text()
    assert os.stat(agent.token_path).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(agent.directory)) == [oauth.TOKENS_FILENAME]


def test_a_run_with_a_fresh_token_mints_nothing_and_leaves_the_copy_alone(refresher, agent, zoho):
    before, minted = agent.token_bytes(), mints(zoho)
    completed = run_refresher(refresher, agent)
    assert completed.returncode == 0 and "still fresh" in completed.stdout
    assert agent.token_bytes() == before and mints(zoho) == minted


def test_a_run_restores_a_damaged_or_loosened_copy_without_minting(refresher, agent, zoho):
    minted = mints(zoho)
    agent.token_path.write_text("{}")
    completed = run_refresher(refresher, agent)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(agent.token_path.read_text())["access_token"] == refresher.tokens()["access_token"]
    agent.token_path.chmod(0o644)
    assert run_refresher(refresher, agent).returncode == 0
    assert os.stat(agent.token_path).st_mode & 0o777 == 0o600
    assert mints(zoho) == minted


def test_a_refresh_writes_the_new_access_token_to_both_files(refresher, agent, zoho):
    old = refresher.tokens()
    completed = run_refresher(refresher, agent, "--force")
    assert completed.returncode == 0, completed.stderr
    new = refresher.tokens()
    assert new["refresh_token"] == old["refresh_token"] and new["access_token"] != old["access_token"]
    assert json.loads(agent.token_path.read_text())["access_token"] == new["access_token"]


def test_the_agents_cli_and_test_tool_work_from_the_copy_alone(agent, zoho):
    minted = mints(zoho)
    answer = json_answer(agent, "deals", "list", "--limit", "2", "--json")
    assert len(answer["deals"]) == 2
    test = agent.run("zoho-crm-test.py")
    assert test.returncode == 0, test.stderr
    assert "✓ Test successful! Zoho CRM API is working." in test.stdout
    doctor = agent.run("zoho-crm.py", "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert mints(zoho) == minted


@pytest.mark.parametrize("seconds_left, state", [(30, " s left)"), (-120, "expired at")])
def test_a_copy_near_or_past_its_expiry_fails_in_one_line_naming_the_refresher(agent, zoho, refresher, seconds_left,
                                                                               state):
    agent.update_tokens(expires_at=oauth.format_time(time.time() + seconds_left))
    before, minted = agent.token_bytes(), mints(zoho)
    completed = agent.run("zoho-crm.py", "deals", "list", "--json")
    assert completed.returncode == oauth.EXIT_RETRY_LATER
    assert_one_line_error(completed, state, "last wrote it at", "as root", str(refresher.directory) + "/tools/" + REFRESH,
                          "--agent-token-file %s" % agent.token_path)
    error = json.loads(completed.stdout)["error"]
    assert (error["code"], error["retry"], error["retry_after"]) == ("refresher_stale", "later", 600)
    assert mints(zoho) == minted and agent.token_bytes() == before
    test = agent.run("zoho-crm-test.py")
    assert_one_line_error(test, "last wrote it at")


def test_a_long_lived_client_takes_the_token_the_refresher_writes_meanwhile(refresher, agent, zoho):
    agent.update_tokens(expires_at=oauth.format_time(time.time() + 200))  # inside the client's 300 s margin
    crm = ZohoCRMClient(credentials_dir=str(agent.directory))
    assert crm.oauth_client is None
    assert crm.get_deal(next(iter(crm.list_deals(limit=1)))["id"])  # 200 s left: still used
    assert run_refresher(refresher, agent, "--force").returncode == 0
    fresh = json.loads(agent.token_path.read_text())["access_token"]
    assert crm.access_token() == fresh


def test_a_token_the_crm_refuses_is_reported_not_refreshed(agent, zoho):
    crm = ZohoCRMClient(credentials_dir=str(agent.directory))
    zoho.revoke_all()
    with pytest.raises(oauth.RefresherStaleError, match="was refused by Zoho CRM"):
        list(crm.list_deals(limit=1))


def test_the_agents_refresh_tool_on_its_copy_refreshes_nothing_and_says_who_does(agent, zoho, refresher):
    minted = mints(zoho)
    fresh = agent.run(REFRESH)
    assert fresh.returncode == 0 and "the refresher in %s refreshes it" % refresher.directory in fresh.stdout
    forced = agent.run(REFRESH, "--force")
    assert forced.returncode == oauth.EXIT_CONFIG
    assert "only the refresher can refresh them. Fix: as root, run python3 %s/tools/" % refresher.directory \
        in forced.stdout
    agent.update_tokens(expires_at=oauth.format_time(time.time() + 30))
    stale = agent.run(REFRESH)
    assert stale.returncode == oauth.EXIT_RETRY_LATER and "last wrote it at" in stale.stdout
    assert mints(zoho) == minted

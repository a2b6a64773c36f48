"""Rotation under load: three agent processes call ZohoCRMClient.get_deal in a loop while rotate.yml
runs, first a refresh-token rotation with a code (the swap revokes the old refresh token, and with
it the access token every agent holds, so each must switch tokens mid-loop), then a client-secret
rotation (the proof's refresh puts a token minted with the new secret in the file). 0 failed calls.
"""

import json
import subprocess
import sys

import pytest

from reliability_harness import TOOLS_DIR, provisioned_host, tool_environment

AGENTS = 3
MAX_CALLS_PER_AGENT = 3000  # bounds each loop (about a minute at full speed)

# One agent: a long-lived client, as an agent session holds one; counts its calls, failures and the
# times its access token changed; stops when the stop file appears.
AGENT_LOOP = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from zoho_crm_client import ZohoCRMClient, ZohoError
deal_id, stop_file, limit = sys.argv[2], sys.argv[3], int(sys.argv[4])
crm = ZohoCRMClient()
calls = failures = switches = 0
errors = []
token = crm._tokens.access_token
while calls < limit and not os.path.exists(stop_file):
    calls += 1
    try:
        crm.get_deal(deal_id)
    except ZohoError as exc:
        failures += 1
        errors.append(str(exc)[:200])
    if crm._tokens.access_token != token:
        switches, token = switches + 1, crm._tokens.access_token
    time.sleep(0.02)
print(json.dumps({"calls": calls, "failures": failures, "switches": switches, "errors": errors[:3]}))
"""


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    yield from provisioned_host(tmp_path_factory.mktemp("rotation"))


def rotate_under_load(host, *rotate_args):
    """Start the agents, run rotate.yml, stop the agents; (agent reports, the playbook's output)."""
    deal_id = "%s" % first_deal_id(host)
    stop_file = host.home.parent / "stop-agents"
    stop_file.unlink(missing_ok=True)
    env = tool_environment(ZOHO_CRM_CREDENTIALS_DIR=str(host.credentials))
    agents = [subprocess.Popen([sys.executable, "-c", AGENT_LOOP, str(TOOLS_DIR), deal_id, str(stop_file),
                                str(MAX_CALLS_PER_AGENT)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env) for _ in range(AGENTS)]
    try:
        _, output = host.run("rotate.yml", *rotate_args)
    finally:
        stop_file.touch()
        finished = [agent.communicate(timeout=120) for agent in agents]
    reports = []
    for stdout, stderr in finished:
        assert stdout.strip(), stderr
        reports.append(json.loads(stdout))
    return reports, output


def first_deal_id(host):
    completed = host.tool("zoho-crm.py", "--json", "deals", "list", "--limit", "1")
    return json.loads(completed.stdout)["deals"][0]["id"]


def record(figure, reports, refreshes, rotation):
    calls = sum(report["calls"] for report in reports)
    failed = sum(report["failures"] for report in reports)
    figure("agent_calls_during_rotation", calls, unit="(%s)" % rotation)
    figure("failed_calls", failed, goal=0, unit="(%s)" % rotation)
    figure("refreshes_during_rotation", refreshes, goal="> 0", unit="(%s)" % rotation)
    return calls, failed


def test_refresh_token_rotation_with_a_code(host, figure):
    zoho = host.zoho
    old_refresh_token = host.tokens()["refresh_token"]
    revokes = zoho.counters()["revoke"]

    reports, _output = rotate_under_load(host, "-e", "zoho_crm_auth_code=%s" % host.code())

    # Every agent's token died with the old refresh token: each switched to the new one.
    switches = sum(report["switches"] for report in reports)
    calls, failed = record(figure, reports, switches, "refresh token, code")
    assert host.tokens()["refresh_token"] != old_refresh_token
    assert zoho.counters()["revoke"] == revokes + 1
    assert all(report["switches"] >= 1 for report in reports), reports
    assert calls >= AGENTS * 10
    assert failed == 0, [report["errors"] for report in reports]


def test_client_secret_rotation(host, figure):
    zoho = host.zoho
    refresh_grants = zoho.counters()["token"].get("refresh_token", 0)
    host.client_secret = zoho.rotate_client_secret()
    host.write_inventory()

    reports, _output = rotate_under_load(host)

    refreshes = zoho.counters()["token"].get("refresh_token", 0) - refresh_grants
    calls, failed = record(figure, reports, refreshes, "client secret")
    assert json.loads(host.client_secret_path.read_text())["client_secret"] == host.client_secret
    assert refreshes >= 1  # the proof's refresh, with the new secret, during the window
    assert calls >= AGENTS * 10
    assert failed == 0, [report["errors"] for report in reports]

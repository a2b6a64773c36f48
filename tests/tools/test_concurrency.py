"""Twenty agent processes meeting a dead access token at once: one refresh at Zoho, no failures."""

import json

import pytest

PROCESSES = 20


def run_together(credentials):
    processes = [credentials.start("zoho-crm.py", "--json", "deals", "list", "--limit", "1")
                 for _ in range(PROCESSES)]
    results = [process.communicate(timeout=120) + (process.returncode,) for process in processes]
    for stdout, stderr, status in results:
        credentials.outputs.append(stdout + stderr)
        assert status == 0, stderr
        assert json.loads(stdout)["deals"][0]["Deal_Name"] == "Oakland School District - Grant Funded"


@pytest.fixture
def crowd(make_zoho, make_credentials):
    # Room for all twenty at once, so what is measured is the refresh, not Zoho's concurrency cap.
    credentials = make_credentials(make_zoho(concurrency=PROCESSES))
    credentials.authorize()
    return credentials


def test_expired_per_the_file(crowd):
    crowd.expire_access_token()
    refresh_token = crowd.tokens()["refresh_token"]

    run_together(crowd)

    assert crowd.zoho.counters()["token"]["refresh_token"] == 1
    assert crowd.tokens()["refresh_token"] == refresh_token


def test_valid_per_the_file_but_rejected_by_zoho(crowd):
    crowd.zoho.clock.advance(3700)  # Zoho's clock passes the token's expiry; the file's has not

    run_together(crowd)

    assert crowd.zoho.counters()["token"]["refresh_token"] == 1
    invalid = crowd.zoho.counters()["crm"]["GET /crm/v8/Deals"] - PROCESSES
    assert 1 <= invalid <= PROCESSES  # each process retried at most once after INVALID_TOKEN


def test_zoho_concurrency_limit_is_absorbed_by_retries(make_zoho, make_credentials):
    credentials = make_credentials(make_zoho(concurrency=3))
    credentials.authorize()
    credentials.expire_access_token()

    run_together(credentials)

    assert credentials.zoho.counters()["token"]["refresh_token"] == 1

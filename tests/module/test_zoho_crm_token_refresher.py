"""The module with a separate refresher: agent_token_path (the agent's copy follows every write and
is repaired on every run) and move_from (switching the mode in and out moves the tokens, unchanged,
without calling Zoho; check mode predicts it and changes nothing)."""

import json

import zoho_crm_oauth


def token_calls(zoho):
    return sum(zoho.counters()["token"].values())


def test_switching_in_and_out_moves_the_tokens_once_without_calling_zoho(run, zoho, tmp_path):
    run(code=run.code())
    agent_path = str(run.token_path)
    refresh_token = run.tokens()["refresh_token"]
    store = tmp_path / "refresher"
    store.mkdir(mode=0o700)
    store_path = str(store / zoho_crm_oauth.TOKENS_FILENAME)
    calls = token_calls(zoho)
    switch_in = dict(token_path=store_path, agent_token_path=agent_path, move_from=agent_path)

    predicted = run(check_mode=True, **switch_in)
    assert predicted["changed"] and predicted["moved"] and not predicted.get("failed")
    assert "refresh_token" in run.tokens()  # check mode moved nothing

    moved = run(**switch_in)
    assert moved["changed"] and moved["moved"] and not moved.get("failed"), moved
    assert json.loads(open(store_path).read())["refresh_token"] == refresh_token
    copy = run.tokens()
    assert "refresh_token" not in copy and copy["refresher_dir"] == str(store)
    again = run(**switch_in)
    assert not again["changed"] and not again["moved"]

    back = run(move_from=store_path)
    assert back["changed"] and back["moved"]
    assert run.tokens()["refresh_token"] == refresh_token and "refresher_dir" not in run.tokens()
    assert not (store / zoho_crm_oauth.TOKENS_FILENAME).exists()
    assert not (store / (zoho_crm_oauth.TOKENS_FILENAME + ".lock")).exists()
    assert not run(move_from=store_path)["changed"]
    assert token_calls(zoho) == calls
    assert refresh_token not in "\n".join(run.outputs)


def test_every_run_repairs_the_agents_copy_and_a_refresh_reaches_it(run, zoho, tmp_path):
    agent_path = tmp_path / "agent" / zoho_crm_oauth.TOKENS_FILENAME
    agent_path.parent.mkdir(mode=0o700)
    run(code=run.code(), agent_token_path=str(agent_path))
    assert json.loads(agent_path.read_text())["access_token"] == run.tokens()["access_token"]
    agent_path.write_text("{}")
    repaired = run(agent_token_path=str(agent_path))
    assert repaired["changed"] and json.loads(agent_path.read_text())["access_token"] == run.tokens()["access_token"]
    assert not run(agent_token_path=str(agent_path))["changed"]
    refreshed = run(state="refreshed", force=True, agent_token_path=str(agent_path))
    assert refreshed["refreshed"] and json.loads(agent_path.read_text())["access_token"] == run.tokens()["access_token"]
    revoked = run(state="revoked", agent_token_path=str(agent_path))
    assert revoked["revoked"] and not agent_path.exists() and not run.token_path.exists()

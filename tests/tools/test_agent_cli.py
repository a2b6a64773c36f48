"""zoho-crm.py, the agent's CLI: JSON for agents, text for people, doctor, exit statuses."""

import json

import pytest

import zoho_crm_oauth as oauth

from tool_harness import ALL_SCOPES, assert_one_line_error, json_answer

CLI = "zoho-crm.py"
OAKLAND = "Oakland School District - Grant Funded"


@pytest.fixture
def deal(authorized):
    return json_answer(authorized, "--json", "deals", "list", "--limit", "1")["deals"][0]


def test_deals_list_json_honours_the_limit_and_the_filters(authorized):
    answer = json_answer(authorized, "--json", "deals", "list", "--limit", "7")
    assert answer["api_calls"] == 1 and answer["credits_remaining"] is None
    deals = answer["deals"]
    assert len(deals) == 7 and deals[0]["Deal_Name"] == OAKLAND
    qualification = json_answer(authorized, "deals", "list", "--stage", "qualification", "--limit", "0",
                                "--json")["deals"]
    assert qualification and all(d["Stage"] == "Qualification" for d in qualification)
    everything = json_answer(authorized, "deals", "list", "--limit", "0", "--json")["deals"]
    assert len(everything) == 60
    assert len(qualification) == sum(d["Stage"] == "Qualification" for d in everything)


def test_deals_list_text_is_one_line_per_deal(authorized, deal):
    completed = authorized.run(CLI, "deals", "list", "--limit", "3")
    lines = completed.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0] == "%s  %s - Stage: Qualification - Amount: 50000 - Contact: Jane Smith - Closing: %s" % (
        deal["id"], OAKLAND, deal["Closing_Date"])


def test_deals_get_json_and_text(authorized, deal):
    answer = json_answer(authorized, "deals", "get", deal["id"], "--json")
    assert set(answer) == {"deal", "api_calls", "credits_remaining"} and answer["api_calls"] == 1
    got = answer["deal"]  # the guide's flat deal, inside the answer
    assert got["Deal_Name"] == OAKLAND and got["Contact_Name"] == "Jane Smith" and got["Amount"] == 50000
    text = authorized.run(CLI, "deals", "get", deal["id"]).stdout
    assert "Deal_Name: %s\n" % OAKLAND in text and "Stage: Qualification\n" in text


def test_context_gives_deal_contact_and_notes(authorized, deal):
    context = json_answer(authorized, "--json", "context", deal["id"])
    assert context["deal"]["id"] == deal["id"] and context["api_calls"] == 3
    assert context["contact"]["Full_Name"] == "Jane Smith"
    notes = json_answer(authorized, "--json", "notes", "deal", deal["id"])
    assert context["notes"] == notes["notes"] and notes["api_calls"] == 1
    text = authorized.run(CLI, "context", deal["id"]).stdout
    assert text.startswith("Deal\n  Deal_Name: %s\n" % OAKLAND)
    assert "\nContact\n  Full_Name: Jane Smith\n" in text
    assert "\nNotes (%d)\n" % len(context["notes"]) in text


def test_contacts_get_list_and_notes(authorized, deal):
    contact = json_answer(authorized, "--json", "contacts", "get", deal["Contact_Name_id"])["contact"]
    assert contact["Full_Name"] == "Jane Smith"
    listed = json_answer(authorized, "--json", "contacts", "list", "--limit", "2")["contacts"]
    assert len(listed) == 2
    notes = json_answer(authorized, "--json", "notes", "contact", contact["id"])["notes"]
    assert all(note["Parent_Id_id"] == contact["id"] for note in notes)
    line = authorized.run(CLI, "contacts", "list", "--limit", "1").stdout.strip()
    assert line.startswith("%s  %s <" % (listed[0]["id"], listed[0]["Full_Name"]))


def test_search_needs_its_scope_and_says_so(authorized):
    completed = authorized.run(CLI, "--json", "deals", "search", "Oakland")
    assert_one_line_error(completed, oauth.SEARCH_SCOPE)
    assert completed.returncode == oauth.EXIT_REAUTHORIZE
    answer = json.loads(completed.stdout)
    assert answer["api_calls"] == 1  # Zoho refused it, and charged nothing, but it was a call
    error = answer["error"]
    assert error == {"code": "OAUTH_SCOPE_MISMATCH", "message": completed.stderr.strip()[len("Error: "):],
                     "exit_status": oauth.EXIT_REAUTHORIZE, "retry": oauth.RETRY_NEVER}
    assert oauth.SEARCH_SCOPE in error["message"]


def test_search_with_its_scope(credentials):
    credentials.authorize(scopes=ALL_SCOPES)
    found = json_answer(credentials, "--json", "deals", "search", "Oakland")["deals"]
    assert OAKLAND in [d["Deal_Name"] for d in found]
    smiths = json_answer(credentials, "--json", "contacts", "search", "--criteria",
                         "(Last_Name:equals:Smith)")["contacts"]
    assert smiths and all("Smith" in c["Full_Name"] for c in smiths)


def test_doctor_reads_each_granted_scope_and_skips_the_others(authorized):
    completed = authorized.run(CLI, "doctor")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[1].startswith("✓ token: access token valid until ")
    assert lines[2] == "✓ deals [ZohoCRM.modules.deals.READ]: read 1 deal"
    assert lines[3] == "✓ contacts [ZohoCRM.modules.contacts.READ]: read 1 contact"
    assert lines[4].startswith("✓ notes [ZohoCRM.modules.notes.READ]: read ")
    assert lines[5] == "- search [%s]: scope not granted" % oauth.SEARCH_SCOPE
    assert lines[6] == "- coql [%s]: scope not granted" % oauth.COQL_SCOPE
    assert lines[7] == "All checks passed."
    counters = authorized.zoho.counters()["crm"]
    assert counters["GET /crm/v8/Deals"] == 1 and counters["GET /crm/v8/Contacts"] == 1
    assert counters["GET /crm/v8/Deals/{id}/Notes"] == 1


def test_doctor_with_every_scope(credentials):
    credentials.authorize(scopes=ALL_SCOPES)
    report = json_answer(credentials, "--json", "doctor")
    assert report["ok"] is True and report["api_calls"] == 5  # deals, contacts, notes, search, coql
    assert [(c["check"], c["status"]) for c in report["checks"]] == [
        ("token", "ok"), ("deals", "ok"), ("contacts", "ok"), ("notes", "ok"), ("search", "ok"), ("coql", "ok")]


def test_doctor_reports_a_missing_scope_and_fails(credentials):
    credentials.authorize(scopes=("ZohoCRM.modules.deals.READ", "ZohoCRM.modules.contacts.READ"))
    completed = credentials.run(CLI, "--json", "doctor")
    assert completed.returncode == oauth.EXIT_REAUTHORIZE
    report = json.loads(completed.stdout)
    assert report["ok"] is False
    notes = [c for c in report["checks"] if c["check"] == "notes"][0]
    assert notes["status"] == "failed" and "ZohoCRM.modules.notes.READ" in notes["detail"]
    assert [c["status"] for c in report["checks"] if c["check"] in ("deals", "contacts")] == ["ok", "ok"]
    text = credentials.run(CLI, "doctor").stdout
    assert "✗ notes [ZohoCRM.modules.notes.READ]: Zoho CRM refused" in text and "1 check(s) failed." in text


def test_doctor_stops_at_a_revoked_token(authorized):
    record = authorized.tokens()
    oauth.revoke_refresh_token(record["accounts_server"], record["refresh_token"])
    authorized.expire_access_token()
    completed = authorized.run(CLI, "doctor")
    assert completed.returncode == oauth.EXIT_REAUTHORIZE
    assert "✗ token: Zoho rejected the refresh token (invalid_code)" in completed.stdout
    assert sum(authorized.zoho.counters()["crm"].values()) == 0


@pytest.mark.parametrize("args, status, hint", [
    (("deals", "get", "12345abc"), oauth.EXIT_BAD_ARGUMENTS, "not a Zoho record id"),
    (("deals", "get", "1" * 19), oauth.EXIT_FAILED, "has no Deals record"),
    (("contacts", "search"), oauth.EXIT_BAD_ARGUMENTS, "needs a text, criteria or email"),
])
def test_bad_requests_are_one_line_errors(authorized, args, status, hint):
    completed = authorized.run(CLI, *args)
    assert_one_line_error(completed, hint)
    assert completed.returncode == status
    assert completed.stdout == ""


@pytest.mark.parametrize("args, status, code", [
    (("deals", "frobnicate"), oauth.EXIT_BAD_ARGUMENTS, "bad_argument"),
    (("deals", "get"), oauth.EXIT_BAD_ARGUMENTS, "bad_argument"),
    (("leads", "list"), oauth.EXIT_BAD_ARGUMENTS, "bad_argument"),
    (("deals", "list", "--limit", "-1"), oauth.EXIT_BAD_ARGUMENTS, "bad_argument"),
    (("deals", "get", "12345abc"), oauth.EXIT_BAD_ARGUMENTS, "invalid_id"),
    (("deals", "get", "1" * 19), oauth.EXIT_FAILED, "NOT_FOUND"),
    (("contacts", "search"), oauth.EXIT_BAD_ARGUMENTS, "invalid_search"),
])
def test_json_prints_the_error_object_for_every_failure(authorized, args, status, code):
    for command in (("--json",) + args, args + ("--json",)):
        completed = authorized.run(CLI, *command)
        assert_one_line_error(completed)
        assert completed.returncode == status
        answer = json.loads(completed.stdout)
        error = answer["error"]
        assert (error["code"], error["exit_status"], error["retry"]) == (code, status, oauth.RETRY_NEVER)
        assert answer["api_calls"] == (1 if code == "NOT_FOUND" else 0) and answer["credits_remaining"] is None
        assert "Error: " + error["message"] == completed.stderr.strip()


def test_missing_credentials_are_a_configuration_error(credentials):
    completed = credentials.run(CLI, "--json", "deals", "list")
    assert_one_line_error(completed, "No token file")
    assert completed.returncode == oauth.EXIT_CONFIG
    assert json.loads(completed.stdout)["error"]["exit_status"] == oauth.EXIT_CONFIG


def test_a_transient_failure_says_retry_now_and_throttling_says_later(authorized, deal):
    authorized.zoho.inject_fault("GET /crm/v8/Deals/{id}", "status_503")
    completed = authorized.run(CLI, "--json", "deals", "get", deal["id"])
    assert completed.returncode == oauth.EXIT_RETRY_LATER
    assert json.loads(completed.stdout)["error"]["retry"] == oauth.RETRY_NOW
    authorized.zoho.clear_faults()
    authorized.expire_access_token()
    authorized.zoho.inject_fault("token", "access_denied")
    completed = authorized.run(CLI, "--json", "deals", "get", deal["id"])
    assert completed.returncode == oauth.EXIT_RETRY_LATER
    error = json.loads(completed.stdout)["error"]
    assert (error["code"], error["retry"], error["retry_after"]) == ("Access Denied", oauth.RETRY_LATER, 600)


def test_bad_arguments_exit_2_with_one_line_and_the_help_to_read(credentials):
    completed = credentials.run(CLI, "deals", "frobnicate")
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        "Error: argument ACTION: invalid choice: 'frobnicate' (choose from 'find', 'changed', 'pipeline', 'get', "
        "'list', 'search'). "
        "Fix: see zoho-crm.py deals --help."]
    assert credentials.run(CLI, "deals", "list", "--limit", "-1").returncode == 2
    assert credentials.run(CLI, "deals", "frobnicate").stdout == ""  # the error object is for --json only


# Every command with its options, and mistakes, for the parser made for argv alone.
ARGV_SAMPLES = [
    ["deals", "get", "123", "--json"], ["--json", "deals", "get", "123"], ["deals", "get", "--json", "123"],
    ["deals", "get", "--", "123"], ["deals", "find", "oak", "--scan", "--limit", "3"], ["deals", "changed"],
    ["deals", "changed", "--since", "24h", "--limit", "0", "--json"], ["deals", "pipeline", "--open", "--by-owner",
    "--owner", "Maria"], ["deals", "list", "--stage", "Qualification", "--owner", "x"], ["deals", "search", "oak"],
    ["deals", "search", "--criteria", "(Stage:equals:Qualification)"], ["contacts", "find", "jane"],
    ["contacts", "changed", "--since", "7d"], ["contacts", "get", "9"], ["contacts", "list", "--limit", "2"],
    ["contacts", "search", "--email", "a@b.example"], ["notes", "deal", "1"], ["notes", "contact", "2", "--json"],
    ["context", "1"], ["doctor"], ["doctor", "--json"],
    # mistakes: each is read as the whole parser reads it, error message included
    [], ["--json"], ["deals"], ["deals", "frobnicate"], ["frobnicate"], ["deals", "get"], ["deals", "get", "1", "2"],
    ["deals", "list", "--limit", "-1"], ["deals", "list", "--stage"], ["contacts", "list", "--stage", "x"],
    ["contacts", "pipeline"], ["deals", "find"], ["notes", "deal"], ["notes", "lead", "1"], ["context"],
    ["doctor", "extra"], ["deals", "--json", "get", "1"],
]


@pytest.mark.parametrize("argv", ARGV_SAMPLES, ids=" ".join)
def test_the_parser_made_for_a_command_reads_it_as_the_whole_parser_does(argv):
    import zoho_crm_cli

    def read(parser):
        try:
            return vars(parser.parse_args(argv))
        except oauth.BadArgumentError as exc:
            return str(exc)

    assert read(zoho_crm_cli.build_parser(argv)) == read(zoho_crm_cli.build_parser())


def test_an_agent_call_makes_only_its_commands_parsers():
    # Every agent call is a new process: the parsers of the other commands are time it never uses.
    import zoho_crm_cli

    def commands(parser):
        return set(parser._subparsers._group_actions[0].choices)

    assert commands(zoho_crm_cli.build_parser(["deals", "get", "1", "--json"])) == {"deals"}
    assert commands(zoho_crm_cli.build_parser(["context", "1"])) == {"context"}
    assert commands(zoho_crm_cli.build_parser(["deals", "--help"])) == set(zoho_crm_cli.COMMANDS)
    assert commands(zoho_crm_cli.build_parser(["deals"])) == set(zoho_crm_cli.COMMANDS)


def test_help_lists_commands_and_exit_statuses(credentials):
    text = credentials.run(CLI, "--help").stdout
    for expected in ("deals find NAME", "deals changed [--since 7d]", "deals pipeline [--open]", "deals get ID",
                     "contacts find NAME", "notes deal ID", "context DEAL_ID", "doctor", '"api_calls"',
                     "exit status: 0 ok", "4 authorize again", "5 transient"):
        assert expected in text


def test_a_reader_that_stops_early_is_not_an_error(make_zoho, make_credentials):
    # Enough deals that the output outgrows the pipe buffer once the reader has gone.
    credentials = make_credentials(make_zoho(deals=2000))
    credentials.authorize()
    process = credentials.start(CLI, "deals", "list", "--limit", "0")
    first_line = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    stderr = process.stderr.read()
    assert process.wait(60) == 0, stderr
    assert OAKLAND in first_line
    assert stderr == ""

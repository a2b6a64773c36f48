# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""The agent's CLI, zoho-crm.py: read Zoho CRM deals, contacts and notes; --json for agents.

    cd <home>/workspace && python3 tools/zoho-crm.py deals find oakland --json
    python3 tools/zoho-crm.py deals changed --since 7d
    python3 tools/zoho-crm.py deals pipeline --open
    python3 tools/zoho-crm.py context 1234567890
    python3 tools/zoho-crm.py doctor

Its commands live here and zoho-crm.py only runs main(): python3 compiles a script on every run
but a module once (tools/__pycache__), and every agent call is a new process.

Every --json answer is one object: what was asked for under its name ("deal", "deals", "contact",
"contacts", "notes", "stages", "checks", ...), then "api_calls" (the CRM requests it cost, retries
included) and "credits_remaining" (Zoho's X-API-CREDITS-REMAINING, null until Zoho sends it); a
failure is {"error": {...}} with the same two keys.
"""

import argparse
import json
import sys

import zoho_crm_oauth as oauth
import zoho_crm_tools as tools
from zoho_crm_client import ZohoCRMClient

EPILOG = """\
commands:
  deals find NAME [--scan]      deals whose name contains NAME (any case)
  deals changed [--since 7d]    deals modified since then (90m, 24h, 7d, 2w, a date, an ISO time)
  deals pipeline [--open] [--by-owner] [--owner O]   per stage: deals, amount, closing dates
  deals get ID | deals list [--stage S] [--owner O] | deals search TEXT
  contacts find NAME [--scan] | contacts changed [--since 7d]
  contacts get ID | contacts list [--owner O] | contacts search TEXT [--email E]
  notes deal ID | notes contact ID
  context DEAL_ID      the deal, its contact and its notes
  doctor               one real read per granted scope, each reported OK or failed

With --json the answer is one JSON object on stdout: the result under its name ("deal", "deals",
"stages", ...), "api_calls" (the CRM requests it cost) and "credits_remaining" (null until Zoho
sends it). On any failure (bad arguments too) it is {"error": {"code", "message", "exit_status",
"retry"}, "api_calls", "credits_remaining"} and stderr has one line; retry is "now" (retried
already, try again), "later" (after retry_after seconds) or "never" (fix something first).
find uses Zoho's search when ZohoSearch.securesearch.READ is granted, else it scans; search needs
that scope.

exit status: 0 ok, 1 other failure (e.g. no such record), 2 bad arguments (or record id), 3 fix the files,
4 authorize again (refresh token revoked, scope missing), 5 transient (network, Zoho busy; retry).
"""
DEFAULT_LIMIT = 100
DEFAULT_FIND_LIMIT = 10
DEFAULT_SINCE = "7d"


def limit_type(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (no limit) or more")
    return value or None


def limit_option(default):
    options = tools.argument_parser(add_help=False)
    options.add_argument("--limit", type=limit_type, default=default,
                         help="at most this many records, 0 for all (default %d)" % default)
    return options


# Each command's actions, in the order its help lists them.
COMMANDS = {"deals": ("find", "changed", "pipeline", "get", "list", "search"),
            "contacts": ("find", "changed", "get", "list", "search"),
            "notes": ("deal", "contact"), "context": (), "doctor": ()}


def command_named(argv):
    """(command, action) that argv names (action None for a command without any), or None when it
    names none, or asks for help."""
    if argv is None or "-h" in argv or "--help" in argv:
        return None
    # Up to the action only flags are allowed (--json), so its first two words are these two.
    words = [word for word in argv if not word.startswith("-")][:2]
    if not words or words[0] not in COMMANDS:
        return None
    if not COMMANDS[words[0]]:
        return words[0], None
    return (words[0], words[1]) if words[1:] and words[1] in COMMANDS[words[0]] else None


def build_parser(argv=None):
    """The parser of zoho-crm.py. For argv that names a command, only that command's parsers are
    made: all of them are some twenty argparse parsers, about 7 ms of each agent call (a process
    each); help and mistakes (an unknown command, a missing action) get them all."""
    wanted = command_named(argv)

    def wants(command, action=None):
        return wanted is None or wanted[0] == command and (action is None or wanted[1] == action)

    parser = tools.argument_parser(prog="zoho-crm.py", description="Read Zoho CRM (read-only).", epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print JSON (for agents)")
    # Also accepted after the command; SUPPRESS keeps a subcommand from resetting a leading --json.
    json_after = tools.argument_parser(add_help=False)
    json_after.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    for noun in ("deals", "contacts"):
        if not wants(noun):
            continue
        group = commands.add_parser(noun, help="%s: %s" % (noun, ", ".join(COMMANDS[noun]))).add_subparsers(
            dest="action", metavar="ACTION")
        group.required = True
        if wants(noun, "find"):
            finder = group.add_parser("find", parents=[json_after, limit_option(DEFAULT_FIND_LIMIT)],
                                      help="%s whose name contains NAME, in any case" % noun)
            finder.add_argument("name", help="part of the name")
            finder.add_argument("--scan", action="store_true",
                                help="read the records even when Zoho's search is granted (its index may lag an edit)")
        if wants(noun, "changed"):
            changed = group.add_parser("changed", parents=[json_after, limit_option(DEFAULT_LIMIT)],
                                       help="%s modified since a time" % noun)
            changed.add_argument("--since", default=DEFAULT_SINCE,
                                 help="90m, 24h, 7d, 2w ago, a date (local midnight) or an ISO date-time "
                                      "(default %s)" % DEFAULT_SINCE)
        if noun == "deals" and wants(noun, "pipeline"):
            pipeline = group.add_parser("pipeline", parents=[json_after],
                                        help="per stage: deals, sum of Amount, closing dates")
            pipeline.add_argument("--open", action="store_true", help="leave out the Closed ... stages")
            pipeline.add_argument("--by-owner", action="store_true", help="also per owner within each stage")
            pipeline.add_argument("--owner", help="only this owner's deals (name, email or user id)")
        if wants(noun, "get"):
            group.add_parser("get", parents=[json_after]).add_argument("id")
        if wants(noun, "list"):
            lister = group.add_parser("list", parents=[json_after, limit_option(DEFAULT_LIMIT)])
            if noun == "deals":
                lister.add_argument("--stage", help="only this stage (exact, any case)")
            lister.add_argument("--owner", help="only this owner (name, email or user id)")
        if wants(noun, "search"):
            searcher = group.add_parser("search", parents=[json_after, limit_option(DEFAULT_LIMIT)])
            searcher.add_argument("text", nargs="?", help="word to search for (2 characters or more)")
            searcher.add_argument("--criteria", help="Zoho criteria, e.g. '(Stage:equals:Qualification)'")
            if noun == "contacts":
                searcher.add_argument("--email", help="search every email field")
    if wants("notes"):
        notes = commands.add_parser("notes", help="notes of a deal or a contact").add_subparsers(dest="action",
                                                                                                 metavar="PARENT")
        notes.required = True
        for parent in COMMANDS["notes"]:
            if wants("notes", parent):
                notes.add_parser(parent, parents=[json_after]).add_argument("id")
    if wants("context"):
        commands.add_parser("context", parents=[json_after], help="deal, contact and notes").add_argument("id")
    if wants("doctor"):
        commands.add_parser("doctor", parents=[json_after], help="check each granted scope with one real read")
    return parser


# ---- text output for people ----------------------------------------------------------------

def show_record(record, indent=""):
    for key, value in record.items():
        if value not in (None, "", []):
            print("%s%s: %s" % (indent, key, value))


def deal_line(deal):
    return "%s  %s - Stage: %s - Amount: %s - Contact: %s - Closing: %s" % (
        deal.get("id"), deal.get("Deal_Name"), deal.get("Stage"), deal.get("Amount"), deal.get("Contact_Name"),
        deal.get("Closing_Date"))


def contact_line(contact):
    return "%s  %s <%s> - %s" % (contact.get("id"), contact.get("Full_Name"), contact.get("Email") or "no email",
                                 contact.get("Account_Name") or "no account")


def show_notes(notes, indent=""):
    for note in notes:
        print("%s%s %s: %s" % (indent, note.get("Created_Time"), note.get("Owner"), note.get("Note_Title") or ""))
        if note.get("Note_Content"):
            print("%s    %s" % (indent, note["Note_Content"]))
    if not notes:
        print("%sNo notes." % indent)


def show_lines(rows, line, what):
    for row in rows:
        print(line(row))
    if not rows:
        print("No %s found." % what)


def counted(number, plural):
    """ "1 deal", "2 deals", "1 API call"."""
    return "%d %s" % (number, plural[:-1] if number == 1 else plural)


def calls_text(answer):
    return counted(answer["api_calls"], "API calls")


def show_found(answer, noun, name):
    rows = answer[noun]
    show_lines(rows, LINES[noun], noun)
    how = "from a scan of %s" % counted(answer["scanned"], noun) if answer["method"] == "scan" else "from Zoho's search"
    more = "; more may match (raise --limit)" if answer["more"] else ""
    print("%s whose name contains %r, %s (%s)%s." % (counted(len(rows), noun), name, how, calls_text(answer), more))


def show_changed(answer, noun):
    rows = answer[noun]
    for row in rows:
        print("%s  %s" % (row.get("Modified_Time"), LINES[noun](row)))
    more = "; there are more (raise --limit)" if answer["more"] else ""
    if rows:
        print("%s changed since %s (%s)%s." % (counted(len(rows), noun), answer["since"], calls_text(answer), more))
    else:
        print("No %s changed since %s (%s)." % (noun, answer["since"], calls_text(answer)))


def pipeline_line(label, tally, indent=""):
    closing = "%s .. %s" % (tally["closing_from"], tally["closing_to"]) if tally["closing_from"] else "-"
    missing = "  (%d without an amount)" % tally["no_amount"] if tally["no_amount"] else ""
    return "%-28s %6d %16s  %s%s" % (indent + label, tally["count"], "{:,}".format(tally["amount"]), closing, missing)


def show_pipeline(answer):
    print("%-28s %6s %16s  %s" % ("Stage", "Deals", "Amount", "Closing dates"))
    for stage in answer["stages"]:
        print(pipeline_line(stage["stage"], stage))
        for owner in stage.get("owners", ()):
            print(pipeline_line(owner["owner"], owner, indent="  "))
    print(pipeline_line("Total", answer["total"]))
    print("(%s read, %s)" % (counted(answer["scanned"], "deals"), calls_text(answer)))


LINES = {"deals": deal_line, "contacts": contact_line}


def show_context(context):
    print("Deal")
    show_record(context["deal"], "  ")
    print("Contact")
    if context["contact"]:
        show_record(context["contact"], "  ")
    else:
        print("  No contact on this deal.")
    print("Notes (%d)" % len(context["notes"]))
    show_notes(context["notes"], "  ")


# ---- doctor ----------------------------------------------------------------------------------

def doctor(crm):
    """One real read per granted scope; returns (checks, exit status of the first failure or 0)."""
    granted = crm.granted_scopes
    checks = []
    found = {}

    def check(name, scope, read, optional=False):
        if optional and not oauth.scope_satisfied(scope, granted):
            checks.append(dict(check=name, scope=scope, status="skipped", detail="scope not granted"))
            return
        try:
            detail = read()
        except oauth.ZohoError as exc:
            checks.append(dict(check=name, scope=scope, status="failed", detail=str(exc),
                               exit_status=exc.exit_status))
        else:
            checks.append(dict(check=name, scope=scope, status="ok", detail=detail))

    def read_token():
        crm.access_token()
        return "access token valid until %s" % crm.expires_at

    def read_deals():
        found["deal"] = next(iter(crm.list_deals(limit=1)), None)
        return "read %d deal" % (1 if found["deal"] else 0)

    def read_contacts():
        found["contact"] = next(iter(crm.list_contacts(limit=1)), None)
        return "read %d contact" % (1 if found["contact"] else 0)

    def read_notes():
        kind, read = ("deal", crm.get_deal_notes) if found.get("deal") else ("contact", crm.get_contact_notes)
        return "read %d note(s) of %s %s" % (len(read(found[kind]["id"], limit=5)), kind, found[kind]["id"])

    def read_search():
        return "searched deals: %d match(es)" % len(list(crm.search_deals(text="deal", limit=5)))

    def read_coql():
        return "COQL select: %d row(s)" % len(crm.coql("select id from Deals where id is not null limit 1"))

    check("token", "", read_token)
    if checks[0]["status"] == "failed":
        return checks, checks[0]["exit_status"]
    check("deals", "ZohoCRM.modules.deals.READ", read_deals)
    check("contacts", "ZohoCRM.modules.contacts.READ", read_contacts)
    if found.get("deal") or found.get("contact"):
        check("notes", "ZohoCRM.modules.notes.READ", read_notes)
    else:
        checks.append(dict(check="notes", scope="ZohoCRM.modules.notes.READ", status="skipped",
                           detail="no deal or contact to read notes from"))
    check("search", oauth.SEARCH_SCOPE, read_search, optional=True)
    check("coql", oauth.COQL_SCOPE, read_coql, optional=True)
    failed = [c for c in checks if c["status"] == "failed"]
    return checks, failed[0]["exit_status"] if failed else oauth.EXIT_OK


def show_doctor(checks, crm):
    print("Zoho CRM doctor: %s (%s)" % (crm.api_domain, crm.token_file.path))
    marks = {"ok": "✓", "failed": "✗", "skipped": "-"}
    for item in checks:
        scope = " [%s]" % item["scope"] if item["scope"] else ""
        print("%s %s%s: %s" % (marks[item["status"]], item["check"], scope, item["detail"]))
    failed = sum(item["status"] == "failed" for item in checks)
    print("%d check(s) failed." % failed if failed else "All checks passed.")


# ---- commands ------------------------------------------------------------------------------

def run(args, crm):
    """Do the command; returns (the answer's result keys, a function that prints the whole answer
    for people, exit status)."""
    if args.command == "doctor":
        checks, status = doctor(crm)
        return dict(ok=status == oauth.EXIT_OK, api_domain=crm.api_domain, checks=checks), \
            lambda answer: show_doctor(answer["checks"], crm), status
    if args.command == "context":
        return crm.deal_context(args.id), show_context, oauth.EXIT_OK
    if args.command == "notes":
        notes = crm.get_deal_notes(args.id) if args.action == "deal" else crm.get_contact_notes(args.id)
        return {"notes": notes}, lambda answer: show_notes(answer["notes"]), oauth.EXIT_OK
    noun = args.command
    deals = noun == "deals"
    if args.action == "find":
        found = (crm.find_deals if deals else crm.find_contacts)(args.name, limit=args.limit, scan=args.scan)
        return found, lambda answer: show_found(answer, noun, args.name), oauth.EXIT_OK
    if args.action == "changed":
        changed = (crm.changed_deals if deals else crm.changed_contacts)(args.since, limit=args.limit)
        return changed, lambda answer: show_changed(answer, noun), oauth.EXIT_OK
    if args.action == "pipeline":
        return crm.pipeline(open_only=args.open, by_owner=args.by_owner, owner=args.owner), show_pipeline, \
            oauth.EXIT_OK
    if args.action == "get":
        record = crm.get_deal(args.id) if deals else crm.get_contact(args.id)
        name = "deal" if deals else "contact"
        return {name: record}, lambda answer: show_record(answer[name]), oauth.EXIT_OK
    if args.action == "list":
        rows = crm.list_deals(stage=args.stage, owner=args.owner, limit=args.limit) if deals else \
            crm.list_contacts(owner=args.owner, limit=args.limit)
    elif deals:
        rows = crm.search_deals(text=args.text, criteria=args.criteria, limit=args.limit)
    else:
        rows = crm.search_contacts(text=args.text, criteria=args.criteria, email=args.email, limit=args.limit)
    return {noun: list(rows)}, lambda answer: show_lines(answer[noun], LINES[noun], noun), oauth.EXIT_OK


def usage(crm):
    """What every --json answer ends with, failures included: the CRM requests it cost (retries
    included; token refreshes cost no CRM credits and are not counted) and Zoho's credits left."""
    if crm is None:
        return {"api_calls": 0, "credits_remaining": None}
    return {"api_calls": crm.api_calls, "credits_remaining": crm.credits_remaining}


def main(argv=None):
    """zoho-crm.py: every failure is one line on stderr with its exit status (zoho_crm_tools.run_tool)
    and, with --json anywhere on the command line, the error answer on stdout."""
    argv = sys.argv[1:] if argv is None else list(argv)
    made = []

    def answer(argv):
        args = build_parser(argv).parse_args(argv)
        crm = ZohoCRMClient()
        made.append(crm)
        result, show, status = run(args, crm)
        result.update(usage(crm))
        if args.json:
            print(json.dumps(result, indent=2, ensure_ascii=False))
        else:
            show(result)
        return status

    return tools.run_tool(answer, argv, json_errors="--json" in argv, usage=lambda: usage(made[0] if made else None))

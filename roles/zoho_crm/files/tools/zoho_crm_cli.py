# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""The agent's CLI, zoho-crm.py: read Zoho CRM deals, contacts and notes; --json for agents.

    cd <home>/workspace && python3 tools/zoho-crm.py --json deals list --stage Qualification
    python3 tools/zoho-crm.py context 1234567890
    python3 tools/zoho-crm.py doctor

Its commands live here and zoho-crm.py only runs main(): python3 compiles a script on every run
but a module once (tools/__pycache__), and every agent call is a new process.
"""

import argparse
import json

import zoho_crm_oauth as oauth
import zoho_crm_tools as tools
from zoho_crm_client import ZohoCRMClient

EPILOG = """\
commands:
  deals get ID | deals list [--stage S] [--owner O] | deals search TEXT
  contacts get ID | contacts list [--owner O] | contacts search TEXT [--email E]
  notes deal ID | notes contact ID
  context DEAL_ID      the deal, its contact and its notes
  doctor               one real read per granted scope, each reported OK or failed

With --json the result is JSON on stdout; on any failure (bad arguments too) stdout holds
{"error": {"code", "message", "exit_status", "retry"}} and stderr one line; retry is "now"
(retried already, try again), "later" (after retry_after seconds) or "never" (fix something
first). Search needs the ZohoSearch.securesearch.READ scope.

exit status: 0 ok, 1 other failure (e.g. no such record), 2 bad arguments (or record id), 3 fix the files,
4 authorize again (refresh token revoked, scope missing), 5 transient (network, Zoho busy; retry).
"""
DEFAULT_LIMIT = 100


def limit_type(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (no limit) or more")
    return value or None


def build_parser():
    parser = tools.argument_parser(prog="zoho-crm.py", description="Read Zoho CRM (read-only).", epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print JSON (for agents)")
    # Also accepted after the command; SUPPRESS keeps a subcommand from resetting a leading --json.
    json_after = tools.argument_parser(add_help=False)
    json_after.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    listing = tools.argument_parser(add_help=False)
    listing.add_argument("--limit", type=limit_type, default=DEFAULT_LIMIT,
                         help="at most this many records, 0 for all (default %d)" % DEFAULT_LIMIT)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    for noun in ("deals", "contacts"):
        group = commands.add_parser(noun, help="%s: get, list, search" % noun).add_subparsers(dest="action",
                                                                                               metavar="ACTION")
        group.required = True
        group.add_parser("get", parents=[json_after]).add_argument("id")
        lister = group.add_parser("list", parents=[json_after, listing])
        if noun == "deals":
            lister.add_argument("--stage", help="only this stage (exact, any case)")
        lister.add_argument("--owner", help="only this owner (name, email or user id)")
        searcher = group.add_parser("search", parents=[json_after, listing])
        searcher.add_argument("text", nargs="?", help="word to search for (2 characters or more)")
        searcher.add_argument("--criteria", help="Zoho criteria, e.g. '(Stage:equals:Qualification)'")
        if noun == "contacts":
            searcher.add_argument("--email", help="search every email field")
    notes = commands.add_parser("notes", help="notes of a deal or a contact").add_subparsers(dest="action",
                                                                                             metavar="PARENT")
    notes.required = True
    for parent in ("deal", "contact"):
        notes.add_parser(parent, parents=[json_after]).add_argument("id")
    commands.add_parser("context", parents=[json_after], help="deal, contact and notes").add_argument("id")
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
    """Do the command; returns (JSON-able result, function that prints it for people)."""
    if args.command == "context":
        return crm.deal_context(args.id), show_context
    if args.command == "notes":
        notes = crm.get_deal_notes(args.id) if args.action == "deal" else crm.get_contact_notes(args.id)
        return notes, show_notes
    deals = args.command == "deals"
    line = deal_line if deals else contact_line
    if args.action == "get":
        return (crm.get_deal(args.id) if deals else crm.get_contact(args.id)), show_record
    if args.action == "list":
        rows = crm.list_deals(stage=args.stage, owner=args.owner, limit=args.limit) if deals else \
            crm.list_contacts(owner=args.owner, limit=args.limit)
    elif deals:
        rows = crm.search_deals(text=args.text, criteria=args.criteria, limit=args.limit)
    else:
        rows = crm.search_contacts(text=args.text, criteria=args.criteria, email=args.email, limit=args.limit)
    return list(rows), lambda found: show_lines(found, line, args.command)


def main(argv=None):
    args = build_parser().parse_args(argv)
    crm = ZohoCRMClient()
    if args.command == "doctor":
        checks, status = doctor(crm)
        if args.json:
            print(json.dumps(dict(ok=status == oauth.EXIT_OK, api_domain=crm.api_domain, checks=checks,
                                  credits_remaining=crm.credits_remaining), indent=2))
        else:
            show_doctor(checks, crm)
        return status
    result, show = run(args, crm)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        show(result)
    return oauth.EXIT_OK

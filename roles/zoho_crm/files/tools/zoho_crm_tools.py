# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""What the workspace tools share and the Ansible module does not: where the credentials are and
loading them, what the authorizing tools check and print, the command line's error convention, and
turning every failure into one line on stderr (and, for --json, an error object on stdout) with the
exit status of its class.

Standard library only. argparse is imported by argument_parser(), not here: the agent's
`from tools.zoho_crm_client import ZohoCRMClient` loads this module too.
"""

import json
import os
import sys

if __package__:  # imported as tools.zoho_crm_tools from the workspace (tools/ has no __init__.py)
    from . import zoho_crm_oauth as oauth
else:  # run from, or imported with, the tools directory on sys.path
    import zoho_crm_oauth as oauth


def credentials_dir():
    """ZOHO_CRM_CREDENTIALS_DIR, else $OPENCLAW_STATE_DIR/credentials, else <home>/credentials
    found from this file's place in <home>/workspace/tools."""
    explicit = os.environ.get("ZOHO_CRM_CREDENTIALS_DIR")
    if explicit:
        return explicit
    state_dir = os.environ.get("OPENCLAW_STATE_DIR")
    if state_dir:
        return os.path.join(state_dir, "credentials")
    tools_dir = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(os.path.dirname(os.path.dirname(tools_dir)), "credentials")


def load_client(directory=None):
    """The client-secret file of the credentials directory, refused when others can read it."""
    return oauth.ClientConfig.load(os.path.join(directory or credentials_dir(), oauth.CLIENT_SECRET_FILENAME),
                                   private=True)


def token_file(directory=None, agent_path=None):
    """The token file of the credentials directory; its reads refuse a file others can read.
    agent_path: a separate refresher's agent copy (see zoho_crm_oauth.TokenFile)."""
    return oauth.TokenFile(os.path.join(directory or credentials_dir(), oauth.TOKENS_FILENAME), private=True,
                           agent_path=agent_path)


def readable_record(token_file):
    """The stored record, or None when there is none or it is too damaged to hold a refresh token
    (then a note says it will be replaced)."""
    try:
        return token_file.read()
    except oauth.TokenFileError:
        print("Note: %s is damaged; it will be replaced." % token_file.path, file=sys.stderr)
        return None


def stored_refresh_token_works(token_file, client, record, transport):
    """Whether the stored refresh token can still mint access tokens for this client. Checking
    costs one mint, which is saved, so nothing is wasted."""
    if not record.refresh_token:
        return False
    try:
        oauth.refresh_token_file(token_file, client, transport, force=True)
    except oauth.TokenThrottledError:
        return True  # Zoho knows the token; it only refuses to mint more right now
    except (oauth.InvalidCodeError, oauth.InvalidClientError, oauth.InvalidClientSecretError):
        return False
    return True


def report_saved_tokens(exchange, token_file):
    """The guide's lines after an authorization (an ExchangeResult), tokens masked as the guide does."""
    record = exchange.record
    print("✓ Tokens retrieved successfully")
    print("Access Token: %s" % oauth.mask(record.access_token))
    print("Refresh Token: %s" % oauth.mask(record.refresh_token))
    print("Expires In: %d seconds (%s)" % (record.expires_in, describe_lifetime(record.expires_in)))
    print("✓ Tokens saved to: %s" % token_file.path)
    if exchange.revoke_error:
        print("Warning: the previous refresh token (%s) was not revoked: %s" % (
            oauth.fingerprint(exchange.replaced.refresh_token), exchange.revoke_error), file=sys.stderr)
    elif exchange.revoked is not None:
        print("✓ Previous refresh token %s" % ("revoked" if exchange.revoked else "was already invalid at Zoho"))
    print("Next: python3 tools/zoho-crm-test.py")


def describe_lifetime(seconds):
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "%d hour%s" % (hours, "" if hours == 1 else "s")
    return "%d minutes" % (seconds // 60)


_parser_class = []


def argument_parser(**kwargs):
    """An argparse.ArgumentParser whose errors are BadArgumentError (exit 2, one line naming the
    cause and the fix) instead of argparse's usage lines and exit, which an agent reading stderr
    would have to skip. Its subparsers are of the same class."""
    if not _parser_class:
        import argparse
        import functools

        class ToolArgumentParser(argparse.ArgumentParser):
            def __init__(self, **options):
                # Help is as wide as the terminal. argparse would ask shutil, an import of some
                # twenty modules on every run of every tool, for a width only --help uses.
                options["formatter_class"] = functools.partial(
                    options.get("formatter_class", argparse.HelpFormatter), width=terminal_width() - 2)
                super(ToolArgumentParser, self).__init__(**options)

            def error(self, message):
                raise oauth.BadArgumentError("%s. Fix: see %s --help." % (message, self.prog))

        _parser_class.append(ToolArgumentParser)
    return _parser_class[0](**kwargs)


def terminal_width():
    """COLUMNS, else the terminal's width, else 80: what shutil.get_terminal_size() answers."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def error_object(exc):
    """{"error": {...}} for any failure: a ZohoError's own fields, or those of an unexpected one."""
    if isinstance(exc, oauth.ZohoError):
        return {"error": exc.as_json()}
    return {"error": {"code": "unexpected", "message": unexpected_message(exc), "exit_status": oauth.EXIT_FAILED,
                      "retry": oauth.RETRY_NEVER}}


def unexpected_message(exc):
    """Where an unexpected exception happened, without its message (which could quote a secret)."""
    import traceback
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return "unexpected %s at %s:%d. Fix: report it with the command that was run." % (
        type(exc).__name__, os.path.basename(frame.filename), frame.lineno)


def run_tool(main, argv=None, json_errors=False, usage=None):
    """Run a tool's main(argv), which returns an exit status. Every failure becomes one line on
    stderr, "Error: <cause>. Fix: ...", and the exit status of its class (EXIT_* in zoho_crm_oauth),
    never a traceback: a traceback's messages could quote a secret. With json_errors, stdout also
    gets {"error": {"code", "message", "exit_status", "retry"}}, with the keys of usage() (a
    callable returning a dict, e.g. the API calls made) beside "error"."""
    # Whatever umask cron or a shell hands over, what a tool creates (lock, log) is the user's alone.
    os.umask(0o077)
    for stream in (sys.stdout, sys.stderr):
        # The guide's check marks must not crash a tool whose terminal or log is not UTF-8.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        return main(argv)
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not a failure, and nothing more can be written.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return oauth.EXIT_OK
    except Exception as exc:  # every failure ends here, typed or not
        answer = error_object(exc)["error"]
        if json_errors:
            print(json.dumps(dict({"error": answer}, **(usage() if usage else {}))))
        sys.stderr.write("Error: %s\n" % answer["message"])
        return answer["exit_status"]

#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: the zoho_crm provisioning authors
# MIT License (see LICENSE)
"""Refresh the Zoho CRM access token when it is about to expire. Meant for cron, e.g.

    */10 * * * * cd <home>/workspace && python3 tools/zoho-crm-refresh-token.py --log-file LOG

or, with a separate refresher (the agent's user holds only the access token), as root from the
refresher's directory, writing the agent's copy of the token file:

    */10 * * * * root python3 DIR/tools/zoho-crm-refresh-token.py --credentials-dir DIR \
        --agent-token-file <home>/credentials/zoho-crm-tokens.json --log-file DIR/zoho-crm-token-refresh.log

Standard library only, so it runs on a bare python3.
"""

import argparse
import logging
import logging.handlers
import os
import sys
import time

import zoho_crm_oauth as oauth
import zoho_crm_tools as tools

# The role runs this every 10 minutes. A token with 16 minutes or less left is refreshed, so one
# that is kept has more than 6 minutes left at the next run: it never reaches the client's own
# 5-minute margin, and no agent call waits for a mint. Each token serves about 50 minutes (29 mints
# a day, far inside Zoho's 10 per 10 minutes). The guide's "*/50" runs at minutes 0 and 50 only,
# which left the agent to mint the token that died between :50 and :00 (make bench shows both).
DEFAULT_MIN_TTL = 16 * 60
DEFAULT_LOG_MAX_BYTES = 1024 * 1024

EPILOG = """\
Refreshes only when the access token expires within --min-ttl seconds (or with --force), under
the token file's lock: when another process has just refreshed, its token is used and Zoho is
not called. Zoho mints at most 10 access tokens per refresh token in 10 minutes.

With --agent-token-file, DIR (--credentials-dir) holds the client secret and the refresh token, and
every run also brings the agent's token file in line: the access token, its expiry, api_domain and
scopes only, owned by the owner of its directory, 0600.

Log lines are timestamped and never contain a token or the client secret. --log-file keeps the
log at PATH (and one PATH.1), each at most --log-max-bytes, so cron can log outside /tmp.

exit status (for cron and monitoring):
  0  the access token is fresh (refreshed now or still valid)
  1  other failure
  2  bad arguments
  3  configuration error: the client-secret or token file is missing or malformed, or Zoho
     rejected the client ID, secret or redirect URI; fix the files (provision.yml)
  4  needs re-authorization: Zoho rejected the refresh token (revoked or evicted); run
     zoho-crm-oauth-init.py and zoho-crm-oauth-exchange.py, or provision.yml with a new code
  5  transient: network, Zoho unavailable, or the minting limit; retry later (the next run will)
"""


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def make_logger(log_file, max_bytes):
    logger = logging.getLogger("zoho-crm-refresh-token")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if log_file:
        try:
            handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=max_bytes, backupCount=1,
                                                           encoding="utf-8")
        except OSError as exc:
            raise oauth.ConfigError("Cannot write the log file %s (%s). Fix: create its directory for this user, "
                                    "or pick another --log-file." % (log_file, exc.strerror or exc))
    else:
        handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter("%(asctime)s zoho-crm-refresh-token %(levelname)s %(message)s",
                                  "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    return logger


def failed(log, log_file, exc):
    """Log a failure and return its exit status; with a log file, also tell cron (it mails stderr)."""
    status = exc.exit_status
    log.error("refresh failed (exit %d): %s", status, exc)
    if log_file:
        print("Error: %s" % exc, file=sys.stderr)
    return status


def minutes_left(record):
    return int(record.seconds_left() // 60)


def check_agent_copy(log, args, copy):
    """Run on the agent's copy of a separate refresher's token file: it cannot be refreshed here (no
    refresh token, no client secret); say whether it is fresh, and who refreshes it."""
    copy.require_fresh_agent_copy()
    if args.force:
        raise oauth.ConfigError(
            "%s is the agent's copy of the tokens a separate refresher keeps in %s: only the refresher can refresh "
            "them. Fix: as root, run python3 %s --force --credentials-dir %s --agent-token-file %s." % (
                copy.source, copy.refresher_dir, os.path.join(copy.refresher_dir, oauth.REFRESHER_TOOL),
                copy.refresher_dir, copy.source))
    log.info("access token %s still fresh: expires at %s (%d min); the refresher in %s refreshes it",
             oauth.fingerprint(copy.access_token), copy.expires_at_text, minutes_left(copy), copy.refresher_dir)
    return oauth.EXIT_OK


def main(argv=None):
    parser = tools.argument_parser(
        prog="zoho-crm-refresh-token.py", description="Refresh the Zoho CRM access token when needed.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-ttl", type=non_negative_int, default=DEFAULT_MIN_TTL, metavar="SECONDS",
                        help="refresh when the token expires within this many seconds (default %d)" % DEFAULT_MIN_TTL)
    parser.add_argument("--force", action="store_true", help="refresh even when the token is still fresh")
    parser.add_argument("--log-file", metavar="PATH", help="append the log here (size-capped) instead of stdout")
    parser.add_argument("--log-max-bytes", type=non_negative_int, default=DEFAULT_LOG_MAX_BYTES, metavar="BYTES",
                        help="rotate the log file at this size (default %d)" % DEFAULT_LOG_MAX_BYTES)
    parser.add_argument("--credentials-dir", metavar="DIR",
                        help="the directory of the client-secret and token files (default: found from this tool's "
                             "place, or ZOHO_CRM_CREDENTIALS_DIR)")
    parser.add_argument("--agent-token-file", metavar="PATH",
                        help="a separate refresher's agent copy: write the access token (and nothing that can "
                             "mint one) here too")
    args = parser.parse_args(argv)

    log = make_logger(args.log_file, args.log_max_bytes)
    try:
        # One try per run, no retry: the next run comes while the token still lives.
        token_file = tools.token_file(args.credentials_dir, agent_path=args.agent_token_file)
        copy = None if args.agent_token_file else token_file.read()
        if copy is not None and copy.refresher_dir:
            return check_agent_copy(log, args, copy)
        record, refreshed = oauth.refresh_token_file(token_file, tools.load_client(args.credentials_dir),
                                                     oauth.Transport(), min_ttl=args.min_ttl, force=args.force)
    except oauth.ZohoError as exc:
        return failed(log, args.log_file, exc)
    if refreshed:
        log.info("refreshed the access token %s: expires at %s (%d min), API %s", oauth.fingerprint(
            record.access_token), record.expires_at_text, minutes_left(record), record.api_domain)
    else:
        log.info("access token %s still fresh: expires at %s (%d min); nothing to do", oauth.fingerprint(
            record.access_token), record.expires_at_text, minutes_left(record))
    return oauth.EXIT_OK


if __name__ == "__main__":
    sys.exit(tools.run_tool(main))

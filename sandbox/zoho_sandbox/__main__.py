"""python -m zoho_sandbox --port N: run the stand-in until SIGTERM or SIGINT."""

import argparse
import os
import signal
import ssl
import sys
import threading

from .config import Settings
from .sandbox import Sandbox


# Settings with a flag of their own (the others are reached with --set NAME=VALUE).
FLAGS = {"data_centers": "--data-centers", "user_dc": "--user-dc", "deals": "--deals",
         "code_lifetime": "--code-lifetime", "daily_credits": "--daily-credits", "concurrency": "--concurrency",
         "admin": "--non-admin", "accept_bearer": "--accept-bearer", "seed": "--seed", "redirect_uri": "--redirect-uri"}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m zoho_sandbox",
                                     description="A local stand-in for Zoho Accounts and the Zoho CRM v8 API.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--data-centers", default="us", help="comma-separated DCs, e.g. us,eu (default us)")
    parser.add_argument("--user-dc", help="the user's home DC (default: the first of --data-centers)")
    parser.add_argument("--deals", type=int, default=60, help="number of deals in the org (default 60)")
    parser.add_argument("--code-lifetime", type=float, default=180, help="grant code lifetime, seconds")
    parser.add_argument("--access-token-lifetime", type=int, default=3600, help="access token lifetime, seconds")
    parser.add_argument("--daily-credits", type=int, default=50000, help="API credits per rolling 24 h")
    parser.add_argument("--concurrency", type=int, default=10, help="concurrent CRM calls before 429")
    parser.add_argument("--non-admin", action="store_true", help="the user is not an admin (GET /Notes: 403)")
    parser.add_argument("--accept-bearer", action="store_true", help="accept Authorization: Bearer on CRM calls")
    parser.add_argument("--seed", type=int, default=2026, help="seed for the client credentials, data and faults")
    parser.add_argument("--redirect-uri", help="the client's registered redirect URI")
    parser.add_argument("--ready-file", help="write the base URL to this file once listening")
    parser.add_argument("--log-file", help="append each request (secrets redacted) as a JSON line")
    parser.add_argument("--tls-cert", help="serve https with this PEM certificate (chain) for 127.0.0.1")
    parser.add_argument("--tls-key", help="the certificate's PEM private key (default: in --tls-cert)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="any other option of config.Settings, e.g. device_units=milliseconds (repeatable)")
    args = parser.parse_args(argv)
    if args.tls_key and not args.tls_cert:
        parser.error("--tls-key needs --tls-cert")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    options = {"redirect_uri": args.redirect_uri} if args.redirect_uri else {}
    try:
        options.update(Settings.parse_option(text, FLAGS) for text in args.set)
        tls = None
        if args.tls_cert:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        sandbox = Sandbox(port=args.port, data_centers=args.data_centers, user_dc=args.user_dc,
                          deals=args.deals, code_lifetime=args.code_lifetime,
                          access_token_lifetime=args.access_token_lifetime, daily_credits=args.daily_credits,
                          concurrency=args.concurrency, admin=not args.non_admin, accept_bearer=args.accept_bearer,
                          seed=args.seed, log_file=args.log_file, tls=tls, **options)
        sandbox.start()
    except (ValueError, OSError) as error:
        print(f"zoho_sandbox: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.ready_file:  # written whole, then renamed, so a script polling for it never reads half
        partial = args.ready_file + ".tmp"
        with open(partial, "w", encoding="utf-8") as ready:
            ready.write(sandbox.base_url + "\n")
        os.replace(partial, args.ready_file)
    print(f"Zoho sandbox listening on {sandbox.base_url}", flush=True)
    stop.wait()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

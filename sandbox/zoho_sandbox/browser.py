"""A scripted browser for the consent page: what a person does when they open the authorization
URL and press Approve (or Deny). Used by Sandbox.authorize and by `make demo`, which talks to a
stand-in in another process.

    python -m zoho_sandbox.browser AUTH_URL [--deny]   # prints the URL the browser is sent to
"""

import argparse
import re
import urllib.error
import urllib.request
from urllib.parse import urlencode, urljoin

from .errors import SandboxError


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a browser would follow it; we want the Location itself


def authorize(auth_url: str, approve: bool = True) -> str:
    """Load the consent page, press Approve or Deny, and return the redirect URL."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(auth_url, timeout=10) as page:
            html = page.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        raise SandboxError(f"authorization page answered {error.code}: {_title(error.read())}") from None
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    request_id = re.search(r'name="request_id" value="([^"]+)"', html)
    if not action or not request_id:
        raise SandboxError("no consent form on the authorization page")
    form = urlencode({"request_id": request_id.group(1), "action": "approve" if approve else "deny"})
    try:
        with opener.open(urljoin(auth_url, action.group(1)), form.encode(), timeout=10) as answer:
            raise SandboxError(f"consent answered {answer.status} instead of a redirect: "
                               f"{_title(answer.read())}")
    except urllib.error.HTTPError as error:
        if error.code in (301, 302, 303):
            return error.headers["Location"]
        raise SandboxError(f"consent answered {error.code}: {_title(error.read())}") from None


def _title(html: bytes) -> str:
    match = re.search(rb"<h1>(.*?)</h1>", html)
    return match.group(1).decode("utf-8", "replace") if match else html[:80].decode("utf-8", "replace")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m zoho_sandbox.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("auth_url")
    parser.add_argument("--deny", action="store_true", help="press Deny instead of Approve")
    args = parser.parse_args(argv)
    try:
        print(authorize(args.auth_url, approve=not args.deny))
    except SandboxError as error:
        parser.exit(1, f"error: {error}\n")


if __name__ == "__main__":
    main()

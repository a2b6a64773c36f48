"""A scripted browser for the consent pages: what a person does when they open the authorization
URL and press Approve (or Deny), or open a device flow's verification URL, type the user code and
press Approve (or Deny). Used by Sandbox.authorize and Sandbox.enter_user_code, by `make demo`,
and by tests that talk to a stand-in in another process.

    python -m zoho_sandbox.browser AUTH_URL [--deny]       # prints the URL the browser is sent to
    python -m zoho_sandbox.browser --device VERIFICATION_URL [--user-code CODE] [--deny]
                                                           # prints "approved" or "denied"
"""

import argparse
import html
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


def enter_user_code(verification_url: str, user_code: str | None = None, approve: bool = True) -> str:
    """Open the verification page, type the user code (None: the URL already carries it, as
    verification_uri_complete does), press Approve or Deny; returns "approved" or "denied"."""
    opener = urllib.request.build_opener(_NoRedirect)
    page = _open(opener, verification_url)
    if user_code is not None:
        entry = re.search(r'<form method="post" action="([^"]+)"><input name="user_code"', page)
        if not entry:
            raise SandboxError("no code entry form on the verification page")
        page = _open(opener, urljoin(verification_url, html.unescape(entry.group(1))), {"user_code": user_code})
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    shown = re.search(r'name="user_code" value="([^"]+)"', page)
    if not action or not shown:
        raise SandboxError("no consent form on the verification page")
    result = _open(opener, urljoin(verification_url, html.unescape(action.group(1))),
                   {"user_code": html.unescape(shown.group(1)), "action": "approve" if approve else "deny"})
    outcome = {"Access Granted": "approved", "Access Denied": "denied"}.get(_title(result.encode("utf-8")))
    if outcome is None:
        raise SandboxError(f"unexpected page after consent: {_title(result.encode('utf-8'))}")
    return outcome


def _open(opener, url: str, form: dict | None = None) -> str:
    """A page's HTML (GET, or POST of `form`); SandboxError naming the page's heading otherwise."""
    data = urlencode(form).encode() if form is not None else None
    try:
        with opener.open(url, data, timeout=10) as page:
            return page.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        raise SandboxError(f"verification page answered {error.code}: {_title(error.read())}") from None


def _title(html: bytes) -> str:
    match = re.search(rb"<h1>(.*?)</h1>", html)
    return match.group(1).decode("utf-8", "replace") if match else html[:80].decode("utf-8", "replace")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m zoho_sandbox.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the authorization URL, or with --device the verification URL")
    parser.add_argument("--device", action="store_true",
                        help="a device flow: type the user code on the verification page")
    parser.add_argument("--user-code", help="the code the device shows (omit for verification_uri_complete)")
    parser.add_argument("--deny", action="store_true", help="press Deny instead of Approve")
    args = parser.parse_args(argv)
    if args.user_code and not args.device:
        parser.error("--user-code needs --device")
    try:
        if args.device:
            print(enter_user_code(args.url, args.user_code, approve=not args.deny))
        else:
            print(authorize(args.url, approve=not args.deny))
    except SandboxError as error:
        parser.exit(1, f"error: {error}\n")


if __name__ == "__main__":
    main()

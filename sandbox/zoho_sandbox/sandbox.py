"""The Sandbox object: builds the stand-in, runs it on a loopback port, and exposes its controls."""

import threading

from . import browser
from .accounts import Accounts
from .clock import Clock
from .config import Settings
from .control import Control
from .crm import CrmApi
from .data import Org
from .device import DeviceFlow
from .errors import SandboxError
from .faults import Faults
from .limits import ConcurrencyCap, CreditBudget
from .paging import Orderings, PageTokens
from .server import App, Server, Traffic


class Sandbox:
    """A local stand-in for Zoho's accounts servers and CRM v8 API.

    Sandbox(port=0, data_centers=("us",), user_dc=None, deals=60, code_lifetime=180,
            daily_credits=50000, concurrency=10, admin=True, accept_bearer=False, seed=2026,
            log_file=None, tls=None, **options)   # options: any other field of config.Settings
    tls: a server-side ssl.SSLContext with the certificate loaded: the stand-in then serves https.
    """

    def __init__(self, port=0, data_centers=("us",), user_dc=None, deals=60, code_lifetime=180,
                 daily_credits=50000, concurrency=10, admin=True, accept_bearer=False, seed=2026,
                 log_file=None, tls=None, **options):
        unknown = set(options) - Settings.names()
        if unknown:
            raise TypeError(f"unknown Sandbox options: {', '.join(sorted(unknown))}")
        if isinstance(data_centers, str):  # "us,eu", as on the command line
            data_centers = [dc.strip() for dc in data_centers.split(",") if dc.strip()]
        self.settings = Settings(data_centers=tuple(data_centers), user_dc=user_dc, deals=deals,
                                 code_lifetime=code_lifetime, daily_credits=daily_credits,
                                 concurrency=concurrency, admin=admin, accept_bearer=accept_bearer,
                                 seed=seed, **options)
        self.port = port
        self.tls = tls
        self.clock = Clock()
        self.org = Org(deals, seed, admin, now=self.clock.now())
        self.traffic = Traffic(log_file)
        self.accounts = Accounts(self.settings, self.clock, self.org, self)
        self.device = DeviceFlow(self.accounts, self.settings, self.clock, self, self.traffic.count_device)
        self.orderings = Orderings()
        self.crm = CrmApi(self.settings, self.org, self.orderings,
                          PageTokens(self.clock, self.settings.page_token_lifetime))
        self.faults = Faults(seed)
        self.credits = CreditBudget(self.clock, daily_credits, self.settings.credit_window)
        self.concurrency = ConcurrencyCap(concurrency)
        self.sub_concurrency = ConcurrencyCap(self.settings.sub_concurrency)
        self.control = Control(self)
        self._server = None
        self._thread = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "Sandbox":
        if self._server is not None:
            raise SandboxError("already started")
        self._server = Server(self.port, App(self), self.tls)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"zoho-sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- URLs ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise SandboxError("not started")
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _dc(self, dc):
        dc = dc or self.settings.home_dc
        if dc not in self.settings.data_centers:
            raise SandboxError(f"data center {dc!r} is not served; have {', '.join(self.settings.data_centers)}")
        return dc

    def accounts_url(self, dc=None) -> str:
        """The accounts server of a DC (default: the user's), e.g. http://127.0.0.1:PORT/us/accounts."""
        return f"{self.base_url}/{self._dc(dc)}/accounts"

    def api_domain(self, dc=None) -> str:
        """The API domain of a DC (default: the user's), e.g. http://127.0.0.1:PORT/us/api."""
        return f"{self.base_url}/{self._dc(dc)}/api"

    @property
    def client(self) -> dict:
        """The pre-registered client (same id in every DC, as in Zoho's multi-DC setup)."""
        client = self.accounts.client
        return {"client_id": client.client_id, "client_secret": client.client_secret,
                "redirect_uri": client.redirect_uris[0]}

    # -- what a user or the API console would do -------------------------------------------------

    def self_client_code(self, scopes, lifetime=None, dc=None) -> str:
        """A Self Client grant code (always gives a refresh token); scopes as a list or comma string."""
        return self.accounts.self_client_code(scopes, lifetime, self._dc(dc))

    def authorize(self, auth_url: str, approve: bool = True) -> str:
        """What a browser does: load the consent page, press Accept or Reject, return the redirect URL."""
        return browser.authorize(auth_url, approve)

    def enter_user_code(self, verification_url: str, user_code: str | None = None, approve: bool = True) -> str:
        """What a person does with a device flow's code: open verification_url, type the user code
        (or open verification_uri_complete, user_code=None), press Accept or Reject -> "approved" or "denied"."""
        return browser.enter_user_code(verification_url, user_code, approve)

    def approve_device(self, user_code: str) -> dict:
        """Approve a pending device-flow user code without the HTML pages; SandboxError if not pending."""
        return self.device.decide(user_code, approve=True)

    def deny_device(self, user_code: str) -> dict:
        return self.device.decide(user_code, approve=False)

    def device_flows(self) -> list:
        """Every device flow started: user code, status, DCs, scopes, polls; never the device code."""
        return self.device.flows()

    # -- test controls -------------------------------------------------------------------------

    def inject_fault(self, target, kind, count=None, rate=None, delay=None):
        """Make calls to `target` ("token", "revoke", "auth", "crm" or e.g. "GET /crm/v8/Deals") fail."""
        return self.faults.add(target, kind, count, rate, delay)

    def clear_faults(self) -> None:
        self.faults.clear()

    def counters(self) -> dict:
        return self.traffic.counters()

    def live_tokens(self) -> dict:
        return self.accounts.live_tokens()

    def request_log(self) -> list:
        return self.traffic.entries()

    def secret_values(self) -> set:
        """Every secret the stand-in ever handed out (client secrets, codes, tokens): for leak checks."""
        return self.accounts.secret_values()

    def rotate_client_secret(self) -> str:
        """Regenerate the client secret (old one then fails with invalid_client_secret); grants survive."""
        return self.accounts.rotate_client_secret()

    def touch_record(self, module: str, record_id) -> dict:
        """Edit a record now (stand-in clock): its Modified_Time moves, as when someone changes it in
        Zoho, so If-Modified-Since and sort_by=Modified_Time see it. -> {module, id, Modified_Time}."""
        source = self.org.modules.get(self.crm.module_name(str(module)))
        if source is None:
            raise SandboxError(f"unknown module {module!r}; one of {', '.join(self.org.modules)}")
        index = source.index(record_id)
        if index is None:
            raise SandboxError(f"no {source.name} record has the id {record_id!r}")
        record = source.touch(index, self.clock.now())
        self.orderings.forget(source)
        return {"module": source.name, "id": record["id"], "Modified_Time": record["Modified_Time"]}

    def revoke_all(self) -> None:
        """Revoke every refresh and access token, like removing the app from the user's account."""
        self.accounts.revoke_all()

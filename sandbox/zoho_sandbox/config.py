"""Options of the stand-in: the CLI flags, plus Zoho's limits where its own pages disagree."""

from dataclasses import dataclass, fields

# Data-center codes of reference §5 (`location` on the consent redirect).
KNOWN_DATA_CENTERS = ("us", "eu", "in", "au", "jp", "ca", "sa", "cn", "uk")


@dataclass(frozen=True)
class Settings:
    """Everything configurable; defaults are Zoho's documented CRM v8 numbers."""

    data_centers: tuple = ("us",)
    user_dc: str | None = None
    deals: int = 60
    code_lifetime: float = 180
    daily_credits: int = 50000
    concurrency: int = 10
    admin: bool = True
    accept_bearer: bool = False
    seed: int = 2026
    redirect_uri: str = "http://localhost:8080/oauth/callback"
    # Token limits (reference §4). Active access tokens per refresh token is a CONFLICT (10 or 15).
    access_token_lifetime: int = 3600
    token_window: int = 600
    mints_per_window: int = 10
    live_access_tokens: int = 15
    refresh_tokens_per_user: int = 20
    grant_codes_per_window: int = 10
    # "crm" (CRM token-validity page) or "accounts" (Accounts token-limits page): CONFLICT in wording.
    throttle_wording: str = "crm"
    # API limits (reference §6, §8).
    credit_window: int = 86400
    sub_concurrency: int = 10
    discrete_page_limit: int = 2000
    page_token_limit: int = 100_000
    page_token_lifetime: int = 86400
    search_limit: int = 2000
    # COQL (reference §6.6): the fields scope note, select-field cap (CONFLICT 50/500), offset cap
    # (CONFLICT 10,000/100,000) and whether no rows is 204 (UNCONFIRMED) or an empty 200.
    coql_requires_fields_scope: bool = True
    coql_max_select_fields: int = 500
    coql_max_offset: int = 100_000
    coql_no_rows: str = "204"
    # Device flow (reference §2.5). The user code lives 5 minutes; polls of one device code must be
    # 30 s apart whatever `interval` says (clients in the wild were told 5 s). UNCONFIRMED: the units of
    # expires_in and interval ("seconds" or "milliseconds", as an older Zoho page states), the HTTP
    # status of errors (200 as on the token endpoint, or 400 as RFC 8628), verification_uri_complete.
    device_code_lifetime: float = 300
    device_poll_interval: float = 30
    device_interval: float = 5
    device_units: str = "seconds"
    device_error_status: int = 200
    device_verification_uri_complete: bool = True
    # If-Modified-Since that is not an ISO 8601 date-time with offset (Zoho documents no behaviour):
    # "400" answers INVALID_DATA, "ignore" treats the header as absent (as RFC 9110 servers do).
    malformed_if_modified_since: str = "400"

    def __post_init__(self):
        dcs = tuple(self.data_centers)
        object.__setattr__(self, "data_centers", dcs)
        if not dcs or len(set(dcs)) != len(dcs):
            raise ValueError("data_centers must be a non-empty list without duplicates")
        for dc in dcs:
            if dc not in KNOWN_DATA_CENTERS:
                raise ValueError(f"unknown data center {dc!r}; known: {', '.join(KNOWN_DATA_CENTERS)}")
        if self.user_dc is not None and self.user_dc not in dcs:
            raise ValueError(f"user_dc {self.user_dc!r} is not one of data_centers {dcs}")
        if self.deals < 0:
            raise ValueError("deals must be >= 0")
        if self.throttle_wording not in ("crm", "accounts"):
            raise ValueError("throttle_wording must be 'crm' or 'accounts'")
        if self.coql_no_rows not in ("204", "empty"):
            raise ValueError("coql_no_rows must be '204' or 'empty'")
        if self.device_units not in ("seconds", "milliseconds"):
            raise ValueError("device_units must be 'seconds' or 'milliseconds'")
        if self.device_error_status not in (200, 400):
            raise ValueError("device_error_status must be 200 or 400")
        if self.malformed_if_modified_since not in ("400", "ignore"):
            raise ValueError("malformed_if_modified_since must be '400' or 'ignore'")
        for name in ("code_lifetime", "access_token_lifetime", "daily_credits", "concurrency", "sub_concurrency",
                     "device_code_lifetime", "device_poll_interval", "device_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    @property
    def home_dc(self) -> str:
        """The data center the user's account lives in."""
        return self.user_dc or self.data_centers[0]

    @classmethod
    def names(cls) -> set:
        return {f.name for f in fields(cls)}

    @classmethod
    def parse_option(cls, text: str, flags: dict) -> tuple:
        """NAME=VALUE from the command line -> (name, value typed like the field's default);
        `flags` maps the names that have a flag of their own to it."""
        name, sep, raw = text.partition("=")
        defaults = {f.name: f.default for f in fields(cls) if f.name not in flags}
        if name in flags:
            raise ValueError(f"--set {text!r}: use {flags[name]} for {name}")
        if not sep or name not in defaults:
            raise ValueError(f"--set {text!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(defaults))}")
        default = defaults[name]
        if isinstance(default, bool):
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"--set {text!r}: {name} is true or false")
            return name, raw.lower() in ("true", "1", "yes")
        if isinstance(default, tuple):
            return name, tuple(part.strip() for part in raw.split(",") if part.strip())
        try:
            return name, type(default)(raw) if isinstance(default, (int, float)) else raw
        except ValueError:
            raise ValueError(f"--set {text!r}: {name} is a number") from None

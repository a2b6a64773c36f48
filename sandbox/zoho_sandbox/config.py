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
        for name in ("code_lifetime", "access_token_lifetime", "daily_credits", "concurrency", "sub_concurrency"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    @property
    def home_dc(self) -> str:
        """The data center the user's account lives in."""
        return self.user_dc or self.data_centers[0]

    @classmethod
    def names(cls) -> set:
        return {f.name for f in fields(cls)}

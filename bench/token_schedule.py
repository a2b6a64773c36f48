"""tokens_minted_per_day_*: access tokens minted in a simulated day, by the role's cron schedule
and by an agent that refreshes only when a call needs it.

Nothing here is a formula. The stand-in's clock is moved to each event of two simulated days
(the first warms up, the second is counted), and each event runs the real decision code with
that time (zoho_crm_oauth.refresh_token_file, which re-reads the token file under its lock and
mints when needs_refresh says so); the mints are counted at the stand-in's token endpoint.

- cron: the role's schedule as it is installed: the minute field zoho_crm_cron_minute from the
  role's defaults ("*/10") and the refresh tool's --min-ttl (the cron job's, else the tool's
  default, 16 minutes). For comparison, the guide's "*/50" (minutes 0 and 50 of every hour, so
  runs 50 then 10 minutes apart; the role's default until the figures below showed its gap) with
  a 15-minute margin: the *_guide_cron_* figures;
- an agent call: what ZohoCRMClient does before a request (refresh when the token has at most
  its min_ttl left, 5 minutes), then the request itself with the stored token, which the
  stand-in must accept: a simulation that used a dead token would be wrong, and stops the bench.
Agent patterns: "working_hours", a call every 5 minutes from 09:02:30 to 16:57:30 UTC; "random",
calls at random times round the clock, 6 an hour on average (Poisson, fixed seed per day).
Access tokens live 3600 s (the stand-in's, as Zoho's).
"""

import importlib.util
import random
import re
import tempfile

import yaml

# harness first: importing it puts the tools and the stand-in on sys.path.
from harness import ROOT, TOOLS_DIR, Figure, provision
import zoho_crm_oauth as oauth
from zoho_sandbox import Sandbox

DAY = 24 * 3600
AGENT_MIN_TTL = oauth.DEFAULT_MIN_TTL  # ZohoCRMClient's default min_ttl
RANDOM_CALLS_PER_HOUR = 6
RANDOM_SEED = 2026
GUIDE_CRON_MINUTE, GUIDE_MIN_TTL = "*/50", 15 * 60


def cron_minutes(field):
    """The minutes of an hour a cron minute field fires at: "*", "N", "A-B", each with "/STEP"."""
    minutes = set()
    for item in field.split(","):
        span, _, step = item.partition("/")
        if span == "*":
            first, last = 0, 59
        else:
            first, _, last = span.partition("-")
            first = int(first)
            last = int(last) if last else (59 if step else first)
        minutes.update(range(first, last + 1, int(step or 1)))
    return sorted(minutes)


def role_cron_schedule():
    """(minutes of each hour, min_ttl seconds) of the refresh the role schedules by default."""
    defaults = yaml.safe_load((ROOT / "roles/zoho_crm/defaults/main.yml").read_text())
    # The cron line is the agent's or the separate refresher's (vars/main.yml); both run the refresh
    # tool, with the same --min-ttl (or none: the tool's default).
    role_vars = yaml.safe_load((ROOT / "roles/zoho_crm/vars/main.yml").read_text())
    jobs = [role_vars[name] for name in ("__zoho_crm_agent_cron_job", "__zoho_crm_refresher_cron_job")]
    job_min_ttls = {tuple(re.findall(r"--min-ttl[ =](\d+)", job)) for job in jobs}
    if len(job_min_ttls) != 1:
        raise RuntimeError(f"the role's cron lines ask for different --min-ttl values: {sorted(job_min_ttls)}")
    [job_min_ttl] = job_min_ttls
    if job_min_ttl:
        min_ttl = int(job_min_ttl[0])
    else:
        spec = importlib.util.spec_from_file_location("refresh_tool", TOOLS_DIR / "zoho-crm-refresh-token.py")
        refresh_tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(refresh_tool)
        min_ttl = refresh_tool.DEFAULT_MIN_TTL
    return cron_minutes(defaults["zoho_crm_cron_minute"]), min_ttl


def working_hours_calls(_day_number):
    """Every 5 minutes from 09:00 to 17:00, half-way between whole 5 minutes, so no call lands on
    the very second a token reaches a refresh threshold (a tie the real world never keeps)."""
    return list(range(9 * 3600 + 150, 17 * 3600, 5 * 60))


def random_calls(day_number):
    arrivals, at = [], 0.0
    generator = random.Random(RANDOM_SEED + day_number)
    while True:
        at += generator.expovariate(RANDOM_CALLS_PER_HOUR / 3600)
        if at >= DAY:
            return arrivals
        arrivals.append(at)


AGENT_PATTERNS = {"working_hours": working_hours_calls, "random": random_calls}


def day_events(midnight, day_number, cron_schedule, agent_pattern):
    """(time, actor, min_ttl) of each refresh decision of one day, in order. Cron fires at the
    top of its minute: first when an agent call falls on the same second."""
    events = []
    if cron_schedule:
        minutes, cron_min_ttl = cron_schedule
        events += [(midnight + hour * 3600 + minute * 60, "cron", cron_min_ttl)
                   for hour in range(24) for minute in minutes]
    if agent_pattern:
        events += [(midnight + at, "agent", AGENT_MIN_TTL) for at in AGENT_PATTERNS[agent_pattern](day_number)]
    return sorted(events, key=lambda event: (event[0], event[1] != "cron"))


def simulate(cron_schedule, agent_pattern):
    """Two simulated days of a cron schedule ((minutes, min_ttl), or None for none) and an agent
    pattern (a key of AGENT_PATTERNS, or None). The first day brings the token file to a steady
    state; returns the second day's (token-endpoint calls, agent calls that minted, i.e. waited
    for a mint)."""
    with Sandbox(port=0) as zoho, tempfile.TemporaryDirectory() as directory:
        client, token_file = provision(zoho, directory)
        deal_url = f"{zoho.api_domain()}/crm/v8/Deals/{zoho.org.deals.id(0)}"
        transport = oauth.Transport()
        first_midnight = (int(zoho.clock.now()) // DAY + 1) * DAY
        for day_number in (0, 1):
            minted_before = zoho.counters()["token"]["refresh_token"]
            agent_mints = 0
            for at, actor, min_ttl in day_events(first_midnight + day_number * DAY, day_number, cron_schedule,
                                                 agent_pattern):
                zoho.clock.advance(max(0.0, at - zoho.clock.now()))
                now = zoho.clock.now()
                record, refreshed = oauth.refresh_token_file(token_file, client, transport, min_ttl=min_ttl, now=now)
                if actor == "agent":
                    agent_mints += refreshed
                    response = transport.request("GET", deal_url, params={"fields": "Deal_Name"},
                                                 headers={"Authorization": "Zoho-oauthtoken " + record.access_token})
                    if response.status != 200:
                        raise RuntimeError(f"the simulated agent's call was refused (HTTP {response.status}) "
                                           f"at {oauth.format_time(now)}: the refresh decision let a token die")
        return zoho.counters()["token"]["refresh_token"] - minted_before, agent_mints


def measure(quick=False):
    """Deterministic and quick: the same work with or without --quick."""
    cron = role_cron_schedule()
    cron_alone, _agent_mints = simulate(cron, agent_pattern=None)
    figures = [Figure("tokens_minted_per_day_cron", cron_alone, "tokens/day")]
    for pattern in AGENT_PATTERNS:
        with_cron, calls_that_minted = simulate(cron, pattern)
        on_demand, _agent_mints = simulate(None, pattern)
        figures += [
            Figure(f"tokens_minted_per_day_cron_plus_{pattern}", with_cron, "tokens/day"),
            Figure(f"calls_waiting_for_a_mint_per_day_cron_plus_{pattern}", calls_that_minted, "calls/day"),
            Figure(f"tokens_minted_per_day_on_demand_{pattern}", on_demand, "tokens/day"),
        ]
    guide_cron = (cron_minutes(GUIDE_CRON_MINUTE), GUIDE_MIN_TTL)
    with_guide_cron, calls_that_minted = simulate(guide_cron, "working_hours")
    figures += [
        Figure("tokens_minted_per_day_guide_cron_plus_working_hours", with_guide_cron, "tokens/day"),
        Figure("calls_waiting_for_a_mint_per_day_guide_cron_plus_working_hours", calls_that_minted, "calls/day"),
    ]
    return figures

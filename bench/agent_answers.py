"""The agent's three questions on a 5,000-deal org, in CRM calls (each one costs the org a credit):
find a deal by name (a scan on the three default scopes, one search with ZohoSearch.securesearch.READ),
what changed since a time (If-Modified-Since), the pipeline per stage. Each question is asked as the
agent asks it, `python3 tools/zoho-crm.py --json ...` in a fresh process; its answer's api_calls is
set beside the requests the stand-in counted, and each against the same answer without the
feature (every deal read and filtered here), measured in the same run."""

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime

# harness first: importing it puts the tools and the stand-in on sys.path.
from harness import TOOLS_DIR, Figure, provision
import zoho_crm_oauth as oauth
from zoho_sandbox import Sandbox

DEALS = 5000
ABSENT_NAME = "no such district"


def crm_requests(zoho):
    return sum(zoho.counters()["crm"].values())


class Agent:
    """zoho-crm.py --json run as the agent runs it, against one credentials directory."""

    def __init__(self, zoho, credentials_dir):
        self.zoho = zoho
        self.env = dict(os.environ, ZOHO_CRM_CREDENTIALS_DIR=credentials_dir)
        self.asked = []  # (question, api_calls in the answer, requests the stand-in counted)

    def ask(self, question, *args):
        before = crm_requests(self.zoho)
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, str(TOOLS_DIR / "zoho-crm.py"), "--json", *args], env=self.env,
                                   capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - started
        if completed.returncode != 0:
            raise RuntimeError(f"zoho-crm.py {' '.join(args)} failed: {completed.stderr.strip()}")
        answer = json.loads(completed.stdout)
        self.asked.append((question, answer["api_calls"], crm_requests(self.zoho) - before))
        return answer, elapsed


def check(condition, what):
    if not condition:
        raise RuntimeError(f"a wrong answer was measured: {what}")


def measure(quick=False):
    with Sandbox(port=0, deals=DEALS) as zoho, tempfile.TemporaryDirectory() as scratch:
        default_dir, search_dir = os.path.join(scratch, "default"), os.path.join(scratch, "search")
        for directory, scopes in ((default_dir, oauth.DEFAULT_SCOPES),
                                  (search_dir, oauth.DEFAULT_SCOPES + (oauth.SEARCH_SCOPE,))):
            os.mkdir(directory, 0o700)
            provision(zoho, directory, scopes)
        agent, searching = Agent(zoho, default_dir), Agent(zoho, search_dir)
        oakland = zoho.org.deals.record(0)["Deal_Name"]

        # The floor every question is set against: every deal read once, the answer computed here.
        everything, every_s = agent.ask("list every deal", "deals", "list", "--limit", "0")
        check(len(everything["deals"]) == DEALS, f"the listing returned {len(everything['deals'])} deals")

        absent, absent_s = agent.ask("find: a name no deal has", "deals", "find", ABSENT_NAME)
        check(absent["deals"] == [] and absent["scanned"] == DEALS, "the scan for an absent name")
        first, _ = agent.ask("find: the newest deal's name", "deals", "find", oakland, "--limit", "1")
        check(first["deals"][0]["Deal_Name"] == oakland, "the scan for the newest deal")
        searched, _ = searching.ask("find: with the search scope", "deals", "find", ABSENT_NAME)
        check(searched["method"] == "search" and searched["deals"] == [], "the search for an absent name")
        found, _ = searching.ask("find: with the search scope, a name that matches", "deals", "find", oakland)
        check(found["deals"][0]["Deal_Name"] == oakland, "the search for the newest deal")

        nothing, _ = agent.ask("changed: nothing since", "deals", "changed", "--since", "1m")
        check(nothing["deals"] == [], "nothing changed in the last minute")
        week, _ = agent.ask("changed: the last 7 days", "deals", "changed", "--since", "7d", "--limit", "0")
        since = week["since"]
        expected = {d["id"] for d in everything["deals"]
                    if datetime.fromisoformat(d["Modified_Time"]) > datetime.fromisoformat(since)}
        check({d["id"] for d in week["deals"]} == expected, "the deals changed in the last 7 days")

        pipeline, pipeline_s = agent.ask("pipeline", "deals", "pipeline")
        check(pipeline["total"]["count"] == DEALS, "the pipeline counts every deal")

    scan_calls = everything["api_calls"]
    mismatches = [(question, said, counted) for question, said, counted in agent.asked + searching.asked
                  if said != counted]
    for question, said, counted in mismatches:
        print(f"   MISMATCH {question}: the answer said {said} calls, the stand-in counted {counted}", flush=True)
    return [
        Figure("find_by_name_5000_deals_calls_scan", absent["api_calls"], "calls", "<= 25"),
        Figure("find_by_name_5000_deals_calls_scan_newest", first["api_calls"], "calls"),
        Figure("find_by_name_5000_deals_calls_search", searched["api_calls"], "calls", "== 1"),
        Figure("find_by_name_5000_deals_calls_search_match", found["api_calls"], "calls", "== 1"),
        Figure("changed_since_nothing_changed_calls", nothing["api_calls"], "calls", "== 1"),
        Figure("changed_since_7d_5000_deals_calls", week["api_calls"], "calls"),
        Figure("changed_since_7d_5000_deals_changed", len(week["deals"]), "deals"),
        Figure("changed_since_7d_calls_ratio_vs_reading_every_deal", week["api_calls"] / scan_calls, "ratio"),
        Figure("pipeline_5000_deals_calls", pipeline["api_calls"], "calls", "== 25"),
        Figure("read_every_5000_deals_calls", scan_calls, "calls"),
        Figure("answers_checked_against_the_stand_in", len(agent.asked) + len(searching.asked), "answers"),
        Figure("answers_whose_api_calls_differ_from_the_stand_in", len(mismatches), "answers", "== 0"),
        Figure("find_by_name_5000_deals_s_scan", absent_s, "s"),
        Figure("pipeline_5000_deals_s", pipeline_s, "s"),
        Figure("read_every_5000_deals_s", every_s, "s"),
    ]

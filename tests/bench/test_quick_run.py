"""The benchmarks still run against the tree they measure: `bench/run.py --quick` (one round each,
a smoke run) of the cheap ones ends without a broken measurement and with the counts their goals
name. The bench reads the role's files and drives the tools; a change to either can break a
measurement that CI would otherwise only notice at the next `make bench`. Times and ratios are not
checked here: they belong to the benchmarks, on a shared machine."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUICK = ("overhead", "cold_start", "listing", "stampede", "token_schedule")
# Goals on counts, which do not move with the machine's load.
COUNTS = {"list_5000_deals_calls": 25, "stampede_1_token_calls": 1, "stampede_8_token_calls": 1,
          "stampede_32_token_calls": 1, "stampede_failed_calls": 0, "http_calls_per_get_deal_ours": 1,
          "http_calls_per_cli_deals_get": 1, "calls_waiting_for_a_mint_per_day_cron_plus_working_hours": 0}


def test_the_quick_benchmarks_run_and_their_counts_hold(tmp_path):
    output = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "bench/run.py", "--quick", "--only", ",".join(QUICK), "--output",
                          str(output)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "BROKEN" not in run.stderr
    figures = {figure["name"]: figure["value"] for figure in json.loads(output.read_text())}
    assert {name: figures.get(name) for name in COUNTS} == COUNTS
    # Every benchmark asked for reported something (a module that returned nothing would pass above).
    prefixes = {"overhead": "get_deal_", "cold_start": "cold_start_", "listing": "list_5000_deals_",
                "stampede": "stampede_", "token_schedule": "tokens_minted_per_day_"}
    assert {name for name, prefix in prefixes.items() if any(key.startswith(prefix) for key in figures)} == set(QUICK)

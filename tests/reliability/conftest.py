"""The reliability suite (RELIABILITY.md): every test here measures something and records it with the
`figure` fixture. The figures are printed as one table at the end of the pytest run and written to
tests/output/reliability-figures.json, so a run of `make test` (or `make soak`) shows what it measured.

Each test still asserts its own goal: the table reports, the assertions decide.
"""

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES_FILE = ROOT / "tests" / "output" / "reliability-figures.json"
_figures = []


@pytest.fixture
def soak():
    """True under `make soak` (ZOHO_CRM_SOAK=1): the long-running tests then run their longer version."""
    return os.environ.get("ZOHO_CRM_SOAK") == "1"


@pytest.fixture
def figure(request):
    """figure(name, value, goal=None, unit="") records one measured figure of this test."""

    def record(name, value, goal=None, unit=""):
        _figures.append({"name": name, "value": value, "unit": unit, "goal": goal, "test": request.node.nodeid})

    return record


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test (item.report_setup, report_call, report_teardown), so a
    fixture's teardown can tell whether the test passed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


def pytest_terminal_summary(terminalreporter):
    if not _figures:
        return
    terminalreporter.section("reliability figures")
    width = max(len(entry["name"]) for entry in _figures)
    for entry in _figures:
        value = "%s %s" % (entry["value"], entry["unit"])
        goal = "" if entry["goal"] is None else "goal %s" % entry["goal"]
        terminalreporter.write_line("%-*s  %-22s %s" % (width, entry["name"], value.strip(), goal))
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_FILE.write_text(json.dumps(_figures, indent=2) + "\n")
    terminalreporter.write_line("(written to %s)" % FIGURES_FILE.relative_to(ROOT))

#!/usr/bin/env python3
"""make bench: the figures of bench/README.md, measured against the local Zoho stand-in on loopback.

Writes bench/results.json (a list of {"name", "value", "unit", "goal"}) and prints a table of
every figure against its goal. A missed goal is reported, never an error: these machines are
shared and noisy. The exit status is 1 only when a measurement itself broke (its traceback is
printed, the other benchmarks still run and their figures are written).

    .venv/bin/python bench/run.py [--quick] [--only stampede,listing] [--output PATH]
"""

import argparse
import importlib.metadata
import json
import os
import platform
import sys
import time
import traceback

import harness
import agent_answers
import cold_start
import listing
import operator_path
import overhead
import provisioning
import stampede
import token_schedule

# In the order they run: the quick in-process ones first, the playbook runs last.
BENCHMARKS = {
    "overhead": overhead,
    "cold_start": cold_start,
    "listing": listing,
    "agent_answers": agent_answers,
    "stampede": stampede,
    "token_schedule": token_schedule,
    "provisioning": provisioning,
    "operator_path": operator_path,
}
VERSIONS_OF = ("ansible-core", "zohocrmsdk8-0")


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in VERSIONS_OF)
    return f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}; {versions}"


def load_average():
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def goal_status(figure):
    return {True: "yes", False: "NO", None: ""}[figure.met()]


def table(figures):
    rows = [("figure", "value", "unit", "goal", "met")] + [
        (f.name, f"{f.value:g}" if isinstance(f.value, float) else str(f.value), f.unit, f.goal or "",
         goal_status(f)) for f in figures]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(width) if column == 1 else cell.ljust(width)
                       for column, (cell, width) in enumerate(zip(row, widths))).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run, not figures to quote")
    parser.add_argument("--only", metavar="NAMES", help="comma-separated benchmarks to run: " + ", ".join(BENCHMARKS))
    parser.add_argument("--output", default=str(harness.ROOT / "bench/results.json"), help="default: %(default)s")
    args = parser.parse_args(argv)
    selected = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = sorted(set(selected) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(unknown)}")

    print(f"Machine: {machine()}\nLoad average before: {load_average()}", flush=True)
    began = time.perf_counter()
    figures, broken = [], []
    for name in selected:
        print(f"\n== {name}", flush=True)
        started = time.perf_counter()
        try:
            measured = BENCHMARKS[name].measure(quick=args.quick)
        except Exception:  # one broken measurement must not hide the others
            traceback.print_exc()
            broken.append(name)
            continue
        for figure in measured:
            print(f"   {figure.name} = {figure.value} {figure.unit}", flush=True)
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
        figures += measured

    with open(args.output, "w") as output:
        json.dump([figure.as_json() for figure in figures], output, indent=2)
        output.write("\n")
    print(f"\n{table(figures)}\n\nWrote {args.output} in {time.perf_counter() - began:.0f} s "
          f"(load average after: {load_average()}).")
    if broken:
        print(f"BROKEN: {', '.join(broken)} (see the tracebacks above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

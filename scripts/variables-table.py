#!/usr/bin/env python3
"""Print README.md's variables table from the role's meta/argument_specs.yml (entry point main).

tests/role/test_role_metadata.py fails when README.md's table differs from this output; after
changing the specs, paste the new table between the markers in README.md.
"""

import sys
from pathlib import Path

import yaml

SPECS = Path(__file__).resolve().parents[1] / "roles/zoho_crm/meta/argument_specs.yml"


def cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def default_of(name, option):
    if option.get("required"):
        return "**required**"
    if "default" not in option:
        return "derived"
    default = option["default"]
    if isinstance(default, list):
        return ", ".join(f"`{item}`" for item in default) or "`[]`"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f'`{default}`' if default != "" else '`""`'


def table():
    options = yaml.safe_load(SPECS.read_text())["argument_specs"]["main"]["options"]
    lines = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, option in options.items():
        kind = option["type"] + (f" of {option['elements']}" if option.get("elements") else "")
        if option.get("choices"):
            kind += ": " + ", ".join(f"`{choice}`" for choice in option["choices"])
        description = option["description"]
        if isinstance(description, list):
            description = " ".join(description)
        lines.append(f"| `{name}` | {kind} | {default_of(name, option)} | {cell(description)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table())

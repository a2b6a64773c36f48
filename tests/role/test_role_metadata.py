"""The role's documentation, specs, defaults and tables stay in step with each other and with
module_utils: each of these facts is written in two places on purpose, and checked here."""

import importlib.util
import re
from pathlib import Path

import yaml

import zoho_crm_oauth

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles/zoho_crm"


def load(path):
    return yaml.safe_load((ROLE / path).read_text())


def specs():
    return load("meta/argument_specs.yml")["argument_specs"]


def variables_table():
    spec = importlib.util.spec_from_file_location("variables_table", ROOT / "scripts/variables-table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.table()


def test_readme_variables_table_matches_the_argument_specs():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- variables:start -->\n(.*?)<!-- variables:end -->", readme, re.DOTALL)
    assert match, "README.md lacks the <!-- variables:start --> ... <!-- variables:end --> block"
    assert match.group(1) == variables_table(), "regenerate it: .venv/bin/python scripts/variables-table.py"


def test_spec_defaults_match_defaults_main():
    defaults = load("defaults/main.yml")
    options = specs()["main"]["options"]
    for name, option in options.items():
        if "default" in option:
            assert defaults[name] == option["default"], name
        elif not option.get("required"):
            assert "{{" in str(defaults[name]), f"{name}: a spec without default must be derived in defaults"
    assert set(defaults) <= set(options), set(defaults) - set(options)


def test_every_entry_point_has_a_task_file():
    for entry_point in specs():
        assert (ROLE / "tasks" / f"{entry_point}.yml").exists(), entry_point


def test_data_centers_match_module_utils():
    accounts = load("vars/main.yml")["__zoho_crm_accounts_urls"]
    assert accounts == {code: dc.accounts_url for code, dc in zoho_crm_oauth.DATA_CENTERS.items()}
    assert specs()["main"]["options"]["zoho_crm_data_center"]["choices"] == list(zoho_crm_oauth.DATA_CENTERS)


def test_default_scopes_match_module_utils():
    assert tuple(load("defaults/main.yml")["zoho_crm_scopes"]) == zoho_crm_oauth.DEFAULT_SCOPES


def test_every_tool_in_files_is_deployed_and_removed():
    role_vars = load("vars/main.yml")
    deployed = set(role_vars["__zoho_crm_scripts"]) | set(role_vars["__zoho_crm_libraries"])
    shipped = {path.name for path in (ROLE / "files/tools").iterdir() if path.suffix == ".py"}
    assert deployed == shipped


def test_the_deployed_oauth_module_is_the_module_utils_file():
    deployed = ROLE / "files/tools/zoho_crm_oauth.py"
    assert deployed.resolve() == (ROOT / "module_utils/zoho_crm_oauth.py").resolve()


def test_preflight_patterns_match_module_utils():
    role_vars = load("vars/main.yml")
    assert role_vars["__zoho_crm_placeholder_pattern"] == "(?i)(%s)" % zoho_crm_oauth.PLACEHOLDER_PATTERN.pattern
    preflight = (ROLE / "tasks/preflight.yml").read_text()
    assert "is regex('%s')" % zoho_crm_oauth.GRANT_CODE_PATTERN.pattern in preflight


def test_meta_platforms_are_the_releases_molecule_tests():
    shared = yaml.safe_load((ROOT / ".config/molecule/config.yml").read_text())["ansible"]["env"]["TESTBED_SUITE"]
    tested = set()
    for scenario in (ROOT / "molecule").glob("*/molecule.yml"):
        settings = yaml.safe_load(scenario.read_text())
        tested.add(settings.get("ansible", {}).get("env", {}).get("TESTBED_SUITE", shared))
    claimed = {(platform["name"], version) for platform in load("meta/main.yml")["galaxy_info"]["platforms"]
               for version in platform["versions"]}
    assert claimed == {("Debian", suite) for suite in tested}

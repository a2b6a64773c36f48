# zoho_crm provisioning. The two commands: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# ansible-lint, molecule and the tests call the venv's tools (and its python3) by name.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: venv demo test lint pytest pytest-without-docker docker-and-molecule sanity molecule bench soak constraints clean

# Two layers, each rebuilt when its requirements or the constraints change: what `make demo` needs
# (the controller's requirements.txt: Ansible), then the test and lint tools on top,
# so a newcomer's first `make demo` downloads only the first.
$(VENV)/.installed-demo: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	# `python -m zoho_sandbox` works from anywhere in the venv (the path is read after the venv exists).
	echo "$(CURDIR)/sandbox" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/zoho-sandbox.pth"
	touch $@

$(VENV)/.installed: $(VENV)/.installed-demo requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(VENV)/.installed

# The main job on the local Zoho stand-in, as you, inside the checkout (demo/).
demo: $(VENV)/.installed-demo
	$(BIN)/python scripts/demo.py

# Two halves of about equal length, side by side: they share nothing but the machine (molecule's
# targets are chroots of their own; the Docker tests' engine and the fresh machine have their own
# directories), so CI takes the longer of the two, not their sum. Each one's output is shown whole
# when it ends.
test: $(VENV)/.installed lint sanity
	$(MAKE) --jobs=2 --output-sync=target pytest-without-docker docker-and-molecule

lint: $(VENV)/.installed
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --offline

# Every pytest suite, in one session.
pytest: $(VENV)/.installed
	$(BIN)/pytest

pytest-without-docker: $(VENV)/.installed
	$(BIN)/pytest --ignore=tests/docker

# What runs in containers and chroots: the Docker tests on an engine of their own (in a pytest session
# of their own, beside the other one: its own basetemp and no cache), then every molecule scenario.
docker-and-molecule: $(VENV)/.installed
	$(BIN)/pytest tests/docker -p no:cacheprovider --basetemp=/var/tmp/zoho-crm-pytest-docker
	$(MAKE) molecule

# ansible-test's checks of the module (DOCUMENTATION against argument_spec, pylint, pep8, ...).
sanity: $(VENV)/.installed
	scripts/ansible-test-sanity.sh

# Every scenario under molecule/, each on its own debootstrapped Debian host (bookworm; bullseye and
# trixie for default-*) reached over SSH (scripts/molecule-testbed.sh; needs root). Runs on one
# machine share /var/tmp/zoho-crm-molecule, so they take turns.
molecule: $(VENV)/.installed
	flock /var/tmp/zoho-crm-molecule.lock $(BIN)/molecule test --all

# Every figure of bench/README.md against the local stand-in, into bench/results.json and a table;
# a missed goal is reported, never a failure (only a broken measurement fails).
bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

# The concurrency soak at length: 24 simulated hours (about 12 minutes); make test runs 3 of them.
soak: $(VENV)/.installed
	ZOHO_CRM_SOAK=1 $(BIN)/pytest tests/reliability/test_concurrency_soak.py

constraints: $(VENV)/.installed
	{ echo "# Every transitive dependency, pinned (pip freeze of a venv built from requirements-dev.txt)."; \
	  echo "# Regenerate: make constraints"; $(BIN)/pip freeze --exclude-editable; } > constraints.txt

clean:
	rm -rf $(VENV) .ansible .pytest_cache tests/output demo

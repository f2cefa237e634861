# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv in the repo and installs what it needs; the stamp file
# re-installs when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean-demo profiles

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf out out.state
	$(BIN)/deidentify run sample_synthetic/studies out --key-file demo.key; \
	  status=$$?; test $$status -le 1 || exit $$status

test: $(STAMP)
	$(BIN)/python -m pytest -q

profiles: $(STAMP)
	$(BIN)/python tools/generate_profiles.py

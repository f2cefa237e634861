# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv in the repo and installs what it needs; the stamp file
# re-installs when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean-demo profiles

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf out out.state
	$(BIN)/deidentify run sample_synthetic/studies out --key-file demo.key; \
	  status=$$?; test $$status -le 1 || exit $$status

# Debian's octave-dicom samples (real CT and ultrasound with burnt-in text), taken out of
# the Debian package without installing Octave; the tests that read them skip without them.
CORPORA := .corpora/octave-dicom
$(CORPORA):
	@rm -rf .corpora/deb && mkdir -p .corpora/deb && \
	if (cd .corpora/deb && apt-get download octave-dicom >/dev/null 2>&1); then \
	  dpkg-deb -x .corpora/deb/octave-dicom_*.deb .corpora/deb/x && mkdir -p $@.partial && \
	  cp .corpora/deb/x/usr/share/octave/packages/dicom-*/imdata/*.dcm $@.partial/ && mv $@.partial $@; \
	else echo "make: Debian's octave-dicom package cannot be fetched here; the tests of its samples skip"; fi; \
	rm -rf .corpora/deb

test: $(STAMP) lint $(CORPORA)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check deidentify tests tools bench
	$(BIN)/mypy deidentify

profiles: $(STAMP)
	$(BIN)/python tools/generate_profiles.py

# `make bench` (never part of `make test`): generates corpora into bench/.work/, runs
# deidentify side by side with cp, a pydicom read+write loop, gdcmanon, dicognito,
# dicom-anonymizer and deid (peers in their own venv, bench/.venv-peers), writes
# docs/benchmarks.md and docs/benchmarks.png and prints the tables.
# `make bench BENCH_SCALE=0.1` is a quick run; bench/README.md lists the other knobs.
BENCH_SCALE ?= 1
BENCH_ROUNDS ?= 2
BENCH_VENV := bench/.venv-peers
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_APT := gdcmanon:libgdcm-tools /usr/bin/time:time openssl:openssl tesseract:tesseract-ocr

$(BENCH_STAMP): bench/requirements-peers.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements-peers.txt
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	@missing=""; for pair in $(BENCH_APT); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  echo "bench: installing$$missing"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	BENCH_SCALE=$(BENCH_SCALE) BENCH_ROUNDS=$(BENCH_ROUNDS) $(BENCH_VENV)/bin/python bench/run.py

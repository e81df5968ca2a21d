# Kakehashi: `make serve` to preview the report, `make test` to run the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: serve build check pdf test bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

serve: $(VENV)/.installed
	$(PY) build.py serve

build: $(VENV)/.installed
	$(PY) build.py

check: $(VENV)/.installed
	$(PY) build.py check

pdf: $(VENV)/.installed
	$(PY) build.py pdf

test: $(VENV)/.installed-test
	$(PY) -m pytest -q

bench: $(VENV)/.installed
	$(PY) benchmarks/bench.py

clean:
	rm -rf _site .pytest_cache

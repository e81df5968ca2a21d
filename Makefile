# Kakehashi: `make serve` to preview the report, `make test` to run the tests.
#
# Every target takes the usual settings on the command line, for example
#   make serve CONTENT=my-report PORT=8001
#   make build CONTENT=my-report OUT=site BASE_URL=https://user.github.io/my-report/
#   make check CONTENT=my-report ARGS=--strict
#   make new DIR=my-report
# ARGS is passed through to the command as it stands (any option of `build.py COMMAND --help`).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONTENT ?= content
OUT ?= _site
HOST ?= 127.0.0.1
PORT ?= 8000
BASE_URL ?=
ARGS ?=

SITE_ARGS = --content "$(CONTENT)" --out "$(OUT)" $(if $(BASE_URL),--base-url "$(BASE_URL)")

.PHONY: install serve build check pdf new test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Kakehashi's own modules and templates compiled once, so that no command compiles them again
# each time it starts, even where PYTHONDONTWRITEBYTECODE is set (pip compiles the libraries).
$(VENV)/.compiled: $(VENV)/.installed $(wildcard kakehashi/*.py templates/*.*)
	$(PY) -m compileall -q kakehashi
	$(PY) -c 'import kakehashi.render as r, kakehashi.site as s; r.compile_templates(s.resource_dir("templates"))'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

serve: $(VENV)/.compiled
	$(PY) build.py serve $(SITE_ARGS) --host "$(HOST)" --port "$(PORT)" $(ARGS)

build: $(VENV)/.compiled
	$(PY) build.py build $(SITE_ARGS) $(ARGS)

check: $(VENV)/.compiled
	$(PY) build.py check --content "$(CONTENT)" $(ARGS)

pdf: $(VENV)/.compiled
	$(PY) build.py pdf $(SITE_ARGS) $(ARGS)

new: $(VENV)/.compiled
	@test -n "$(DIR)" || { echo "make new: say where, e.g. make new DIR=my-report" >&2; exit 2; }
	$(PY) build.py new "$(DIR)"

test: $(VENV)/.installed-test $(VENV)/.compiled
	$(PY) -m pytest -q $(ARGS)

bench: $(VENV)/.compiled
	$(PY) benchmarks/bench.py $(ARGS)

clean:
	rm -rf _site ._site.spare .kakehashi-cache .pytest_cache

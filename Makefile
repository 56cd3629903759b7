# Two commands: `make run` (set up, then serve on 127.0.0.1:8000) and `make test`
# (set up, then run the tests with coverage). Both are idempotent: set-up steps run
# only when their inputs changed.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages: espeak-ng speaks the tests' speech; fluidsynth renders their MIDI
# (and the accuracy benchmark's) with the FluidR3 General MIDI soundfont, and the
# classifier's heads' tuning clips with TimGM6mb's too; the tests
# start their own PostgreSQL server (tests/postgres.py) from postgresql's binaries;
# chromium is the browser the web UI's tests (tests/ui) drive with playwright.
APT_PACKAGES := espeak-ng fluidsynth fluid-soundfont-gm timgm6mb-soundfont postgresql chromium
STAMPS := .make
# The experimental environment: Essentia (AGPL-3.0) and musicnn on TensorFlow, used only
# through core/bridge.py.
EXPERIMENTAL := envs/experimental/.venv
# The web UI's browser libraries (Peaks.js, Konva, waveform-data), served from here.
UI_MODULES := ui/node_modules

.PHONY: run test setup bench screenshots fuzz clean

run: setup
	$(PY) main.py serve

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest --cov --cov-report=term-missing:skip-covered
	@$(PY) -m coverage report --include='core/*,database/*' --fail-under=90 >/dev/null \
	  || { echo "coverage of core/ and database/ is under 90 %:"; \
	       $(PY) -m coverage report --include='core/*,database/*'; exit 1; }

setup: $(STAMPS)/apt $(VENV)/.ready $(EXPERIMENTAL)/.ready $(UI_MODULES)/.ready

$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@missing=""; for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

$(VENV)/.ready: requirements.txt requirements-nodeps.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	@touch $@

$(EXPERIMENTAL)/.ready: envs/experimental/requirements-experimental.txt envs/experimental/requirements-experimental-nodeps.txt
	@test -x $(EXPERIMENTAL)/bin/python || $(PYTHON) -m venv $(EXPERIMENTAL)
	$(EXPERIMENTAL)/bin/python -m pip install -q --disable-pip-version-check -r envs/experimental/requirements-experimental.txt
	$(EXPERIMENTAL)/bin/python -m pip install -q --disable-pip-version-check --no-deps \
	  -r envs/experimental/requirements-experimental-nodeps.txt
	@touch $@

$(UI_MODULES)/.ready: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bench: setup $(STAMPS)/bench
	$(PY) bench/speed.py
	$(PY) bench/accuracy.py

$(STAMPS)/bench: bench/requirements-bench.txt $(VENV)/.ready
	$(PY) -m pip install -q --disable-pip-version-check -r $<
	@touch $@

# PNGs of the web UI's library and file views at 1280x800 and 390x844 in bench/out/screenshots/.
screenshots: setup
	$(PY) bench/screenshots.py

# A long fuzzing run (make test runs a short one): random and mutated bytes through the
# decoder in a sandbox worker, random signals through region detection.
fuzz: setup
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-5000} $(PY) -m pytest -q -p no:cacheprovider tests/reliability/test_fuzz.py

clean:
	rm -rf $(VENV) $(STAMPS) $(UI_MODULES) .pytest_cache .coverage htmlcov

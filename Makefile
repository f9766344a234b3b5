# ivrbox — the two set-up commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WEB ?= 127.0.0.1:8080
DATA ?= ./data

# Debian packages: what running needs, and what the tests and benchmarks add.
RUN_DEBS := python3-venv python3-dev espeak-ng sox libsndfile1 libportaudio2 ffmpeg
TEST_DEBS := $(RUN_DEBS) libsox-fmt-all chromium minimodem multimon-ng libspandsp-dev gcc openssl \
             asterisk-core-sounds-en-wav asterisk-moh-opsound-wav gcin-voice fonts-wqy-microhei
BENCH_DEBS := $(TEST_DEBS) libspandsp-dev gcc

PYTEST_ARGS ?=

.PHONY: run test test-slow bench deps-run deps-test deps-bench clean

run: deps-run $(VENV)/.run-installed
	@echo "ivrbox: web page on http://$(WEB)  (simulated line; Ctrl-C stops)"
	$(BIN)/ivrbox run --line sim --data $(DATA) --web $(WEB)

test: deps-test $(VENV)/.test-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Slow tests (the SD-image install script in a debootstrap chroot, long soaks).
test-slow: deps-test $(VENV)/.test-installed
	$(BIN)/python -m pytest -m slow --timeout=3600 $(PYTEST_ARGS)

bench: deps-bench $(VENV)/.test-installed
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

deps-run:
	@hw/scripts/ensure-debs.sh $(RUN_DEBS)
deps-test:
	@hw/scripts/ensure-debs.sh $(TEST_DEBS)
deps-bench:
	@hw/scripts/ensure-debs.sh $(BENCH_DEBS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

$(VENV)/.run-installed: setup.py | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[hw]'
	@touch $@

$(VENV)/.test-installed: setup.py | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[hw,test]'
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

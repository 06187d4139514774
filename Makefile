# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_SERVER := $(VENV)/.installed-server
STAMP_DEV := $(VENV)/.installed-dev
STAMP_BENCH := $(VENV)/.installed-bench
# The instrumented programs of tests/otlp/ run in a venv of their own (why: pyproject.toml, `otel-apps`).
VENV_OTEL := .venv-otel
STAMP_OTEL := $(VENV_OTEL)/.installed
CHROMIUM := /usr/bin/chromium
# Framework releases whose declared bounds exclude openai 3.x but which run on it (pyproject.toml).
FRAMEWORKS_NO_DEPS := instructor==1.17.0 llama-index-llms-openai==0.8.3

.PHONY: run test bench demo soak clean chromium postgresql nginx cluster

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP_SERVER): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server]'
	touch $@

$(STAMP_DEV): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,dev,analysis,frameworks]'
	$(BIN)/pip install --quiet --no-deps $(FRAMEWORKS_NO_DEPS)
	touch $@ $(STAMP_SERVER)

$(STAMP_BENCH): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,dev,analysis,frameworks,bench]'
	$(BIN)/pip install --quiet --no-deps $(FRAMEWORKS_NO_DEPS)
	touch $@ $(STAMP_DEV) $(STAMP_SERVER)

$(STAMP_OTEL): pyproject.toml
	$(PYTHON) -m venv $(VENV_OTEL)
	$(VENV_OTEL)/bin/pip install --quiet --upgrade pip
	$(VENV_OTEL)/bin/pip install --quiet -e '.[otel-apps]'
	touch $@

## Start the API on :8000 and the dashboard on :3000 (embedded DuckDB in data/).
# Local work: alert channels may point at local receivers (LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS=1, as
# `make demo` needs); production starts the API without it, and such targets are refused.
# For local work, a generated Clerk signing secret goes into .env (mode 0600) when none is set, so
# `make demo` and scripts/send_test_webhook.py can send signed deliveries; put your Clerk endpoint's
# own secret there instead when you connect Clerk (docs/clerk.md).
run: $(STAMP_SERVER)
	mkdir -p data
	@if [ -z "$$CLERK_WEBHOOK_SECRET" ] && ! grep -qs '^CLERK_WEBHOOK_SECRET=' .env; then \
		(umask 077; $(BIN)/python scripts/send_test_webhook.py --new-secret >> .env); \
		echo "wrote a local CLERK_WEBHOOK_SECRET to .env (replace it with Clerk's when you connect Clerk)"; \
	fi
	LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS=$${LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS:-1} $(BIN)/honcho start

## Install everything the tests need (Debian's chromium and PostgreSQL included) and run them.
# The API and store tests run on both stores; the tests start a throwaway PostgreSQL of their own.
test: $(STAMP_DEV) $(STAMP_OTEL) chromium postgresql
	$(BIN)/python -m pytest

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	fi

# PostgreSQL's server binaries (Debian's package). The tests run it themselves, as the `postgres` user.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
		echo "installing Debian's PostgreSQL for the store tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
		|| (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null); \
	fi

nginx:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
		echo "installing Debian's nginx for make cluster"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) \
		|| (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null); \
	fi

## Scale-out on one machine: PostgreSQL under data/cluster/, two API replicas behind nginx on :8000,
## the dashboard on :3000. `make demo` in another terminal fills it.
cluster: $(STAMP_SERVER) postgresql nginx
	$(BIN)/python scripts/cluster.py

## Benchmarks (not part of `make test`); results go to docs/benchmarks.md.
bench: $(STAMP_BENCH)
	$(BIN)/python bench/run_all.py

## With `make run` going in another terminal: a month of varied demo traffic, then the dashboard URL.
demo: $(STAMP_DEV)
	$(BIN)/python scripts/demo.py

## The long reliability runs (repeated kill -9, long API outage); the fast parts are in `make test`.
soak: $(STAMP_DEV)
	$(BIN)/python -m pytest -m soak tests/reliability

clean:
	rm -rf $(VENV) $(VENV_OTEL) .pytest_cache

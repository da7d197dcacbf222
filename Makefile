# invoicer. `make dev`: the whole stack locally. `make test`: everything CI checks.
# Both install what they need on first use (pinned Python tools into .venv-*) and are safe to re-run.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
CARGO ?= cargo
EMU_VENV := .venv-emu
TOOLS_VENV := .venv-tools

# Local parameter values: short timeouts and few receives, so retry and DLQ paths take seconds.
# template.yaml's defaults are the AWS values.
LOCAL_PARAMS := \
	--param MaxReceiveCount=4 \
	--param SubmissionVisibilityTimeoutSeconds=60 \
	--param WorkerTimeoutSeconds=10 \
	--param ProviderTimeoutSeconds=2 \
	--param RetryBaseDelaySeconds=1 \
	--param RetryMaxDelaySeconds=2 \
	--param RecoverAfterSeconds=30
STACK := target/debug/local-stack
STACK_ARGS := --emulator $(EMU_VENV)/bin/ministack --cargo-lambda $(TOOLS_VENV)/bin/cargo-lambda \
	--sandbox target/debug/provider-sandbox --sandbox-url-parameter ProviderBaseUrl \
	--sandbox-credentials ProviderCredentials $(LOCAL_PARAMS)

.PHONY: help dev test lint tools bins

help:
	@echo "make dev    the whole stack on http://127.0.0.1:3000, on a local AWS emulator (Ctrl-C stops it)"
	@echo "make test   lint, build, and every test against a fresh local stack (what CI runs)"
	@echo "make lint   rustfmt, clippy and the template checks"

# ---------------------------------------------------------------- tools (pinned, in virtualenvs)

$(EMU_VENV)/.installed: requirements/emulator.txt
	rm -rf $(EMU_VENV)
	$(PYTHON) -m venv $(EMU_VENV)
	$(EMU_VENV)/bin/pip install --quiet --requirement $<
	touch $@

$(TOOLS_VENV)/.installed: requirements/tools.txt
	rm -rf $(TOOLS_VENV)
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --requirement $<
	touch $@

tools: $(EMU_VENV)/.installed $(TOOLS_VENV)/.installed

# ---------------------------------------------------------------- the two commands

bins:
	$(CARGO) build --locked --workspace --bins

dev: tools bins
	$(STACK) --name dev --port 3000 $(STACK_ARGS)

test: lint bins
	$(CARGO) build --locked --workspace --tests
	$(STACK) --name test --port 0 $(STACK_ARGS) -- $(CARGO) test --locked --workspace --all-targets

# ---------------------------------------------------------------- checks

lint: tools
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	mkdir -p target/lint
	$(TOOLS_VENV)/bin/python infra/lint/check_template.py template.yaml target/lint/template.expanded.json
	@# The checks must catch what they exist for: an undefined !Ref has to fail them.
	sed 's/^\( *\)TABLE_NAME: !Ref Table$$/&\n\1BROKEN: !Ref NoSuchResource/' template.yaml > target/lint/broken.yaml
	grep -q NoSuchResource target/lint/broken.yaml
	! $(TOOLS_VENV)/bin/python infra/lint/check_template.py target/lint/broken.yaml target/lint/broken.expanded.json > target/lint/broken.log 2>&1
	@echo "template checks: a broken !Ref is caught"

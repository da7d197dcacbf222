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
CHECKOV_VENV := .venv-checkov
CONTRACT_VENV := .venv-contract
BENCH_VENV := .venv-bench
# The venv first on PATH: cargo-lambda finds Zig through `python3 -m ziglang`, and SAM finds cargo-lambda.
WITH_TOOLS := PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0

# Every Lambda function of the project (one crate each, named as its binary).
FUNCTIONS := $(sort $(notdir $(wildcard functions/*)))
PACKAGES := $(addprefix --package ,$(FUNCTIONS))
LAMBDA_DIR := target/lambda-arm64
ARM64_TARGET := aarch64-unknown-linux-gnu
QEMU_DIR := target/qemu
QEMU := $(CURDIR)/$(QEMU_DIR)/usr/bin/qemu-aarch64-static -L $(CURDIR)/$(QEMU_DIR)/usr/aarch64-linux-gnu

STAGE ?= default

# Local parameter values: short timeouts and few receives, so retry and DLQ paths take seconds;
# a provider budget (which the sandbox enforces as Factus does) low enough that the suite runs
# paced, high enough that it runs in minutes. template.yaml's defaults are the AWS values.
LOCAL_PARAMS := \
	--param MaxReceiveCount=4 \
	--param ProviderRateLimitPerMinute=1500 \
	--param AccountRetrySeconds=2 \
	--param SubmissionVisibilityTimeoutSeconds=60 \
	--param WorkerTimeoutSeconds=10 \
	--param ProviderTimeoutSeconds=2 \
	--param RetryBaseDelaySeconds=1 \
	--param RetryMaxDelaySeconds=2 \
	--param RecoverAfterSeconds=30 \
	--param ProviderAccountCacheSeconds=2 \
	--param WebhookTargets=local \
	--param WebhookRetryBaseSeconds=1 \
	--param WebhookRetryMaxSeconds=2
STACK := target/debug/local-stack
STACK_ARGS := --emulator $(EMU_VENV)/bin/ministack --cargo-lambda $(TOOLS_VENV)/bin/cargo-lambda \
	--sandbox target/debug/provider-sandbox --sandbox-url-parameter ProviderSandboxUrl \
	--sandbox-url-parameter ProviderProductionUrl \
	--sandbox-credentials ProviderCredentials --sandbox-rate-limit-parameter ProviderRateLimitPerMinute \
	$(LOCAL_PARAMS)

.PHONY: help dev test suites contract fuzz bench lint tools bins stack-bins cli build test-arm64 test-remote deploy

help:
	@echo "make dev          the whole stack on http://127.0.0.1:3000, on a local AWS emulator (Ctrl-C stops it)"
	@echo "make test         lint, build, and every test against a fresh local stack (what CI runs)"
	@echo "make lint         rustfmt, clippy, the OpenAPI document, and the template checks (cfn-lint, sam validate, policies, checkov)"
	@echo "make contract     schemathesis against a running stack (INVOICER_STACK=target/local-stack/dev/stack.json)"
	@echo "make fuzz         schemathesis against a fresh local stack for FUZZ_SECONDS (default 1800)"
	@echo "make bench        cold starts, warm latency, a 10,000-invoice batch, memory: target/bench/report.md"
	@echo "make build        every function for arm64, with LTO, into $(LAMBDA_DIR)/<function>/bootstrap"
	@echo "make test-arm64   the integration suite against the arm64 binaries of make build, under qemu"
	@echo "make test-remote  the integration suite against a deployed stage: API_URL=https://... make test-remote"
	@echo "make deploy       check AWS credentials, then sam build and sam deploy (STAGE=staging|prod, default dev)"
	@echo "make cli          install the invoicer command line into ~/.cargo/bin (cargo install --path cli)"

# ---------------------------------------------------------------- tools (pinned, in virtualenvs)

# One virtualenv per requirements file, .venv-<name> from requirements/<name>.txt: each tool
# pins its own libraries (checkov's conflict with the SAM CLI's, the emulator pins botocore).
.venv-%/.installed: requirements/%.txt
	rm -rf .venv-$*
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/pip install --quiet --requirement $<
	touch $@

# qemu and the arm64 C library, from the distribution's packages, unpacked here: nothing is
# installed system-wide.
$(QEMU_DIR)/.installed:
	rm -rf $(QEMU_DIR)
	mkdir -p $(QEMU_DIR)/debs
	cd $(QEMU_DIR)/debs && apt-get download qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross \
		|| { echo "apt-get could not download them: are the package lists there (apt-get update)?"; exit 1; }
	for deb in $(QEMU_DIR)/debs/*.deb; do dpkg -x "$$deb" $(QEMU_DIR); done
	touch $@

tools: $(EMU_VENV)/.installed $(TOOLS_VENV)/.installed $(CONTRACT_VENV)/.installed

# ---------------------------------------------------------------- the two commands

bins:
	$(CARGO) build --locked --workspace --bins

dev: tools bins
	$(STACK) --name dev --port 3000 $(STACK_ARGS)

# The command line, a client of the API (README, "The command line").
cli:
	$(CARGO) install --locked --path cli

# The local stack's own programs (debug builds), for stacks of release binaries.
stack-bins:
	$(CARGO) build --locked --package local-stack --package provider-sandbox

# Everything is a debug build, as `make dev` runs it: the tests need the debug build of every
# dependency anyway, so the functions cost only their own crates (a release build of them would
# compile the AWS SDK a third time, a quarter of an hour on two cores). The optimised binaries are
# `make bench`'s and `make fuzz`'s; the deployed ones, `make test-arm64`'s.
# Each phase's time goes to $(TIMES), which `make bench` reports.
TIMES := target/make-test-times.txt
timed = echo '$(2)'; start=$$(date +%s); $(2); echo "$(1) $$(( $$(date +%s) - start ))" >> $(TIMES)
test:
	@mkdir -p target; : > $(TIMES)
	@$(call timed,tools and lint (rustfmt; clippy builds the workspace),$(MAKE) --no-print-directory lint)
	@$(call timed,debug build of every binary of the workspace,$(MAKE) --no-print-directory bins)
	@$(call timed,debug build of the tests,$(CARGO) test --locked --workspace --all-targets --no-run)
	@$(call timed,the suites against a fresh stack (Rust tests; schemathesis),$(STACK) --name test --port 0 $(STACK_ARGS) -- $(MAKE) --no-print-directory suites)

# What `make test` runs against its stack: the Rust suites, then the contract.
suites:
	$(CARGO) test --locked --workspace --all-targets
	$(MAKE) --no-print-directory contract

# schemathesis against the stack of INVOICER_STACK (or a deployed stage's CONTRACT_API_URL):
# every operation of openapi.yaml, positive and negative inputs, stateful links, and every
# check but positive_data_acceptance (see README, "Testing": a NIT's check digit or a cursor's
# signature cannot be said in JSON Schema, so schema-valid is not valid). A fixed seed and a
# bounded number of examples per operation keep `make test` short; `make fuzz` runs for
# FUZZ_SECONDS.
CONTRACT_CHECK_LIST := not_a_server_error status_code_conformance content_type_conformance \
	response_schema_conformance response_headers_conformance negative_data_rejection ignored_auth \
	missing_required_header unsupported_method allow_header_conformance use_after_free \
	ensure_resource_availability
comma := ,
CONTRACT_CHECKS := $(subst $() ,$(comma),$(strip $(CONTRACT_CHECK_LIST)))
SCHEMATHESIS_RUN := --checks $(CONTRACT_CHECKS) --seed 20261122 --max-examples 100 --generation-database none
FUZZ_SECONDS ?= 1800
contract: $(CONTRACT_VENV)/.installed
	@mkdir -p target/contract
	CONTRACT_API_URL="$${CONTRACT_API_URL:-$$($(PYTHON) -c 'import json, os; print(json.load(open(os.environ["INVOICER_STACK"]))["api_url"])')}" \
	CONTRACT_SANDBOX_URL="$${INVOICER_STACK:+$$($(PYTHON) -c 'import json, os; print(json.load(open(os.environ["INVOICER_STACK"]))["services"]["provider-sandbox"])')}" \
	SCHEMATHESIS_HOOKS=infra/contract/hooks.py \
	bash -c '$(CONTRACT_VENV)/bin/schemathesis run openapi.yaml --url "$$CONTRACT_API_URL" --no-color \
		$(or $(SCHEMATHESIS_ARGS),$(SCHEMATHESIS_RUN)) \
		--report junit --report-junit-path target/contract/junit.xml'

fuzz: tools stack-bins
	$(CARGO) build --locked --profile release-test $(PACKAGES)
	$(STACK) --name fuzz --port 0 --bin-dir target/release-test $(STACK_ARGS) -- \
		$(MAKE) --no-print-directory contract \
		SCHEMATHESIS_ARGS="--checks $(CONTRACT_CHECKS) --max-time $(FUZZ_SECONDS) --continue-on-failure"

# The bench lifts the provider budget so that a 10,000-invoice lot ends in minutes, not in the
# two hours it takes at Factus's 80 requests a minute (the report says both).
BENCH_BUDGET ?= 60000
# Measures; asserts nothing. A fresh stack of the `release-test` binaries, the bench built the
# same way, and the Python peer of infra/bench/peer in its own virtualenv.
bench: tools stack-bins $(BENCH_VENV)/.installed
	$(CARGO) build --locked --profile release-test $(PACKAGES) --package bench
	$(STACK) --name bench --port 0 --bin-dir target/release-test $(STACK_ARGS) --log-level info,dynamodb_writes=debug \
		--param ProviderRateLimitPerMinute=$(BENCH_BUDGET) -- \
		target/release-test/bench --python $(BENCH_VENV)/bin/python --out target/bench
	@echo "the report: target/bench/report.md (raw numbers: target/bench/report.json)"

# ---------------------------------------------------------------- checks

lint: tools $(CHECKOV_VENV)/.installed
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CONTRACT_VENV)/bin/openapi-spec-validator openapi.yaml
	mkdir -p target/lint
	$(TOOLS_VENV)/bin/python infra/lint/check_template.py template.yaml target/lint/template.expanded.json
	$(TOOLS_VENV)/bin/python infra/lint/check_policies.py template.yaml target/lint/template.expanded.json
	$(WITH_TOOLS) AWS_DEFAULT_REGION=us-east-1 sam validate --lint --template template.yaml
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download
	@# The checks must catch what they exist for: an undefined !Ref has to fail them.
	sed 's/^\( *\)TABLE_NAME: !Ref Table$$/&\n\1BROKEN: !Ref NoSuchResource/' template.yaml > target/lint/broken.yaml
	grep -q NoSuchResource target/lint/broken.yaml
	! $(TOOLS_VENV)/bin/python infra/lint/check_template.py target/lint/broken.yaml target/lint/broken.expanded.json > target/lint/broken.log 2>&1
	@echo "template checks: a broken !Ref is caught"
	@# ... and a GET function that may write has to fail the policy check.
	sed '/^  InvoicesGetFunction:/,/Events:/ s/Action: dynamodb:GetItem$$/Action: [dynamodb:GetItem, dynamodb:PutItem]/' \
		template.yaml > target/lint/writable.yaml
	grep -q "dynamodb:GetItem, dynamodb:PutItem" target/lint/writable.yaml
	$(TOOLS_VENV)/bin/python infra/lint/check_template.py target/lint/writable.yaml target/lint/writable.expanded.json > /dev/null
	! $(TOOLS_VENV)/bin/python infra/lint/check_policies.py target/lint/writable.yaml target/lint/writable.expanded.json 2> target/lint/writable.log
	grep -q "InvoicesGetFunction only reads (GET) but may dynamodb:PutItem" target/lint/writable.log
	@echo "policy checks: a GET function that may write is caught"
	@# ... and so has a function that may write provider accounts' secrets but serves another route.
	sed '/^  OrganizationProviderFunction:/,/Method: PUT/ s#Path: /v1/organization/provider#Path: /v1/organization/keys#' \
		template.yaml > target/lint/secret-writer.yaml
	grep -q "Path: /v1/organization/keys" target/lint/secret-writer.yaml
	$(TOOLS_VENV)/bin/python infra/lint/check_template.py target/lint/secret-writer.yaml target/lint/secret-writer.expanded.json > /dev/null
	! $(TOOLS_VENV)/bin/python infra/lint/check_policies.py target/lint/secret-writer.yaml target/lint/secret-writer.expanded.json 2> target/lint/secret-writer.log
	grep -q "OrganizationProviderFunction may secretsmanager:CreateSecret" target/lint/secret-writer.log
	@echo "policy checks: a function that may write provider accounts' secrets on another route is caught"
	@# make deploy must stop before building when there are no credentials, and say what is missing.
	! env -i PATH="$$PATH" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_EC2_METADATA_DISABLED=true \
		$(TOOLS_VENV)/bin/python infra/deploy/check_credentials.py default > target/lint/credentials.log 2>&1
	grep -q "no AWS credentials" target/lint/credentials.log
	@echo "deploy checks: missing credentials are named"

# ---------------------------------------------------------------- arm64 and AWS

# Reproducible: the locked dependencies, the release profile (LTO, one codegen unit, stripped).
build: $(TOOLS_VENV)/.installed
	rustup target list --installed | grep -qx $(ARM64_TARGET) || rustup target add $(ARM64_TARGET)
	$(WITH_TOOLS) cargo lambda build --locked --release --arm64 --lambda-dir $(LAMBDA_DIR) $(PACKAGES)
	@for function in $(FUNCTIONS); do \
		binary=$(LAMBDA_DIR)/$$function/bootstrap; \
		[ "$$(od -An -tx1 -j18 -N2 $$binary | tr -d ' ')" = b700 ] || { echo "$$binary is not arm64"; exit 1; }; \
	done
	@echo "$(words $(FUNCTIONS)) arm64 binaries: $(LAMBDA_DIR)/<function>/bootstrap"

# `sam build` (each function's BuildMethod is makefile) asks for build-<LogicalId> with an
# ARTIFACTS_DIR: it gets the binary of `make build`, the one `make test-arm64` tests.
# AuthSignupFunction is functions/auth-signup.
build-%Function: build
	cp $(LAMBDA_DIR)/$(shell echo '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g' | tr '[:upper:]' '[:lower:]')/bootstrap "$(ARTIFACTS_DIR)/"

# The arm64 binaries of `make build` under qemu, on the Runtime API emulator: the whole
# integration suite, their events included.
test-arm64: tools build stack-bins $(QEMU_DIR)/.installed
	$(CARGO) build --locked --package invoicer-cli
	$(CARGO) test --locked --package integration-tests --no-run
	$(STACK) --name arm64 --port 0 --bin-dir $(LAMBDA_DIR) --runner "$(QEMU)" $(STACK_ARGS) -- \
		$(CARGO) test --locked --package integration-tests

# The integration suite against a deployed stage; tests that need the local stack say they skip.
test-remote:
	@[ -n "$(API_URL)" ] || { echo "usage: API_URL=https://<api-id>.execute-api.<region>.amazonaws.com make test-remote"; exit 2; }
	$(CARGO) build --locked --package invoicer-cli
	INVOICER_API_URL="$(API_URL)" $(CARGO) test --locked --package integration-tests -- --nocapture

deploy: $(TOOLS_VENV)/.installed
	$(TOOLS_VENV)/bin/python infra/deploy/check_credentials.py $(STAGE)
	$(WITH_TOOLS) sam build --build-in-source --config-env $(STAGE)
	$(WITH_TOOLS) sam deploy --config-env $(STAGE)

# The project's entry points. `make demo` and `make test` are the README's two
# commands: each sets up everything it needs on a fresh machine first.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

LOCALCLOUD := target/debug/localcloud
# CodeDeploy intervals, hook limits and alarm periods run 10x faster on the local
# cloud `make up` starts, so a 5-minute canary takes 30 s. 1 is real time.
TIME_SCALE ?= 10

.PHONY: help setup up down reset status demo test lint tf-local-apply tf-local-destroy

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup: ## Python venvs with the pinned emulator and linters, and the Rust build.
	@scripts/setup.sh

up: setup ## Start the local cloud on http://127.0.0.1:4566 (idempotent; time x$(TIME_SCALE)).
	@LOCALCLOUD_TIME_SCALE=$(TIME_SCALE) $(LOCALCLOUD) up

down: ## Stop exactly the processes `make up` started.
	@if [[ -x $(LOCALCLOUD) ]]; then $(LOCALCLOUD) down; else echo "local cloud was not running (not built yet)"; fi

reset: setup ## Empty every account's state on the running local cloud.
	@$(LOCALCLOUD) reset

status: setup ## Say whether the local cloud runs.
	@$(LOCALCLOUD) status

demo: up ## Set up, start the local cloud, apply environments/local, release dev -> test -> prod and roll a bad release back.
	@scripts/demo.sh

.PHONY: pipeline
pipeline: up ## Rehearse the merge pipeline on the local cloud
	@scripts/package-functions.sh
	@scripts/tf-local.sh apply
	@pipelines/scripts/rehearse.sh

tf-local-apply: up ## Apply environments/local to the running local cloud.
	@scripts/tf-local.sh apply

tf-local-destroy: ## Destroy environments/local on the running local cloud.
	@scripts/tf-local.sh destroy

test: setup ## Every test: formatting, Rust unit, lifecycle and end-to-end suites.
	@scripts/test.sh

lint: setup ## Clippy over every target, warnings as errors (a second, check-mode build).
	@cargo clippy --workspace --all-targets --locked -- -D warnings

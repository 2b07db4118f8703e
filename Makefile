# The project's entry points. `make demo` and `make test` are the README's two
# commands: each sets up everything it needs on a fresh machine first.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

LOCALCLOUD := target/debug/localcloud

.PHONY: help setup up down reset status demo test lint tf-local-apply tf-local-destroy

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup: ## Python venvs with the pinned emulator and linters, and the Rust build.
	@scripts/setup.sh

up: setup ## Start the local cloud on http://127.0.0.1:4566 (idempotent).
	@$(LOCALCLOUD) up

down: ## Stop exactly the processes `make up` started.
	@if [[ -x $(LOCALCLOUD) ]]; then $(LOCALCLOUD) down; else echo "local cloud was not running (not built yet)"; fi

reset: setup ## Empty every account's state on the running local cloud.
	@$(LOCALCLOUD) reset

status: setup ## Say whether the local cloud runs.
	@$(LOCALCLOUD) status

demo: up ## Set up, start the local cloud, apply environments/local to it.
	@scripts/demo.sh

tf-local-apply: up ## Apply environments/local to the running local cloud.
	@scripts/tf-local.sh apply

tf-local-destroy: ## Destroy environments/local on the running local cloud.
	@scripts/tf-local.sh destroy

test: setup ## Every test: formatting, Rust unit, lifecycle and end-to-end suites.
	@scripts/test.sh

lint: setup ## Clippy over every target, warnings as errors (a second, check-mode build).
	@cargo clippy --workspace --all-targets --locked -- -D warnings

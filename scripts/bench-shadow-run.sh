#!/usr/bin/env bash
# The differential shadow run's time over a large recorded day (issue 16): builds the
# workspace (the one build command), then runs tests/e2e/examples/bench_shadow_run.rs
# on a private local cloud. Argument: the day's records (default 1000000). Not part of
# `make test`: figures are not pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/cargo-build.sh
target/debug/examples/bench_shadow_run "${1:-1000000}"

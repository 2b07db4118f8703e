#!/usr/bin/env bash
# The deployer's benchmarks: builds the workspace (the one build command), then runs
# tests/e2e/examples/bench_deployer.rs on a private local cloud with time compressed
# and prints the figures. Not part of `make test`: figures are not pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/cargo-build.sh
target/debug/examples/bench_deployer

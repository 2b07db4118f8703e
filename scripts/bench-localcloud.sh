#!/usr/bin/env bash
# localcloud's benchmarks: builds localcloud in release, then runs the bench program
# (tests/e2e/examples/bench_localcloud.rs) against it on a private local cloud and
# prints the figures. Not part of `make test`: figures are not pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
cargo build --release --locked -p localcloud
scripts/cargo-build.sh
LOCALCLOUD_BIN="$PWD/target/release/localcloud" target/debug/examples/bench_localcloud

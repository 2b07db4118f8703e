#!/usr/bin/env bash
# Builds the workspace (the one build command) and packages the ETL functions and the
# hooks into $DIST_DIR (default dist/) with `deployer package`: each binary zipped as
# `bootstrap` reproducibly, plus release.json. environments/local creates the functions
# from these zips; the deployer releases them.
set -euo pipefail
cd "$(dirname "$0")/.."
dist="${DIST_DIR:-dist}"
scripts/cargo-build.sh
target="${CARGO_TARGET_DIR:-target}"
"$target/debug/deployer" --quiet package --no-build --bin-dir "$target/debug" --dist "$dist" --root .

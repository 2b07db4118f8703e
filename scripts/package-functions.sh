#!/usr/bin/env bash
# Builds the workspace (the one build command) and packages the ETL functions and the
# hooks into $DIST_DIR (default dist/) with `deployer package`: each binary zipped as
# `bootstrap` reproducibly, plus release.json, which the deployer releases. Terraform
# needs none of it: it creates the functions from the modules' placeholder.
set -euo pipefail
cd "$(dirname "$0")/.."
dist="${DIST_DIR:-dist}"
scripts/cargo-build.sh
target="${CARGO_TARGET_DIR:-target}"
"$target/debug/deployer" --quiet package --no-build --bin-dir "$target/debug" --dist "$dist" --root .

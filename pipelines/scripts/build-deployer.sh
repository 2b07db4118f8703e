#!/usr/bin/env bash
# CI set-up, not a stage (the manual workflow, which has no package job to take the
# deployer from): builds only the deployer, into target/debug/deployer.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked --quiet -p deployer --bin deployer
echo "built $("${CARGO_TARGET_DIR:-target}/debug/deployer" --version)" >&2

#!/usr/bin/env bash
# The one workspace build every entry point uses. Tests pull dev-dependencies
# (aws-smithy-mocks turns on SDK test features), and cargo compiles the SDK again
# for any build that resolves features differently; building bins, tests and examples
# together here, as `cargo nextest run --workspace` does, keeps one set of artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo build --locked --quiet --workspace --bins --tests --examples "$@"

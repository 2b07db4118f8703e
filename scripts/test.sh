#!/usr/bin/env bash
# Every test (`make test`, after `make setup`). One build of the workspace in one
# profile and one target folder; nextest runs everything, end-to-end tests included,
# each on a private local cloud it starts and stops by pid.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all --check || { echo "error: Rust code is not formatted: run \`cargo fmt --all\`" >&2; exit 1; }

profile=default
[[ "${CI:-}" == "true" ]] && profile=ci
echo "==> cargo nextest run --workspace (profile $profile)"
cargo nextest run --workspace --locked --profile "$profile" --no-fail-fast

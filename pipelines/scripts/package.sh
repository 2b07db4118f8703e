#!/usr/bin/env bash
# Stage package: builds the workspace once (scripts/cargo-build.sh, the one build
# command) and packages every function and hook with `deployer package` into
# $DIST_DIR (default dist/): reproducible zips and release.json. The same source gives
# the same bytes, so the later stages republish only what changed.
#   package.sh
# PIPELINE_BIN_DIR: package the binaries already built there instead of building
# (the tests use it to ship releases that differ only by a marker).
# Writes $REPORTS_DIR/package.json and the stage's verdict; exits with the
# deployer's exit code (1 when the build fails).
source "$(dirname "$0")/lib.sh"

[[ $# -eq 0 ]] || usage ""
if [[ -n "${PIPELINE_BIN_DIR:-}" ]]; then
  bin_dir="$PIPELINE_BIN_DIR"
  echo "==> package: the binaries in $bin_dir (PIPELINE_BIN_DIR), no build" >&2
else
  echo "==> package: building the workspace (scripts/cargo-build.sh)" >&2
  if ! bash scripts/cargo-build.sh; then
    R_OUTCOME=""
    stage_done package 1 "" "the build failed (scripts/cargo-build.sh): see cargo's output above"
    exit 1
  fi
  bin_dir="${CARGO_TARGET_DIR:-target}/debug"
fi
deployer_stage package "" package --no-build --bin-dir "$bin_dir" --dist "$DIST_DIR"

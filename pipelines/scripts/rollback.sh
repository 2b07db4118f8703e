#!/usr/bin/env bash
# Stage rollback-<env> (the manual workflow): returns every function of ENV to the
# previous successful release, or to RELEASE; with no RELEASE, an unfinished release
# (a deployer that died mid-shift) is stopped and its aliases restored first.
#   rollback.sh ENV [RELEASE]
# Writes $REPORTS_DIR/rollback-ENV.json and the stage's verdict; exits with the
# deployer's exit code.
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 && $# -le 2 ]] || usage "ENV [RELEASE]"
env="$1"
release="${2:-}"
check_environment "$env"
args=(rollback --env "$env")
if [[ -n "$release" ]]; then
  check_release "$release"
  args+=(--to "$release")
fi
deployer_stage "rollback-$env" "$env" "${args[@]}"

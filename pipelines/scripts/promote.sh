#!/usr/bin/env bash
# Stage promote-<env>: deploys to ENV the exact release that last succeeded in the
# environment it promotes from (its promotes_from: dev -> test -> prod), with ENV's
# traffic-shifting strategy. The deployer refuses (exit 5) a release that did not
# succeed there or has not soaked there for ENV's min_soak; a soak refusal is waited
# out here when it clears within PROMOTE_SOAK_WAIT_SECONDS (default 120), saying what
# it waits for, and otherwise stops with the time to run the stage again.
#   promote.sh ENV [RELEASE]
# RELEASE (the manual workflow) is the release the operator means: the stage refuses
# unless it is the one the source environment would hand over.
# Writes $REPORTS_DIR/promote-ENV.json and the stage's verdict; exits with the
# deployer's exit code. A promotion into an environment of REVIEW_ENVIRONMENTS
# (default: prod) that released anything also publishes that environment's
# Well-Architected review (review-ENV.md and .json, a line in the summary); the review
# never changes the stage's verdict.
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 && $# -le 2 ]] || usage "ENV [RELEASE]"
env="$1"
expected="${2:-}"
check_environment "$env"
stage="promote-$env"
max_wait="${PROMOTE_SOAK_WAIT_SECONDS:-120}"
[[ "$max_wait" =~ ^[0-9]+$ ]] || { echo "error: PROMOTE_SOAK_WAIT_SECONDS must be a number of seconds, not '$max_wait'" >&2; exit 64; }

if ! ensure_deployer; then
  R_OUTCOME=""
  stage_done "$stage" 1 "" "there is no deployer at $DEPLOYER"
  exit 1
fi

# The operator named a release: check that it is the one the source would hand over
# (the deployer promotes only the source's newest release, and only if it succeeded).
if [[ -n "$expected" ]]; then
  check_release "$expected"
  settings="$SETTINGS_DIR/$env/deployer.yaml"
  source_env="$(sed -n 's/^promotes_from:[[:space:]]*\([a-z0-9-]*\).*/\1/p' "$settings" 2>/dev/null || true)"
  if [[ -z "$source_env" ]]; then
    R_OUTCOME=""
    stage_done "$stage" 5 "$expected" "refused (exit 5): $env does not take releases by promotion ($settings has no promotes_from)"
    exit 5
  fi
  run_deployer "$stage.source" history --env "$source_env" --limit 1
  newest="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])).get("releases") or [{}]; print(r[0].get("release_id") or "", r[0].get("status") or "")' "$REPORTS_DIR/$stage.source.json" 2>/dev/null || true)"
  if [[ "$DEPLOYER_CODE" != 0 ]]; then
    read_report "$stage.source"
    deployer_verdict "$stage" "$source_env" "$DEPLOYER_CODE"
    exit "$DEPLOYER_CODE"
  fi
  if [[ "${newest%% *}" != "$expected" ]]; then
    R_OUTCOME=""
    stage_done "$stage" 5 "$expected" "refused (exit 5): $source_env's newest release is ${newest:-none}, not $expected; only the newest successful release of $source_env can be promoted (deploy or roll back $source_env first)"
    exit 5
  fi
fi

started="$(date +%s)"
while :; do
  run_deployer "$stage" promote --to "$env"
  read_report "$stage"
  code="$DEPLOYER_CODE"
  if [[ "$code" == 5 && -n "$R_SOAK_WAIT" ]]; then
    waited=$(($(date +%s) - started))
    if ((waited + R_SOAK_WAIT <= max_wait)); then
      echo "==> $stage: $R_MESSAGE" >&2
      echo "==> $stage: waiting ${R_SOAK_WAIT}s for ${R_RELEASE:-the release} to finish its soak, then promoting again (at most ${max_wait}s in all)" >&2
      sleep "$R_SOAK_WAIT"
      continue
    fi
    R_MESSAGE="$R_MESSAGE (this stage waits at most ${max_wait}s for a soak: run it again then)"
  fi
  break
done
if [[ -n "$expected" && "$code" == 0 && "$R_RELEASE" != "$expected" ]]; then
  # A newer release reached the source between the check and the promotion.
  R_MESSAGE="$R_MESSAGE (note: promoted $R_RELEASE, which replaced $expected in the source meanwhile)"
fi
deployer_verdict "$stage" "$env" "$code"
if [[ "$code" == 0 || "$code" == 2 ]]; then
  publish_release_report "$env"
fi
# A release ran (and succeeded, or was rolled back): the review shows where it left the
# environment.
if [[ " ${REVIEW_ENVIRONMENTS:-prod} " == *" $env "* && ("$code" == 0 || "$code" == 2) ]]; then
  publish_review "$env"
fi
exit "$code"

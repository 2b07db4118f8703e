#!/usr/bin/env bash
# The main job on the local cloud (`make demo`, after `make up`): package the functions
# and hooks, apply environments/local (dev, test, prod and tooling accounts; the
# functions hold the modules' placeholder), ship the packaged build as the first
# release dev -> test -> prod, run the ETL workflow once in dev, then deliver releases
# with the deployer: a good release dev -> test -> prod, and a bad one that passes its
# checks but fails under traffic in test's canary, is rolled back on its alarm, and is
# never promoted to prod.
#
# Each step prints its title and its verdict. What a newcomer does not need to read
# (the build, Terraform's plan and apply) goes to a log file under .run/demo/logs/
# whose path is printed; a step that fails shows the tail of its log and stops the
# demo (exit 1). The deployer's own progress and tables stay on screen.
set -euo pipefail
cd "$(dirname "$0")/.."
endpoint="${LOCALCLOUD_ENDPOINT:-http://127.0.0.1:4566}"
export LOCALCLOUD_ENDPOINT="$endpoint"
logs=.run/demo/logs
mkdir -p "$logs"
deployer() { target/debug/deployer --local "$@"; }

steps=0
step_started=$SECONDS
# step TITLE: a step's heading.
step() {
  steps=$((steps + 1))
  step_started=$SECONDS
  printf '\n[%d] %s\n' "$steps" "$*"
}
elapsed() { echo "$((SECONDS - step_started)) s"; }
# ok VERDICT: the step's verdict.
ok() { printf '    ok (%s): %s\n' "$(elapsed)" "$*"; }
# failed WHY: the step's verdict when it failed; ends the demo.
failed() {
  printf '    FAILED (%s): %s\n' "$(elapsed)" "$*" >&2
  printf '\ndemo: stopped at step %d; the local cloud at %s is left as it is (`make down` stops it).\n' "$steps" "$endpoint" >&2
  exit 1
}
# logged LOG COMMAND...: runs COMMAND with its output in LOG; if it fails, the tail of
# LOG is shown and the demo ends.
logged() {
  local log="$1" code=0
  shift
  "$@" >"$log" 2>&1 || code=$?
  if [[ $code -ne 0 ]]; then
    printf '    the last 30 lines of %s:\n' "$log" >&2
    tail -n 30 "$log" | sed 's/^/    | /' >&2
    failed "$* exited $code (full log: $log)"
  fi
}
# expect CODE WHAT COMMAND...: runs a deployer command (its output shown) and checks its
# exit code: 0 done, 2 rolled back, 5 refused.
expect() {
  local want="$1" what="$2" code=0
  shift 2
  "$@" || code=$?
  [[ $code -eq $want ]] || failed "$what: expected exit $want, got $code"
}

step "packaging the functions and hooks (deployer package)"
logged "$logs/package.log" scripts/package-functions.sh
ok "dist/ holds the release ($(grep -o '"release_id": *"[^"]*"' dist/release.json | head -1 | cut -d'"' -f4)); build log: $logs/package.log"

step "applying environments/local to the local cloud at $endpoint (Terraform)"
logged "$logs/terraform-apply.log" scripts/tf-local.sh apply
ok "$(grep -m1 -E '^Apply complete' "$logs/terraform-apply.log" | sed 's/\.$//' || echo 'applied'); plan and apply log: $logs/terraform-apply.log"

step "the first release: the packaged build to dev, test and prod (each live alias leaves Terraform's placeholder)"
expect 0 "deploy to dev" deployer deploy --env dev --dist dist
expect 0 "promote to test" deployer promote --to test
sleep 3
expect 0 "promote to prod" deployer promote --to prod
ok "dev, test and prod run the packaged build"

step "running the ETL workflow once in the dev account"
.venv/bin/python scripts/demo-run.py || failed "the workflow run did not succeed"
ok "the run succeeded"

step "a good release: deploy to dev (all at once)"
logged "$logs/package-good.log" scripts/demo-release.sh .run/demo/good demo-good
expect 0 "deploy the good release to dev" deployer deploy --env dev --dist .run/demo/good
ok "dev runs the good release"

step "promote it to test (canary 10%, then all)"
expect 0 "promote the good release to test" deployer promote --to test
ok "test runs the good release"

step "promote it to prod once it has soaked in test (canary 10%, then all)"
sleep 3
expect 0 "promote the good release to prod" deployer promote --to prod
ok "prod runs the good release"

step "a bad release: extract passes its dry-run checks but fails real traffic"
logged "$logs/package-bad.log" scripts/demo-release.sh .run/demo/bad demo-bad extract=fixture-extract-live-fails
expect 0 "deploy the bad release to dev" deployer deploy --env dev --dist .run/demo/bad
ok "dev takes it: its dry runs and its shadow run find nothing wrong, and nothing sends dev real traffic"

step "promote it to test while synthetic traffic hits etl-test-extract:live"
.venv/bin/python scripts/demo-traffic.py 222222222222 etl-test-extract &
traffic=$!
code=0
deployer promote --to test || code=$?
kill -TERM "$traffic" && wait "$traffic" || true
[[ $code -eq 2 ]] || failed "expected the bad release to be rolled back (exit 2), got exit $code"
ok "exit 2 as expected: rolled back on the errors alarm, the judge's numbers beside it; every test function is back on the good release"

step "promoting the failed release to prod is refused"
expect 5 "promote the failed release to prod" deployer promote --to prod
ok "exit 5 as expected: prod keeps the good release"

step "a third release: transform quietly rounds every amount to whole units (no error, no alarm)"
logged "$logs/package-quiet.log" scripts/demo-release.sh .run/demo/quiet demo-quiet transform=fixture-transform-rounds-amounts
code=0
deployer deploy --env dev --dist .run/demo/quiet || code=$?
[[ $code -eq 2 ]] || failed "expected the shadow run to stop the quiet release (exit 2), got exit $code"
ok "exit 2 as expected: the shadow run of dev's last real day found the changed amounts (above, side by side); no traffic moved"

step "where each environment stands"
for env in dev test prod; do deployer --quiet status --env "$env"; done
ok "status of dev, test and prod"

step "test's history"
deployer history --env test --limit 5
ok "the last five releases of test"

printf '\ndone: %d steps passed in %d s. Logs: %s/. The local cloud keeps running at %s (stop it with `make down`).\n' \
  "$steps" "$SECONDS" "$logs" "$endpoint"

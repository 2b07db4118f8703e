#!/usr/bin/env bash
# The main job on the local cloud (`make demo`, after `make up`): package the functions
# and hooks, apply environments/local (dev, test, prod and tooling accounts; the
# functions hold the modules' placeholder), ship the packaged build as the first
# release dev -> test -> prod, run the ETL workflow once in dev, then deliver releases
# with the deployer: a good release dev -> test -> prod, and a bad one that passes its
# checks but fails under traffic in test's canary, is rolled back on its alarm, and is
# never promoted to prod.
set -euo pipefail
cd "$(dirname "$0")/.."
endpoint="${LOCALCLOUD_ENDPOINT:-http://127.0.0.1:4566}"
export LOCALCLOUD_ENDPOINT="$endpoint"
deployer() { target/debug/deployer --local "$@"; }
step() { printf '\n==> %s\n' "$*"; }

step "packaging the functions and hooks (deployer package)"
scripts/package-functions.sh
step "applying environments/local to the local cloud at $endpoint"
scripts/tf-local.sh apply
step "the first release: the packaged build to dev, test and prod (each live alias leaves Terraform's placeholder)"
deployer deploy --env dev --dist dist
deployer promote --to test
sleep 3
deployer promote --to prod
step "running the ETL workflow once in the dev account"
.venv/bin/python scripts/demo-run.py

step "a good release: deploy to dev (all at once)"
scripts/demo-release.sh .run/demo/good demo-good
deployer deploy --env dev --dist .run/demo/good
step "promote it to test (canary 10%, then all)"
deployer promote --to test
step "promote it to prod once it has soaked in test (canary 10%, then all)"
sleep 3
deployer promote --to prod

step "a bad release: extract passes its dry-run checks but fails real traffic"
scripts/demo-release.sh .run/demo/bad demo-bad extract=fixture-extract-live-fails
deployer deploy --env dev --dist .run/demo/bad
step "promote it to test while synthetic traffic hits etl-test-extract:live"
.venv/bin/python scripts/demo-traffic.py 222222222222 etl-test-extract &
traffic=$!
set +e
deployer promote --to test
code=$?
set -e
kill -TERM "$traffic" && wait "$traffic" || true
if [[ $code -ne 2 ]]; then
  echo "demo: expected the bad release to be rolled back (exit 2), got exit $code" >&2
  exit 1
fi
echo "    -> exit 2: rolled back on the alarm; every test function is back on the good release"
step "promoting the failed release to prod is refused"
set +e
deployer promote --to prod
code=$?
set -e
if [[ $code -ne 5 ]]; then
  echo "demo: expected the promotion to be refused (exit 5), got exit $code" >&2
  exit 1
fi
step "where each environment stands"
for env in dev test prod; do deployer --quiet status --env "$env"; done
step "test's history"
deployer history --env test --limit 5
echo
echo "done: the local cloud keeps running at $endpoint (stop it with \`make down\`)."

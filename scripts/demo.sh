#!/usr/bin/env bash
# The main job on the local cloud (`make demo`, after `make up`): package the ETL
# functions, apply the local environment, and run the workflow once in dev. Later
# issues extend this into the whole release dev -> test -> prod.
set -euo pipefail
cd "$(dirname "$0")/.."
endpoint="${LOCALCLOUD_ENDPOINT:-http://127.0.0.1:4566}"

echo "==> packaging the ETL functions"
scripts/package-functions.sh
echo "==> applying environments/local to the local cloud at $endpoint"
scripts/tf-local.sh apply
echo
echo "==> the local environment"
scripts/tf-local.sh output
echo
echo "==> running the ETL workflow once in the dev account"
LOCALCLOUD_ENDPOINT="$endpoint" .venv/bin/python scripts/demo-run.py
echo
echo "done: the local cloud keeps running at $endpoint (stop it with \`make down\`)."

#!/usr/bin/env bash
# Stage deploy-<env>: deploys the packaged release ($DIST_DIR, default dist/) to an
# environment that takes releases directly (dev). The deployer assumes the
# environment's deploy role and checks its account before it changes anything: a
# missing role or wrong credentials stop here with exit 4, missing infrastructure
# with 6, a release that fails its hooks or alarms is rolled back (exit 2).
#   deploy.sh ENV
# Writes $REPORTS_DIR/deploy-ENV.json and the stage's verdict; exits with the
# deployer's exit code.
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || usage "ENV"
env="$1"
check_environment "$env"
code=0
deployer_stage "deploy-$env" "$env" deploy --env "$env" --dist "$DIST_DIR" || code=$?
if [[ "$code" == 0 || "$code" == 2 ]]; then
  publish_release_report "$env"
fi
exit "$code"

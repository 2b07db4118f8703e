#!/usr/bin/env bash
# Terraform for environments/local against the local cloud.
#   tf-local.sh apply     apply (what `make demo` does)
#   tf-local.sh destroy   destroy
#   tf-local.sh plan-check  a plan that must show no changes (after apply)
#   tf-local.sh check     apply, plan-check, destroy
#   tf-local.sh output    the root's outputs
#   tf-local.sh show-json the applied state as JSON (`terraform show -json`)
# LOCALCLOUD_ENDPOINT (default http://127.0.0.1:4566) and TF_LOCAL_STATE_DIR
# (default .run/terraform/local) let tests aim it at a private local cloud.
# TF_LOCAL_PROVIDER_LOG=FILE keeps the AWS provider's debug log there and, when the
# action fails, prints what it says about the AWS calls that went wrong on the wire
# (retries, 5xx, lost replies), which Terraform's own error does not show. Exit 75:
# the provider lost the reply to a create (see report_provider_log).
set -euo pipefail
source "$(dirname "$0")/terraform-env.sh"

action="${1:-}"
endpoint="${LOCALCLOUD_ENDPOINT:-http://127.0.0.1:4566}"
state_dir="$(mkdir -p "${TF_LOCAL_STATE_DIR:-$ROOT/.run/terraform/local}" && cd "${TF_LOCAL_STATE_DIR:-$ROOT/.run/terraform/local}" && pwd)"
export TF_DATA_DIR="$state_dir/data"
export AWS_ENDPOINT_URL="$endpoint"
# Never let ambient credentials or profiles steer the local providers.
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
provider_log="${TF_LOCAL_PROVIDER_LOG:-}"
if [[ -n "$provider_log" ]]; then
  # This run's calls only: Terraform appends to TF_LOG_PATH.
  mkdir -p "$(dirname "$provider_log")" && : >"$provider_log"
  export TF_LOG_PROVIDER=DEBUG TF_LOG_PATH="$provider_log"
fi

if ! curl -sf -o /dev/null "$endpoint/_localcloud/health"; then
  echo "error: the local cloud does not answer at $endpoint: start it with \`make up\`" >&2
  exit 6
fi

color=()
[[ -t 1 ]] || color=(-no-color)
tf() { terraform -chdir="$ROOT/environments/local" "$@"; }
tf_run() { local cmd="$1"; shift; tf "$cmd" "${color[@]}" "$@"; }

plan_check() {
  set +e
  tf_run plan -detailed-exitcode -input=false
  local rc=$?
  set -e
  case "$rc" in
    0) echo "tf-local: the plan after apply shows no changes" ;;
    2) echo "error: the plan after apply wants changes (see above): the local cloud and the configuration disagree" >&2; return 1 ;;
    *) echo "error: terraform plan failed" >&2; return 1 ;;
  esac
}
tf init -input=false -reconfigure -backend-config="path=$state_dir/terraform.tfstate" >/dev/null

# A failed action's provider-log digest goes to stderr, after Terraform's own error.
# When it shows a create whose reply the provider lost and whose retry then met what
# the create had made, the exit status is 75 (temporary failure): the cloud holds a
# resource that the state lacks, and applying again on an emptied cloud succeeds.
report_provider_log() {
  local rc=$? verdict=0
  if [[ $rc -ne 0 && -n "$provider_log" && -s "$provider_log" ]]; then
    echo "tf-local: the AWS provider's calls (debug log $provider_log):" >&2
    python3 "$ROOT/scripts/tf_provider_log.py" "$provider_log" >&2 || verdict=$?
    if [[ $verdict -eq 3 ]]; then
      echo "error: the AWS provider lost the reply to a create it had made (exit 75): the local cloud holds a resource that Terraform's state lacks; empty the cloud (\`make reset\`, or \`terraform import\` the resource) and apply again" >&2
      exit 75
    fi
  fi
  return $rc
}
trap report_provider_log EXIT

case "$action" in
  apply) tf_run apply -auto-approve -input=false ;;
  plan-check) plan_check ;;
  destroy) tf_run destroy -auto-approve -input=false ;;
  output) tf_run output ;;
  show-json) tf show -json ;;
  check)
    tf_run apply -auto-approve -input=false
    plan_check
    tf_run destroy -auto-approve -input=false
    ;;
  *)
    echo "usage: $0 apply|plan-check|destroy|check|output|show-json" >&2
    exit 64
    ;;
esac

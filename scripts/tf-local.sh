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
set -euo pipefail
source "$(dirname "$0")/terraform-env.sh"

action="${1:-}"
endpoint="${LOCALCLOUD_ENDPOINT:-http://127.0.0.1:4566}"
state_dir="$(mkdir -p "${TF_LOCAL_STATE_DIR:-$ROOT/.run/terraform/local}" && cd "${TF_LOCAL_STATE_DIR:-$ROOT/.run/terraform/local}" && pwd)"
export TF_DATA_DIR="$state_dir/data"
export AWS_ENDPOINT_URL="$endpoint"
# Never let ambient credentials or profiles steer the local providers.
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

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

#!/usr/bin/env bash
# Pull requests, not a stage: `terraform validate` of environments/ENV and, with AWS
# credentials (the read-only plan role by OIDC), `terraform plan -lock=false` against
# its real state; the result goes to the job summary ($GITHUB_STEP_SUMMARY) and to
# $REPORTS_DIR/terraform-ENV.md.
#   terraform-plan.sh ENV
# TF_PLAN_MODE: plan (needs credentials and the backend; environments/ENV/backend.hcl
# is passed to init when present) or validate (default: no backend, no credentials).
# Exit: 0 validated / planned (changes or not), 1 validate or plan failed, 3 no root.
set -euo pipefail
source "$(dirname "$0")/../../scripts/terraform-env.sh"
cd "$ROOT"

env="${1:-}"
if [[ ! "$env" =~ ^[a-z][a-z0-9-]{0,31}$ ]]; then
  echo "usage: $(basename "$0") ENV" >&2
  exit 64
fi
mode="${TF_PLAN_MODE:-validate}"
[[ "$mode" == plan || "$mode" == validate ]] || { echo "error: TF_PLAN_MODE is '$mode': use plan or validate" >&2; exit 64; }
dir="environments/$env"
reports="${REPORTS_DIR:-reports}"
mkdir -p "$reports"
out="$reports/terraform-$env.md"
export TF_DATA_DIR="$ROOT/.run/terraform/pr-$env"
tf() { terraform -chdir="$dir" "$@"; }

summary() {
  tee -a "$out" >>"${GITHUB_STEP_SUMMARY:-/dev/null}"
}

# block TITLE FILE: FILE's text in a collapsed block, cut to what a summary can hold.
block() {
  # shellcheck disable=SC2016 # the backticks are Markdown, not a command
  printf '<details><summary>%s</summary>\n\n```\n%s\n```\n</details>\n\n' "$1" "$(head -c 60000 "$2")"
}

: >"$out"
if ! compgen -G "$dir/*.tf" >/dev/null; then
  echo "### ❌ Terraform $dir: there is no Terraform root here" | summary
  exit 3
fi
log="$TF_DATA_DIR.log"
mkdir -p "$TF_DATA_DIR"

if [[ "$mode" == plan ]]; then
  backend=()
  [[ -f "$dir/backend.hcl" ]] && backend=(-backend-config=backend.hcl)
  init=(init -input=false -no-color -lock=false ${backend[@]+"${backend[@]}"})
else
  init=(init -input=false -no-color -backend=false)
fi
if ! tf "${init[@]}" >"$log" 2>&1; then
  { echo "### ❌ Terraform $dir: init failed"; echo; block "terraform init" "$log"; } | summary
  exit 1
fi
if ! tf validate -no-color >"$log" 2>&1; then
  { echo "### ❌ Terraform $dir: validate failed"; echo; block "terraform validate" "$log"; } | summary
  exit 1
fi
if [[ "$mode" == validate ]]; then
  {
    echo "### ✅ Terraform $dir: valid"
    echo
    echo "No plan: this run has no read-only plan role (repository variable TF_PLAN_ROLE_ARN unset, or a pull request from a fork)."
    echo
  } | summary
  exit 0
fi

set +e
tf plan -lock=false -input=false -no-color -detailed-exitcode -out="$TF_DATA_DIR/tfplan" >"$log" 2>&1
code=$?
set -e
case "$code" in
  0) headline="✅ Terraform $dir: no changes" ;;
  2) headline="📝 Terraform $dir: $(grep -m1 -E '^Plan: ' "$log" || echo 'changes')" ;;
  *)
    { echo "### ❌ Terraform $dir: plan failed"; echo; block "terraform plan" "$log"; } | summary
    exit 1
    ;;
esac
tf show -no-color "$TF_DATA_DIR/tfplan" >"$log.show" 2>&1 || cp "$log" "$log.show"
{ echo "### $headline"; echo; block "terraform plan (-lock=false)" "$log.show"; } | summary

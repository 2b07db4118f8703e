#!/usr/bin/env bash
# The merge pipeline rehearsed on the local cloud (`make pipeline`): the stage scripts
# of .github/workflows/release.yml, in its order, with the deployer aimed at the local
# cloud (DEPLOYER_FLAGS=--local, LOCALCLOUD_ENDPOINT). It stops at the first stage
# that fails and never runs a later one; $REPORTS_DIR/summary.md (default
# reports/summary.md) says which stage stopped and why.
#
# Two stand-ins for what only the real clouds do:
# - approve-prod stands in for the prod environment's required reviewers
#   (PIPELINE_APPROVAL=approve|reject; see approve.sh);
# - before a deploy or promote stage, the environment's deploy role must exist in its
#   account, as IAM would insist when the deployer assumes it (the local cloud does
#   not enforce IAM, so a missing role would otherwise go unnoticed here).
#
# Needs the local cloud running (`make up`) and environments/local applied to it
# (`make tf-local-apply`); `make pipeline` does both first.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The merge workflow's stages, in its order: script and arguments. The end-to-end
# test tests/e2e/tests/pipelines.rs checks this list against release.yml.
STAGES=(
  "package.sh"
  "deploy.sh dev"
  "promote.sh test"
  "approve.sh prod"
  "promote.sh prod"
)

export LOCALCLOUD_ENDPOINT="${LOCALCLOUD_ENDPOINT:-http://127.0.0.1:4566}"
# Always the local cloud: the rehearsal never reaches a real account.
if [[ " ${DEPLOYER_FLAGS:-} " != *" --local "* ]]; then
  DEPLOYER_FLAGS="--local${DEPLOYER_FLAGS:+ $DEPLOYER_FLAGS}"
fi
export DEPLOYER_FLAGS
# This is a rehearsal, not a GitHub job: keep its summary out of any real one.
unset GITHUB_STEP_SUMMARY GITHUB_ACTIONS
export REPORTS_DIR="${REPORTS_DIR:-reports}"
mkdir -p "$REPORTS_DIR"
REPORTS_DIR="$(cd "$REPORTS_DIR" && pwd)"
rm -f "$REPORTS_DIR"/*.json "$REPORTS_DIR"/*.junit.xml "$REPORTS_DIR/summary.md"
summary="$REPORTS_DIR/summary.md"
settings_dir="${DEPLOYER_SETTINGS_DIR:-environments}"

{
  echo "# Pipeline rehearsal on the local cloud"
  echo
  echo "The stages of \`.github/workflows/release.yml\`, in its order, against $LOCALCLOUD_ENDPOINT;"
  echo "\`approve-prod\` stands in for the \`prod\` environment's required reviewers."
  echo
  echo "| Stage | Result | Release | Detail |"
  echo "|---|---|---|---|"
} >"$summary"

stage_name() {
  local script="$1" arg="${2:-}"
  echo "${script%.sh}${arg:+-$arg}"
}

# The stages after index $1, for the summary's "not run" line.
not_run() {
  local i names=()
  for ((i = $1 + 1; i < ${#STAGES[@]}; i++)); do
    read -r -a words <<<"${STAGES[$i]}"
    names+=("$(stage_name "${words[@]}")")
  done
  if ((${#names[@]})); then
    local joined
    joined="$(printf '%s, ' "${names[@]}")"
    printf 'Not run: %s.\n' "${joined%, }" >>"$summary"
  fi
}

stop() {
  local stage="$1" code="$2" detail="$3"
  echo "| $stage | ❌ stopped (exit $code) | - | $detail |" >>"$summary"
  printf '\n**Stopped at %s**: %s. Nothing is promoted further.\n' "$stage" "$detail" >>"$summary"
  echo "error: stopped at $stage: $detail. Nothing is promoted further." >&2
}

# The local stand-in for IAM: the deploy role the deployer will assume in ENV's account
# must exist there (asked of the local cloud's IAM, as ENV's account).
role_exists() {
  local stage="$1" env="$2" file account role
  file="$settings_dir/$env/deployer.yaml"
  [[ -f "$file" ]] || return 0 # the deployer reports an unknown environment itself
  account="$(sed -n 's/^account_id:[[:space:]]*"\{0,1\}\([0-9]\{12\}\)"\{0,1\}.*/\1/p' "$file")"
  role="$(sed -n 's/^deploy_role:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$file")"
  [[ -n "$account" && -n "$role" ]] || return 0 # malformed settings: the deployer names the field
  local name="${role##*/}" status
  status="$(curl -s -o /dev/null -w '%{http_code}' "$LOCALCLOUD_ENDPOINT/" \
    -H "Authorization: AWS4-HMAC-SHA256 Credential=$account/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0" \
    --data-urlencode "Action=GetRole" --data-urlencode "RoleName=$name" --data-urlencode "Version=2010-05-08" || true)"
  case "$status" in
    200) return 0 ;;
    404)
      stop "$stage" 4 "missing role for $env (exit 4): the deploy role $role does not exist in account $account ($file, deploy_role), so the deployer could not assume it; apply the environment's Terraform (\`make tf-local-apply\`) or correct deploy_role"
      return 4
      ;;
    *)
      stop "$stage" 1 "could not check $env's deploy role $role in account $account: the local cloud answered HTTP $status"
      return 1
      ;;
  esac
}

if ! curl -sf -o /dev/null "$LOCALCLOUD_ENDPOINT/_localcloud/health"; then
  stop "preflight" 6 "the local cloud does not answer at $LOCALCLOUD_ENDPOINT: start it with \`make up\` (and apply environments/local with \`make tf-local-apply\`)"
  not_run -1
  exit 6
fi
echo "==> rehearsing the merge pipeline on $LOCALCLOUD_ENDPOINT (reports in $REPORTS_DIR)" >&2

for i in "${!STAGES[@]}"; do
  read -r -a words <<<"${STAGES[$i]}"
  script="${words[0]}"
  args=("${words[@]:1}")
  stage="$(stage_name "${words[@]}")"
  echo >&2
  echo "=== stage $stage: pipelines/scripts/${STAGES[$i]}" >&2
  code=0
  if [[ "$script" == deploy.sh || "$script" == promote.sh ]]; then
    role_exists "$stage" "${args[0]}" || code=$?
  fi
  if ((code == 0)); then
    "pipelines/scripts/$script" ${args[@]+"${args[@]}"} || code=$?
  fi
  if ((code != 0)); then
    not_run "$i"
    echo "==> the rehearsal stopped at $stage (exit $code): see $summary" >&2
    exit "$code"
  fi
done

release="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("release_id") or "")' "$REPORTS_DIR/promote-prod.json" 2>/dev/null || true)"
printf '\n**Done**: release %s went dev -> test -> prod; prod runs it.\n' "${release:-?}" >>"$summary"
echo "==> the rehearsal finished: release ${release:-?} is in prod (summary: $summary)" >&2

#!/usr/bin/env bash
# Stage approve-<env>: the local rehearsal's stand-in for the manual approval before
# ENV (on GitHub, the required reviewers of the environment ENV; in CodePipeline, the
# Manual approval action). The decision comes from PIPELINE_APPROVAL:
#   approve            the pipeline goes on
#   reject             it stops here, with PIPELINE_APPROVAL_REASON in the summary
#   (unset)            asked on the terminal; with no terminal, nobody approved: stop
# PIPELINE_APPROVER names who decided (default: $USER).
#   approve.sh ENV
# Writes $REPORTS_DIR/approve-ENV.json and the stage's verdict; exits 0 when
# approved, 5 (refused) when not.
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || usage "ENV"
env="$1"
check_environment "$env"
stage="approve-$env"
approver="${PIPELINE_APPROVER:-${USER:-unknown}}"
reason="${PIPELINE_APPROVAL_REASON:-}"

# The release waiting for approval: the one the last deploy or promote stage handled.
release=""
last=""
for report in "$REPORTS_DIR"/deploy-*.json "$REPORTS_DIR"/promote-*.json; do
  [[ -f "$report" && "$report" != *.source.json ]] || continue
  if [[ -z "$last" || "$report" -nt "$last" ]]; then last="$report"; fi
done
if [[ -n "$last" ]]; then
  release="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("release_id") or "")' "$last" 2>/dev/null || true)"
fi

decision="${PIPELINE_APPROVAL:-}"
if [[ -z "$decision" && -t 0 && -t 2 ]]; then
  read -r -p "Promote ${release:-the release} to $env? [approve/reject] " decision
  if [[ "$decision" != approve* && -z "$reason" ]]; then
    read -r -p "Why not? " reason
  fi
fi

case "$decision" in
  approve | approved | yes) verdict=approved code=0 ;;
  reject | rejected | no) verdict=rejected code=5 ;;
  "") verdict=missing code=5 ;;
  *)
    echo "error: PIPELINE_APPROVAL is '$decision': use approve or reject" >&2
    verdict=invalid code=64
    ;;
esac

python3 - "$REPORTS_DIR/$stage.json" "$env" "$verdict" "$approver" "$reason" "$release" "$code" <<'PY'
import datetime, json, sys

path, env, verdict, approver, reason, release, code = sys.argv[1:8]
with open(path, "w", encoding="utf-8") as f:
    json.dump(
        {
            "schema": "pipeline.approval/v1",
            "command": "approve",
            "environment": env,
            "release_id": release or None,
            "outcome": verdict,
            "exit_code": int(code),
            "approver": approver,
            "reason": reason or None,
            "decided_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        f,
        indent=2,
    )
    f.write("\n")
PY

R_OUTCOME="$verdict"
case "$verdict" in
  approved) stage_done "$stage" 0 "$release" "approved by $approver${reason:+: $reason}" ;;
  rejected) stage_done "$stage" "$code" "$release" "the promotion to $env was rejected by $approver${reason:+: $reason}" ;;
  missing) stage_done "$stage" "$code" "$release" "nobody approved the promotion to $env (PIPELINE_APPROVAL is not set and there is no terminal to ask on)" ;;
  *) stage_done "$stage" "$code" "$release" "PIPELINE_APPROVAL is '$decision', neither approve nor reject" ;;
esac
exit "$code"

# shellcheck shell=bash
# Sourced by the stage scripts, never run: where things are, how the deployer is
# called, and how a stage's verdict is recorded. GitHub Actions, CodeBuild and the
# local rehearsal all go through here, so they report the same way:
#
#   $REPORTS_DIR/<stage>.json        the deployer's JSON report (deployer.report/v2)
#   $REPORTS_DIR/<stage>.junit.xml   the stage as one JUnit test case (CodeBuild reports)
#   $REPORTS_DIR/summary.md          one row per stage; on failure, which stage stopped
#                                    and why, and that nothing is promoted further
#   $REPORTS_DIR/review-<env>.md     the environment's Well-Architected review (Markdown;
#   $REPORTS_DIR/review-<env>.json   the deployer's JSON report beside it), published
#                                    with a promotion into it (publish_review)
#   $REPORTS_DIR/release-<env>-<release>.html  the release's picture (deployer report):
#                                    after every release that ran, kept with the reports
#   $GITHUB_STEP_SUMMARY             the same verdict, after the deployer's own Markdown
#
# Environment (paths relative to the repository root):
#   DEPLOYER        the deployer binary (default target/debug/deployer, or
#                   $CARGO_TARGET_DIR/debug/deployer)
#   DEPLOYER_FLAGS  global flags for every deployer call: --local (the rehearsal),
#                   --no-assume-role, --verbose, --quiet
#   DIST_DIR        the packaged release (default dist)
#   REPORTS_DIR     where reports go (default reports)
#   DEPLOYER_SETTINGS_DIR  the environments' settings (default environments), read by
#                   the deployer itself

set -euo pipefail

PIPELINE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$PIPELINE_ROOT"
REPORTS_DIR="${REPORTS_DIR:-reports}"
mkdir -p "$REPORTS_DIR"
REPORTS_DIR="$(cd "$REPORTS_DIR" && pwd)"
SUMMARY="$REPORTS_DIR/summary.md"
DIST_DIR="${DIST_DIR:-dist}"
DEPLOYER="${DEPLOYER:-${CARGO_TARGET_DIR:-target}/debug/deployer}"
# shellcheck disable=SC2034 # used by the scripts that source this file
SETTINGS_DIR="${DEPLOYER_SETTINGS_DIR:-environments}"

DEPLOYER_ARGS=()
if [[ -n "${DEPLOYER_FLAGS:-}" ]]; then
  read -r -a DEPLOYER_ARGS <<<"$DEPLOYER_FLAGS"
  for flag in "${DEPLOYER_ARGS[@]}"; do
    case "$flag" in
      --local | --no-assume-role | --verbose | -v | --quiet | -q) ;;
      *)
        echo "error: DEPLOYER_FLAGS: $flag is not passed on to the deployer (allowed: --local --no-assume-role --verbose --quiet)" >&2
        exit 64
        ;;
    esac
  done
fi

usage() {
  echo "usage: $(basename "$0") $*" >&2
  exit 64
}

# An environment name as the deployer's settings know it (environments/<name>/).
check_environment() {
  if [[ ! "${1:-}" =~ ^[a-z][a-z0-9-]{0,31}$ ]]; then
    echo "error: '${1:-}' is not an environment name (a folder under environments/, for example dev)" >&2
    exit 64
  fi
}

# A release id as `deployer package` writes it (r-<12 hex>), loosely.
check_release() {
  if [[ ! "${1:-}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]]; then
    echo "error: '${1:-}' is not a release id (for example r-0123456789ab)" >&2
    exit 64
  fi
}

# What a deployer exit code means for the pipeline, for environment $2.
explain_exit() {
  local code="$1" env="${2:-the environment}"
  case "$code" in
    0) echo "succeeded" ;;
    1) echo "the deployer failed (exit 1)" ;;
    2) echo "the release failed in $env and was rolled back (exit 2)" ;;
    3) echo "bad settings or artifacts (exit 3)" ;;
    4) echo "missing role or credentials for $env (exit 4)" ;;
    5) echo "refused (exit 5)" ;;
    6) echo "$env's infrastructure is missing (exit 6)" ;;
    64) echo "usage error (exit 64)" ;;
    *) echo "exit $code" ;;
  esac
}

ensure_deployer() {
  if [[ ! -f "$DEPLOYER" ]]; then
    echo "error: there is no deployer at $DEPLOYER: build it (scripts/cargo-build.sh) or set DEPLOYER" >&2
    return 1
  fi
  # Artifacts passed between jobs lose the executable bit.
  [[ -x "$DEPLOYER" ]] || chmod +x "$DEPLOYER"
}

# run_deployer REPORT ARGS...: runs the deployer with --output json, its report on
# $REPORTS_DIR/REPORT.json (progress stays on stderr); sets DEPLOYER_CODE.
run_deployer() {
  local report="$REPORTS_DIR/$1.json"
  shift
  echo "==> deployer $*" >&2
  set +e
  "$DEPLOYER" ${DEPLOYER_ARGS[@]+"${DEPLOYER_ARGS[@]}"} --output json --root "$PIPELINE_ROOT" "$@" >"$report"
  DEPLOYER_CODE=$?
  set -e
}

# read_report REPORT: reads $REPORTS_DIR/REPORT.json into R_OUTCOME, R_RELEASE,
# R_MESSAGE (one line) and R_SOAK_WAIT (seconds until a soak refusal clears, or
# empty), from the report's typed fields (`refusal.kind`, `refusal.retry_after_ms`),
# never from its prose. Under GitHub Actions the deployer follows its JSON with `::error` lines on
# stdout; they are dropped here so the file stays one JSON document (the stage writes
# its own annotation).
read_report() {
  local fields
  fields="$(python3 - "$REPORTS_DIR/$1.json" <<'PY'
import json, math, sys, time

path = sys.argv[1]
try:
    text = open(path, encoding="utf-8", errors="replace").read()
except OSError:
    text = ""
body = "\n".join(l for l in text.splitlines() if not l.startswith("::"))
try:
    report = json.loads(body)
except ValueError:
    report = None
if report is None:
    print("\n\n\n")
    sys.exit(0)
with open(path, "w", encoding="utf-8") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
message = report.get("message") or ""
wait = ""
refusal = report.get("refusal") or {}
if refusal.get("kind") == "not_soaked" and isinstance(refusal.get("retry_after_ms"), int):
    wait = str(max(1, math.ceil((refusal["retry_after_ms"] - time.time() * 1000) / 1000) + 1))
if not message and report.get("functions"):
    # A release's report carries no message when all went well: say what changed.
    changed, unchanged = [], []
    for f in report["functions"]:
        before, after = f.get("previous_version"), f.get("version")
        if after and after != before:
            changed.append(f"{f.get('name')} {before or '-'} -> {after}")
        else:
            unchanged.append(str(f.get("name")))
    parts = [", ".join(changed)] if changed else []
    if unchanged:
        parts.append("unchanged: " + ", ".join(unchanged))
    source = report.get("source_environment")
    message = (f"from {source}: " if source else "") + "; ".join(parts)
    message += f" ({report.get('duration_ms', 0) / 1000:.1f}s)"
flat = " ".join(line.strip() for line in message.splitlines() if line.strip())
print(report.get("outcome") or "")
print(report.get("release_id") or "")
print(flat)
print(wait)
PY
)"
  # shellcheck disable=SC2034 # read by the scripts that source this file
  {
    IFS= read -r R_OUTCOME || true
    IFS= read -r R_RELEASE || true
    IFS= read -r R_MESSAGE || true
    IFS= read -r R_SOAK_WAIT || true
  } <<<"$fields"
}

summary_header() {
  [[ -s "$SUMMARY" ]] && return 0
  {
    echo "# Pipeline summary"
    echo
    echo "| Stage | Result | Release | Detail |"
    echo "|---|---|---|---|"
  } >"$SUMMARY"
}

md_cell() {
  local text="${1//|/\\|}"
  echo "${text//$'\n'/<br>}"
}

# junit STAGE CODE DETAIL: the stage as one JUnit test case, for CodeBuild's report
# groups (a failure carries the reason).
junit() {
  python3 - "$REPORTS_DIR/$1.junit.xml" "$1" "$2" "$3" <<'PY'
import sys
from xml.sax.saxutils import quoteattr, escape

path, stage, code, detail = sys.argv[1:5]
failed = code != "0"
case = f'  <testcase classname="pipeline" name={quoteattr(stage)}>'
if failed:
    case += f"\n    <failure message={quoteattr(detail)}>{escape(detail)}</failure>\n  </testcase>"
else:
    case += "</testcase>"
with open(path, "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    f.write(f'<testsuite name="pipeline" tests="1" failures="{int(failed)}">\n{case}\n</testsuite>\n')
PY
}

# stage_done STAGE CODE RELEASE DETAIL: records the verdict of a stage. CODE 0 is a
# success; anything else stops the pipeline here, and the summary says so.
stage_done() {
  local stage="$1" code="$2" release="${3:-}" detail="${4:-}" result
  summary_header
  if [[ "$code" == 0 ]]; then
    result="✅ ${R_OUTCOME:-succeeded}"
  else
    result="❌ stopped (exit $code)"
  fi
  echo "| $stage | $result | ${release:--} | $(md_cell "$detail") |" >>"$SUMMARY"
  junit "$stage" "$code" "$detail"
  if [[ "$code" == 0 ]]; then
    echo "==> $stage: ${R_OUTCOME:-succeeded}${release:+ ($release)}${detail:+: $detail}" >&2
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
      echo "**$stage**: ✅ ${R_OUTCOME:-succeeded}${release:+ \`$release\`}" >>"$GITHUB_STEP_SUMMARY"
    fi
    return 0
  fi
  local stop="Stopped at $stage: $detail. Nothing is promoted further."
  printf '\n**Stopped at %s**: %s. Nothing is promoted further.\n' "$stage" "$(md_cell "$detail")" >>"$SUMMARY"
  echo "error: $stop" >&2
  if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    printf '\n**Stopped at %s** (exit %s): %s. Nothing is promoted further.\n' "$stage" "$code" "$(md_cell "$detail")" >>"$GITHUB_STEP_SUMMARY"
  fi
  if [[ -n "${GITHUB_ACTIONS:-}" ]]; then
    local annotation="${stop//%/%25}"
    echo "::error title=Stopped at $stage::${annotation}"
  fi
}

# deployer_stage STAGE ENV ARGS...: one deployer call as a whole stage: run it, read
# its report, record the verdict. Returns the deployer's exit code.
deployer_stage() {
  local stage="$1" env="$2"
  shift 2
  if ! ensure_deployer; then
    R_OUTCOME=""
    stage_done "$stage" 1 "" "there is no deployer at $DEPLOYER"
    return 1
  fi
  run_deployer "$stage" "$@"
  read_report "$stage"
  deployer_verdict "$stage" "$env" "$DEPLOYER_CODE"
  return "$DEPLOYER_CODE"
}

# deployer_verdict STAGE ENV CODE: records the verdict of the report just read.
deployer_verdict() {
  local stage="$1" env="$2" code="$3" detail
  if [[ "$code" == 0 ]]; then
    detail="$R_MESSAGE"
  else
    detail="$(explain_exit "$code" "$env")"
    if [[ -n "$R_MESSAGE" ]]; then
      detail="$detail: $R_MESSAGE"
    elif [[ -z "$R_OUTCOME" ]]; then
      detail="$detail: the deployer printed no report (see the log above)"
    fi
  fi
  stage_done "$stage" "$code" "$R_RELEASE" "$detail"
}

# publish_release_report ENV: after a release that ran in ENV (the report just read
# names it), its picture (deployer report) as $REPORTS_DIR/release-ENV-RELEASE.html and
# a line of the summary. A picture that cannot be made is a warning.
publish_release_report() {
  local env="$1" release="$R_RELEASE" code="$DEPLOYER_CODE" html
  [[ -n "$release" ]] || return 0
  html="$REPORTS_DIR/release-$env-$release.html"
  run_deployer "report-$env" report "$release" --env "$env" --html "$html"
  summary_header
  if [[ "$DEPLOYER_CODE" == 0 ]]; then
    printf '\n**Release picture of %s in %s**: `release-%s-%s.html` (kept with the reports).\n' "$release" "$env" "$env" "$release" >>"$SUMMARY"
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
      printf '\n**Release picture**: `%s` in the job'"'"'s reports artifact.\n' "$(basename "$html")" >>"$GITHUB_STEP_SUMMARY"
    fi
  else
    echo "warning: the picture of $release in $env could not be made (exit $DEPLOYER_CODE)" >&2
  fi
  DEPLOYER_CODE="$code"
  return 0
}

# publish_review ENV: the Well-Architected review of ENV (deployer review), as
# $REPORTS_DIR/review-ENV.md and review-ENV.json, a line of the summary and, under
# GitHub Actions, the job summary (the deployer appends its Markdown there). A review
# that cannot be made is a warning: the stage's verdict is the release's.
publish_review() {
  local env="$1" markdown="$REPORTS_DIR/review-$1.md" score
  ensure_deployer || return 0
  run_deployer "review-$env" review --env "$env" --markdown "$markdown"
  score="$(python3 - "$REPORTS_DIR/review-$env.json" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
body = "\n".join(l for l in text.splitlines() if not l.startswith("::"))
try:
    report = json.loads(body)
except ValueError:
    print("")
    sys.exit(0)
items = [i for q in (report.get("review") or {}).get("questions", []) for i in q.get("items", [])]
ticked = sum(1 for i in items if i.get("ticked"))
unmet = [i["practice"] for i in items if i.get("level") == "Required" and not i.get("ticked")]
line = f"{ticked} of {len(items)} practices met"
if unmet:
    line += "; Required and not met: " + "; ".join(unmet)
print(line)
PY
)"
  summary_header
  if [[ "$DEPLOYER_CODE" == 0 && -n "$score" ]]; then
    printf '\n**Well-Architected review of %s**: %s (`review-%s.md`).\n' "$env" "$(md_cell "$score")" "$env" >>"$SUMMARY"
    echo "==> review-$env: $score ($markdown)" >&2
  else
    printf '\n**Well-Architected review of %s**: not made (exit %s); see the log.\n' "$env" "$DEPLOYER_CODE" >>"$SUMMARY"
    echo "warning: the Well-Architected review of $env could not be made (exit $DEPLOYER_CODE)" >&2
  fi
  return 0
}

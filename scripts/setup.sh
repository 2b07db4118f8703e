#!/usr/bin/env bash
# One set-up path for a fresh machine: the Python venv with the pinned emulator and
# linters, then the Rust build. Idempotent: a second run with nothing changed is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "setup: error: $*" >&2; exit 4; }

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null 2>&1 ||
  die "no '$PYTHON' on PATH. Install Python >= 3.10 with venv (Debian: apt-get install python3 python3-venv), or point PYTHON=/path/to/python3 at one."
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
  die "$("$PYTHON" --version 2>&1) is too old: ministack needs Python >= 3.10."
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null ||
  die "'$PYTHON' lacks the venv module (Debian: apt-get install python3-venv)."

# (Re)build a venv only when its pins change or it is broken: a second run is quick.
make_venv() {
  local dir="$1" pins="$2" probe="$3" stamp want
  stamp="$dir/.pins.sha256"
  want="$(sha256sum "$pins" | cut -d' ' -f1)"
  if [[ -x "$dir/bin/python" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]] && "$dir/bin/python" -c "$probe" 2>/dev/null; then
    return
  fi
  echo "setup: creating $dir from $pins"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$pins" ||
    die "pip could not install $pins into $dir (is PyPI reachable?)"
  echo "$want" > "$stamp"
}
make_venv .venv requirements/localcloud.txt 'import ministack'
make_venv .venv-tools requirements/tools.txt 'import checkov'

# A real browser for the release report's test (deployer report writes HTML):
# Debian's Chromium, when it is not on the machine yet.
if ! command -v chromium >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium (the release report's browser test)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >/dev/null ||
      die "apt-get could not install chromium (are Debian's package mirrors reachable?)"
  else
    echo "setup: warning: no chromium, and no root to install it (Debian: apt-get install chromium): the release report's browser test will fail" >&2
  fi
fi

command -v cargo >/dev/null 2>&1 || die "no cargo on PATH: this project builds with the machine's Rust toolchain."
echo "setup: building the workspace (debug profile, shared target folder)"
scripts/cargo-build.sh
echo "setup: done"

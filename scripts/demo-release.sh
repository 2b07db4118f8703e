#!/usr/bin/env bash
# Packages a demo release into $1 from the built binaries, with MARKER appended to each
# (an ELF ignores trailing bytes: the programs behave the same, the bytes differ, so
# it is a new release). Extra NAME=BINARY arguments replace an artifact's binary, e.g.
# extract=fixture-extract-live-fails for a release that breaks under real traffic.
set -euo pipefail
cd "$(dirname "$0")/.."
dist="$1" marker="$2"
shift 2
target="${CARGO_TARGET_DIR:-target}/debug"
bins="$dist/bins"
mkdir -p "$bins"
declare -A replace=()
for pair in "$@"; do replace["${pair%%=*}"]="${pair#*=}"; done
for name in extract transform load compensate pre-traffic post-traffic; do
  cp "$target/${replace[$name]:-$name}" "$bins/$name"
  printf '\nrelease-marker:%s\n' "$marker" >>"$bins/$name"
done
"$target/deployer" --quiet package --no-build --bin-dir "$bins" --dist "$dist" --root . >/dev/null

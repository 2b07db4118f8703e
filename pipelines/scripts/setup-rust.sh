#!/usr/bin/env bash
# CI set-up, not a stage (the `setup` composite action; CodeBuild's install phase):
#   setup-rust.sh toolchain   the Rust toolchain RUST_TOOLCHAIN (default 1.95.0, the
#                             one the workspace is developed with) with rustfmt and
#                             clippy, made the default; rustup itself when missing
#                             (CodeBuild's standard images), from rustup.rs
#   setup-rust.sh nextest     cargo-nextest NEXTEST_VERSION (default 0.9.143), unless
#                             the build cache already restored it
#   setup-rust.sh lambda      what `deployer package --release` builds with: the arm64
#                             Rust target, and cargo-lambda with zig at the versions
#                             requirements/tools.txt pins, in a venv put on PATH
#                             ($LAMBDA_TOOLS_DIR, default ~/.lambda-tools)
set -euo pipefail

case "${1:-}" in
  toolchain)
    toolchain="${RUST_TOOLCHAIN:-1.95.0}"
    if [[ ! "$toolchain" =~ ^(stable|[0-9]+\.[0-9]+(\.[0-9]+)?)$ ]]; then
      echo "error: RUST_TOOLCHAIN '$toolchain' is not stable or a version such as 1.95.0" >&2
      exit 64
    fi
    if ! command -v rustup >/dev/null 2>&1; then
      echo "==> installing rustup (https://sh.rustup.rs)" >&2
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --no-modify-path --profile minimal --default-toolchain none
      export PATH="$HOME/.cargo/bin:$PATH"
      [[ -z "${GITHUB_PATH:-}" ]] || echo "$HOME/.cargo/bin" >>"$GITHUB_PATH"
    fi
    rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy --no-self-update
    rustup default "$toolchain"
    rustc --version
    ;;
  nextest)
    version="${NEXTEST_VERSION:-0.9.143}"
    if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
      echo "error: NEXTEST_VERSION '$version' is not a version such as 0.9.143" >&2
      exit 64
    fi
    if cargo nextest --version 2>/dev/null | grep -q "^cargo-nextest $version "; then
      echo "cargo-nextest $version is installed" >&2
    else
      cargo install --locked cargo-nextest --version "$version"
    fi
    ;;
  lambda)
    rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu
    tools="${LAMBDA_TOOLS_DIR:-$HOME/.lambda-tools}"
    pins="$(grep -E '^(cargo-lambda|ziglang)==' "$(dirname "$0")/../../requirements/tools.txt")"
    [[ "$(wc -l <<<"$pins")" == 2 ]] || { echo "error: requirements/tools.txt must pin cargo-lambda and ziglang" >&2; exit 1; }
    python3 -m venv "$tools"
    # shellcheck disable=SC2086 # one pin per word
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check $pins
    [[ -z "${GITHUB_PATH:-}" ]] || echo "$tools/bin" >>"$GITHUB_PATH"
    "$tools/bin/cargo-lambda" lambda --version
    ;;
  *)
    echo "usage: $(basename "$0") toolchain|nextest|lambda" >&2
    exit 64
    ;;
esac

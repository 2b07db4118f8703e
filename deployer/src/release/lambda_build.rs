//! Release artifacts built the way the Rust Lambda ecosystem builds them: cargo-lambda
//! (its PyPI wheel carries the binary; zig, from the `ziglang` wheel, is the linker),
//! release profile, stripped, per architecture, linked against glibc 2.34, the
//! `provided.al2023` runtime's. A binary built on the host's newer glibc would fail on
//! Lambda with `GLIBC_2.xx not found` (aws-lambda-rust-runtime#932).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{DeployError, Result};
use crate::settings::Architecture;

/// The newest glibc the builds may use: `provided.al2023`'s.
pub const GLIBC_TARGET: &str = "2.34";

/// The Rust target (with cargo-zigbuild's glibc suffix) of an architecture.
pub fn target_triple(arch: Architecture) -> String {
    let base = match arch {
        Architecture::X86_64 => "x86_64-unknown-linux-gnu",
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
    };
    format!("{base}.{GLIBC_TARGET}")
}

/// Where cargo-lambda puts `bin`'s bootstrap for `arch` under `lambda_dir`.
pub fn bootstrap_path(lambda_dir: &Path, arch: Architecture, bin: &str) -> PathBuf {
    lambda_dir.join(arch.as_str()).join(bin).join("bootstrap")
}

/// Builds every cargo binary of `bins` (binary -> architecture) with cargo-lambda,
/// one run per architecture, into `lambda_dir/<arch>/<bin>/bootstrap`.
pub fn build(root: &Path, lambda_dir: &Path, bins: &BTreeMap<String, Architecture>) -> Result<()> {
    let mut by_arch: BTreeMap<Architecture, Vec<&str>> = BTreeMap::new();
    for (bin, arch) in bins {
        by_arch.entry(*arch).or_default().push(bin);
    }
    let path = search_path(root);
    for (arch, names) in by_arch {
        let mut command = Command::new("cargo-lambda");
        command
            .current_dir(root)
            .env("PATH", &path)
            .args(["lambda", "build", "--release", "--locked", "--target", &target_triple(arch), "--lambda-dir"])
            .arg(lambda_dir.join(arch.as_str()));
        for name in &names {
            command.args(["--bin", name]);
        }
        let status = command.status().map_err(|e| {
            DeployError::artifact(
                Path::new("cargo-lambda"),
                format!("cannot run cargo-lambda: {e}"),
                "run `make setup` (it installs cargo-lambda and zig into .venv-tools), or `pip install cargo-lambda ziglang`",
            )
        })?;
        if !status.success() {
            return Err(DeployError::artifact(
                Path::new("cargo-lambda"),
                format!("the release build of {} for {arch} failed ({status})", names.join(", ")),
                format!(
                    "see cargo-lambda's output above; for arm64 the Rust target must be installed (`rustup target add {}`)",
                    target_triple(arch).trim_end_matches(&format!(".{GLIBC_TARGET}"))
                ),
            ));
        }
    }
    Ok(())
}

/// PATH with the repository's tool venv first, where `make setup` installs
/// cargo-lambda and the Python that carries zig.
fn search_path(root: &Path) -> std::ffi::OsString {
    let venv = root.join(".venv-tools").join("bin");
    let mut parts: Vec<PathBuf> = Vec::new();
    if venv.is_dir() {
        parts.push(venv);
    }
    parts.extend(std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default());
    std::env::join_paths(parts).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_pin_the_runtimes_glibc() {
        assert_eq!(target_triple(Architecture::X86_64), "x86_64-unknown-linux-gnu.2.34");
        assert_eq!(target_triple(Architecture::Arm64), "aarch64-unknown-linux-gnu.2.34");
        assert_eq!(
            bootstrap_path(Path::new("target/lambda"), Architecture::Arm64, "extract"),
            Path::new("target/lambda/arm64/extract/bootstrap")
        );
    }
}

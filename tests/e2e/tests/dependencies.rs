//! The dependency review's policy bites: cargo-deny, as `make test` runs it (offline,
//! licenses, bans and sources), fails the workspace under a deny.toml that leaves out
//! a license its crates use, or bans one of its crates, naming the crate. (The
//! workspace passing under the real deny.toml is scripts/test.sh's own step.)

use std::path::PathBuf;
use std::process::{Command, Output};

use anyhow::{ensure, Context, Result};
use localcloud::testing::workspace_root;

/// The cargo-deny `make setup` installs into `.venv-tools` (requirements/tools.txt).
fn cargo_deny() -> Result<PathBuf> {
    let bin = workspace_root().join(".venv-tools").join("bin").join("cargo-deny");
    ensure!(bin.is_file(), "{} is missing: run `make setup`", bin.display());
    Ok(bin)
}

/// cargo-deny's offline check of the workspace under the repository's deny.toml with
/// `edit` applied to its text.
fn check_with(edit: impl Fn(&str) -> String) -> Result<Output> {
    let root = workspace_root();
    let policy = std::fs::read_to_string(root.join("deny.toml")).context("reading deny.toml")?;
    let edited = edit(&policy);
    ensure!(edited != policy, "the edit changed nothing in deny.toml");
    let dir = e2e::scratch_dir("dependency-review")?;
    let config = dir.join("deny.toml");
    std::fs::write(&config, edited)?;
    let out = Command::new(cargo_deny()?)
        .arg("--config")
        .arg(&config)
        .args(["--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .args(["--color", "never", "--offline", "--locked", "check", "licenses", "bans", "sources"])
        .output()
        .context("running cargo-deny")?;
    Ok(out)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_license_left_out_of_the_policy_fails_the_review() -> Result<()> {
    // Unicode-3.0 is the license of the ICU crates behind url / idna.
    let out = check_with(|p| p.replace("  \"Unicode-3.0\",\n", ""))?;
    let log = text(&out);
    ensure!(!out.status.success(), "cargo-deny passed without Unicode-3.0 allowed:\n{log}");
    ensure!(
        log.contains("failed to satisfy license requirements") && log.contains("Unicode-3.0"),
        "cargo-deny does not name the license:\n{log}"
    );
    ensure!(log.contains("licenses FAILED"), "{log}");
    Ok(())
}

#[test]
fn a_banned_crate_fails_the_review_naming_it() -> Result<()> {
    // serde_yaml is a direct dependency of the deployer.
    let out = check_with(|p| {
        p.replace("deny = [\n", "deny = [\n  { crate = \"serde_yaml\", reason = \"the test bans it\" },\n")
    })?;
    let log = text(&out);
    ensure!(!out.status.success(), "cargo-deny passed with serde_yaml banned:\n{log}");
    ensure!(log.contains("serde_yaml") && log.contains("bans FAILED"), "cargo-deny does not name the crate:\n{log}");
    Ok(())
}

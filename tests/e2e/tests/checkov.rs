//! Checkov over every Terraform module and environment root: zero failed checks. The
//! few skips are in place (`#checkov:skip=CKV_...: reason`) next to what they excuse,
//! so a new finding fails here with the check, the resource and the file to fix.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use localcloud::testing::workspace_root;
use serde_json::Value;

/// The linter `make setup` installs into `.venv-tools`.
fn checkov_bin() -> PathBuf {
    workspace_root().join(".venv-tools").join("bin").join("checkov")
}

/// Checkov's failed checks in `dir`, one line each.
fn failed_checks(dir: &Path) -> Result<(u64, Vec<String>)> {
    let bin = checkov_bin();
    ensure!(bin.is_file(), "{} is missing: run `make setup`", bin.display());
    let out = Command::new(&bin)
        .arg("-d")
        .arg(dir)
        .args(["--quiet", "--compact", "--framework", "terraform", "--output", "json"])
        // Local modules only, and nothing fetched from Prisma Cloud.
        .args(["--download-external-modules", "false", "--skip-download"])
        .current_dir(workspace_root())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_str(stdout.trim()).with_context(|| {
        format!("checkov printed no JSON report for {}\nstdout: {stdout}\nstderr: {stderr}", dir.display())
    })?;
    // One report per framework run: an object, or a list of them.
    let reports = match report {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut passed = 0;
    let mut failures = Vec::new();
    for r in &reports {
        let Some(summary) = r.get("summary") else {
            bail!("checkov report without a summary for {}: {r}", dir.display());
        };
        passed += summary["passed"].as_u64().unwrap_or(0);
        ensure!(
            summary["parsing_errors"].as_u64().unwrap_or(0) == 0,
            "checkov could not parse some files in {}: {summary}",
            dir.display()
        );
        for f in r["results"]["failed_checks"].as_array().into_iter().flatten() {
            let lines = f["file_line_range"].as_array().map_or_else(String::new, |l| {
                format!(
                    ":{}-{}",
                    l.first().and_then(Value::as_u64).unwrap_or(0),
                    l.last().and_then(Value::as_u64).unwrap_or(0)
                )
            });
            failures.push(format!(
                "{} {} on {} ({}{lines})",
                f["check_id"].as_str().unwrap_or("?"),
                f["check_name"].as_str().unwrap_or(""),
                f["resource"].as_str().unwrap_or("?"),
                f["file_path"].as_str().unwrap_or("?"),
            ));
        }
    }
    Ok((passed, failures))
}

fn assert_clean(folder: &str) -> Result<()> {
    let dir = workspace_root().join(folder);
    let (passed, failures) = failed_checks(&dir)?;
    ensure!(
        failures.is_empty(),
        "checkov: {} failed check(s) in {folder}/ (fix it, or skip it in place with `#checkov:skip=CKV_...: the reason`):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    ensure!(passed > 0, "checkov checked nothing in {folder}/: is the folder empty?");
    Ok(())
}

#[test]
fn terraform_modules_pass_checkov() -> Result<()> {
    assert_clean("terraform/modules")
}

#[test]
fn environment_roots_pass_checkov() -> Result<()> {
    assert_clean("environments")
}

//! tf-local.sh's diagnosis of a failed action: the AWS provider's debug log, digested.

use std::path::Path;

use anyhow::{ensure, Result};
use localcloud::testing::{python_unit_tests, workspace_root, LocalCloud};

#[test]
fn the_provider_log_digest_passes_its_unit_tests() -> Result<()> {
    python_unit_tests(Path::new("python3"), &workspace_root().join("scripts"), "test_tf_provider_log.py")
        .map_err(|report| anyhow::anyhow!("the digest's unit tests failed, or none ran:\n{report}"))?;
    Ok(())
}

/// A plan-check before any apply fails (the plan wants every resource), and the failure
/// carries the digest of the calls the provider made in this run.
#[test]
fn a_failed_action_prints_what_the_providers_calls_did() -> Result<()> {
    let cloud = LocalCloud::start("tf-local")?;
    let dir = e2e::scratch_dir("tf-local")?;
    let out = e2e::script_command(&cloud.endpoint(), &dir, "tf-local.sh").arg("plan-check").output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(1), "plan-check before apply must fail: {:?}\n{stderr}", out.status);
    let digest =
        stderr.lines().skip_while(|l| !l.starts_with("tf-local: the AWS provider's calls")).nth(1).unwrap_or_default();
    let calls: u32 = digest.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    ensure!(
        calls > 0 && digest.ends_with("0 went wrong on the wire"),
        "expected the digest of this run's calls, none gone wrong:\n{stderr}"
    );
    ensure!(std::fs::metadata(dir.join("provider.log"))?.len() > 0, "the debug log is kept in the test's folder");
    Ok(())
}

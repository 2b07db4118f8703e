//! Helpers for end-to-end tests on the local cloud: SDK configuration per account,
//! the fixture functions' shared runtime, and zipping a `bootstrap` for Lambda.

pub mod browser;
pub mod deployer;
pub mod fixture;
pub mod inbox;
pub mod lambda;
pub mod releases;
pub mod review;
pub mod workflow;

use std::path::{Path, PathBuf};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub const REGION: &str = "us-east-1";
pub const DEV: &str = "111111111111";
pub const TEST: &str = "222222222222";
pub const PROD: &str = "333333333333";
pub const TOOLING: &str = "444444444444";

/// A folder for this test process's files, `.run/tests/<name>-<pid>`, created empty.
/// The folders earlier runs of the same test left behind (their process has ended)
/// are removed first: a release of debug binaries is hundreds of megabytes, and
/// repeated runs would otherwise pile them up. The newest run's files stay until the
/// test runs again, to look into a failure.
pub fn scratch_dir(name: &str) -> anyhow::Result<PathBuf> {
    let parent = localcloud::testing::workspace_root().join(".run").join("tests");
    let prefix = format!("{name}-");
    for entry in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
        let file_name = entry.file_name();
        let pid = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = parent.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

/// `scripts/<name>` aimed at the test's own local cloud, with its Terraform state in
/// `dir/state` and the AWS provider's debug log in `dir/provider.log`: when an apply
/// fails, tf-local.sh prints the calls that went wrong on the wire, which the test's
/// failure then shows (the folder itself may be gone by the time anyone looks).
pub fn script_command(endpoint: &str, dir: &Path, name: &str) -> std::process::Command {
    let mut command = std::process::Command::new(localcloud::testing::workspace_root().join("scripts").join(name));
    command
        .env("LOCALCLOUD_ENDPOINT", endpoint)
        .env("TF_LOCAL_STATE_DIR", dir.join("state"))
        .env("TF_LOCAL_PROVIDER_LOG", dir.join("provider.log"));
    command
}

/// tf-local.sh's exit status when the AWS provider lost the reply to a create it had
/// made (see scripts/tf_provider_log.py).
pub const TF_LOCAL_LOST_REPLY: i32 = 75;

/// Applies environments/local to `cloud` with `apply` (which runs `tf-local.sh apply`
/// aimed at it, its state in `dir/state`), and returns its output.
///
/// Once only, and only when tf-local.sh shows from the provider's own log that a
/// create's reply was lost (exit 75), the cloud is emptied and the apply runs again.
/// The provider's Go HTTP client reads localcloud's complete answer, closes the
/// connection and retries, and the retry meets what the first request made; measured
/// with strace on the provider, it is the client's doing, not a fault of the cloud,
/// and no second apply can succeed while the cloud holds what the state lacks. Any
/// other failure, or a second lost reply, fails the test.
pub fn apply_environments_local(
    cloud: &localcloud::testing::LocalCloud,
    dir: &Path,
    apply: impl Fn() -> std::process::Output,
) -> anyhow::Result<String> {
    let first = apply();
    if first.status.code() != Some(TF_LOCAL_LOST_REPLY) {
        return succeeded("tf-local.sh apply", &first);
    }
    eprintln!(
        "tf-local.sh apply: the provider lost a create's reply; applying again on an emptied cloud:\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    cloud.reset()?;
    for file in ["terraform.tfstate", "terraform.tfstate.backup"] {
        let _ = std::fs::remove_file(dir.join("state").join(file));
    }
    succeeded("tf-local.sh apply (again, after a lost reply)", &apply())
}

/// SDK configuration for `account` on the local cloud: as on ministack, a 12-digit
/// access key id names the account.
pub async fn account_config(endpoint: &str, account: &str) -> SdkConfig {
    config_with(endpoint, Credentials::new(account, "localcloud-secret", None, None, "localcloud-account")).await
}

/// SDK configuration for a test's own reads in `account`, which observe what the
/// deployer did, also while the cloud injects faults: ten attempts and no retry quota,
/// as the deployer's own clients, so that a read does not fail where the deployer's
/// rode through (with the SDK's default three attempts, one read in about 150 fails
/// under deployer_faults' mix).
pub async fn observer_config(endpoint: &str, account: &str) -> SdkConfig {
    account_config(endpoint, account)
        .await
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(10))
        .build()
}

pub async fn config_with(endpoint: &str, credentials: Credentials) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await
}

/// A Lambda deployment package holding `binary` as an executable `bootstrap`, zipped
/// the way `deployer package` zips (the same binary always gives the same bytes).
pub fn bootstrap_zip(binary: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(binary).map_err(|e| anyhow::anyhow!("reading {}: {e}", binary.display()))?;
    Ok(::deployer::release::zip_bootstrap(&bytes)?)
}

/// Lambda's CodeSha256: base64 of the package's SHA-256.
pub fn code_sha256(package: &[u8]) -> String {
    ::deployer::release::code_sha256(package)
}

/// The command's stdout when it succeeded, or an error with both streams.
pub fn succeeded(what: &str, output: &std::process::Output) -> anyhow::Result<String> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "{what} failed ({:?}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

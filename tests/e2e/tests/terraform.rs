//! Terraform quality gates and the local environment applied for real on a private
//! local cloud, through the same script `make demo` uses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{ensure, Context, Result};
use e2e::{account_config, succeeded};
use localcloud::testing::{workspace_root, LocalCloud};

/// One plugin cache per test process: each `terraform init` links the 700 MB provider
/// from it instead of copying it into its data folder (a test inits up to a dozen
/// folders, one after the other, so the cache is never written by two at once).
fn plugin_cache() -> &'static Path {
    static CACHE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| e2e::scratch_dir("tf-plugin-cache").expect("a plugin cache folder"))
}

/// Terraform in `dir` with the repository's CLI configuration and `data_dir`.
fn terraform_command(dir: &Path, data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(r#"source "$1/scripts/terraform-env.sh" && shift && terraform "$@""#)
        .arg("terraform")
        .arg(workspace_root())
        .arg(format!("-chdir={}", dir.display()))
        .args(args)
        .env("TF_DATA_DIR", data_dir)
        .env("TF_PLUGIN_CACHE_DIR", plugin_cache())
        // Modules keep no lock file; linking from the cache is still the same provider.
        .env("TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE", "true");
    command
}

fn terraform(dir: &Path, data_dir: &Path, args: &[&str]) -> Output {
    terraform_command(dir, data_dir, args).output().expect("running terraform")
}

/// Every Terraform root and module: folders with .tf files under terraform/modules,
/// terraform/modules/*/examples and environments.
fn terraform_dirs() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut dirs = Vec::new();
    let mut stack = vec![root.join("terraform").join("modules"), root.join("environments")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut has_tf = false;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() && !name.to_string_lossy().starts_with('.') && name != "tests" {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            dirs.push(dir);
        }
    }
    dirs.sort();
    dirs
}

#[test]
fn terraform_files_are_formatted() -> Result<()> {
    let root = workspace_root();
    let data = tempdir("fmt")?;
    for dir in ["terraform", "environments", "tests/e2e/terraform"] {
        let out = terraform(&root.join(dir), &data, &["fmt", "-check", "-recursive", "-diff"]);
        succeeded(&format!("terraform fmt -check in {dir}/ (fix: terraform fmt -recursive {dir})"), &out)?;
    }
    Ok(())
}

#[test]
fn every_root_and_module_validates() -> Result<()> {
    let dirs = terraform_dirs();
    assert!(dirs.iter().any(|d| d.ends_with("environments/local")), "found the roots: {dirs:?}");
    for dir in dirs {
        let data = tempdir(&format!("validate-{}", dir.file_name().unwrap_or_default().to_string_lossy()))?;
        succeeded(
            &format!("terraform init in {}", dir.display()),
            &terraform(&dir, &data, &["init", "-backend=false", "-input=false", "-no-color"]),
        )?;
        succeeded(
            &format!("terraform validate in {}", dir.display()),
            &terraform(&dir, &data, &["validate", "-no-color"]),
        )?;
    }
    Ok(())
}

/// Every module and every environment root with a tests/ folder.
#[test]
fn every_module_and_root_with_tests_passes_terraform_test() -> Result<()> {
    let modules = workspace_root().join("terraform").join("modules");
    let roots = workspace_root().join("environments");
    let mut tested = 0;
    let entries = std::fs::read_dir(&modules)?.chain(std::fs::read_dir(&roots)?).flatten();
    for entry in entries {
        let dir = entry.path();
        if !dir.join("tests").is_dir() {
            continue;
        }
        let kind = if dir.starts_with(&roots) { "root" } else { "module" };
        let name = format!("{kind}-{}", entry.file_name().to_string_lossy());
        let data = tempdir(&format!("test-{name}"))?;
        succeeded(
            &format!("terraform init in {}", dir.display()),
            &terraform(&dir, &data, &["init", "-backend=false", "-input=false", "-no-color"]),
        )?;
        let out = succeeded(
            &format!("terraform test in {}", dir.display()),
            &terraform(&dir, &data, &["test", "-no-color"]),
        )?;
        ensure!(out.contains("0 failed"), "{name}: {out}");
        tested += 1;
    }
    ensure!(tested >= 10, "only {tested} modules and roots with tests: six modules and four roots have them");
    Ok(())
}

/// Every function and hook is created from the placeholder its module carries (the
/// deployer ships the real code): a zip holding exactly the module's
/// `placeholder/bootstrap` script as an executable `bootstrap`, the same in both modules.
#[test]
fn the_placeholder_packages_hold_their_bootstrap_script() -> Result<()> {
    use std::io::Read;

    let modules = workspace_root().join("terraform").join("modules");
    let mut scripts = Vec::new();
    for module in ["etl-workflow", "traffic-shifting"] {
        let dir = modules.join(module).join("placeholder");
        let script = std::fs::read(dir.join("bootstrap")).with_context(|| format!("{module}/placeholder/bootstrap"))?;
        let mut zip = zip::ZipArchive::new(std::fs::File::open(dir.join("bootstrap.zip"))?)?;
        ensure!(zip.len() == 1, "{module}/placeholder/bootstrap.zip holds {} entries, not one", zip.len());
        let mut entry = zip.by_index(0)?;
        ensure!(entry.name() == "bootstrap", "{module}: the entry is {}, not bootstrap", entry.name());
        ensure!(
            entry.unix_mode().map(|m| m & 0o777) == Some(0o755),
            "{module}: bootstrap is not executable ({:?})",
            entry.unix_mode()
        );
        let mut content = Vec::new();
        entry.read_to_end(&mut content)?;
        ensure!(
            content == script,
            "{module}/placeholder/bootstrap.zip does not hold placeholder/bootstrap (fix: scripts/placeholder-zip.sh)"
        );
        ensure!(
            String::from_utf8_lossy(&script).contains("not released yet: run deployer"),
            "{module}: the placeholder says why it fails"
        );
        scripts.push(script);
    }
    ensure!(scripts[0] == scripts[1], "the two modules' placeholders differ (fix: scripts/placeholder-zip.sh)");
    Ok(())
}

fn tempdir(name: &str) -> Result<PathBuf> {
    e2e::scratch_dir(&format!("tf-{name}"))
}

/// Terraform with the fixture's state kept in `state`, aimed at `cloud`.
fn terraform_on(cloud: &LocalCloud, dir: &Path, state: &Path, args: &[&str]) -> Output {
    terraform_command(dir, &state.join("data"), args)
        .env("AWS_ENDPOINT_URL", cloud.endpoint())
        .env_remove("AWS_PROFILE")
        .output()
        .expect("running terraform")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codedeploy_resources_and_alarms_apply_plan_clean_and_destroy() -> Result<()> {
    use aws_sdk_codedeploy::error::ProvideErrorMetadata;

    let cloud = LocalCloud::start("terraform-codedeploy")?;
    let dir = workspace_root().join("tests/e2e/terraform/codedeploy");
    let state = tempdir("codedeploy-state")?;
    let state_file = format!("-state={}", state.join("terraform.tfstate").display());
    succeeded("terraform init", &terraform_on(&cloud, &dir, &state, &["init", "-input=false", "-no-color"]))?;
    succeeded(
        "terraform apply",
        &terraform_on(&cloud, &dir, &state, &["apply", "-auto-approve", "-input=false", "-no-color", &state_file]),
    )?;

    let cd = aws_sdk_codedeploy::Client::new(&account_config(&cloud.endpoint(), e2e::DEV).await);
    let group = cd.get_deployment_group().application_name("etl").deployment_group_name("extract").send().await?;
    let info = group.deployment_group_info().context("deploymentGroupInfo")?;
    assert_eq!(info.deployment_config_name(), Some("Canary20Percent3Minutes"));
    let mut alarms: Vec<&str> =
        info.alarm_configuration().map(|a| a.alarms().iter().filter_map(|x| x.name()).collect()).unwrap_or_default();
    alarms.sort_unstable();
    assert_eq!(alarms, ["extract-live-errors", "extract-live-p99-duration"]);
    let cw = aws_sdk_cloudwatch::Client::new(&account_config(&cloud.endpoint(), e2e::DEV).await);
    let described = cw.describe_alarms().alarm_names("extract-live-p99-duration").send().await?;
    let p99 = described.metric_alarms().first().context("the p99 alarm exists")?;
    assert_eq!((p99.extended_statistic(), p99.datapoints_to_alarm()), (Some("p99"), Some(2)));
    let config = cd.get_deployment_config().deployment_config_name("Canary20Percent3Minutes").send().await?;
    let canary = config
        .deployment_config_info()
        .and_then(|c| c.traffic_routing_config())
        .and_then(|t| t.time_based_canary())
        .context("canary")?;
    assert_eq!((canary.canary_percentage(), canary.canary_interval()), (20, 3));

    let out =
        terraform_on(&cloud, &dir, &state, &["plan", "-detailed-exitcode", "-input=false", "-no-color", &state_file]);
    ensure!(out.status.code() == Some(0), "the second plan wants changes:\n{}", String::from_utf8_lossy(&out.stdout));
    succeeded(
        "terraform destroy",
        &terraform_on(&cloud, &dir, &state, &["destroy", "-auto-approve", "-input=false", "-no-color", &state_file]),
    )?;
    let gone = cd.get_application().application_name("etl").send().await.expect_err("destroyed");
    assert_eq!(gone.code(), Some("ApplicationDoesNotExistException"));
    assert!(cw.describe_alarms().send().await?.metric_alarms().is_empty(), "destroy removed the alarms");
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}

//! Bad input to the deployer: each case gets a clear error naming what is wrong and
//! the fix, its own exit code, and changes nothing. The cases that need a cloud run
//! on a private local cloud with nothing applied to it.

use std::path::PathBuf;

use anyhow::{ensure, Result};
use e2e::deployer::{deployer_bin, package_release, Deployer};
use e2e::{account_config, DEV};
use localcloud::testing::{workspace_root, LocalCloud};

fn temp(name: &str) -> PathBuf {
    e2e::scratch_dir(&format!("deployer-bad-{name}")).expect("a test folder")
}

/// A copy of the committed settings with `edit` applied to one environment's file.
fn settings_with(name: &str, env: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let dir = temp(name);
    for e in ["dev", "test", "prod"] {
        let text = std::fs::read_to_string(workspace_root().join("environments").join(e).join("deployer.yaml"))
            .expect("settings");
        std::fs::create_dir_all(dir.join(e)).expect("folder");
        std::fs::write(dir.join(e).join("deployer.yaml"), if e == env { edit(text) } else { text }).expect("write");
    }
    dir
}

#[test]
fn usage_unknown_environment_malformed_settings_and_missing_artifacts_are_refused_before_any_call() -> Result<()> {
    // No cloud at all: none of these may get as far as a call.
    let offline = Deployer {
        endpoint: "http://127.0.0.1:9".into(),
        settings_dir: workspace_root().join("environments"),
        extra_env: Vec::new(),
    };

    let out = std::process::Command::new(deployer_bin()).args(["deploy", "--environment", "dev"]).output()?;
    ensure!(out.status.code() == Some(64), "usage error: {out:?}");

    let run = offline.run(&["deploy", "--env", "staging"])?;
    ensure!(run.code == 3, "{run:?}");
    ensure!(
        run.message().contains("unknown environment \"staging\"")
            && run.message().contains("use one of: dev, prod, test"),
        "{}",
        run.message()
    );

    // Under GitHub Actions the failure is also a step summary and an annotation.
    let summary = temp("summary").join("summary.md");
    let out = offline
        .command(&["deploy", "--env", "staging"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()?;
    ensure!(out.status.code() == Some(3), "{out:?}");
    // With --output json, stdout stays one JSON document and the annotation goes to stderr.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    ensure!(report["exit_code"] == 3, "{report}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(stderr.contains("::error title=deployer deploy staging::unknown environment"), "{stderr}");
    let markdown = std::fs::read_to_string(&summary)?;
    ensure!(markdown.contains("### ❌ deployer deploy") && markdown.contains("unknown environment"), "{markdown}");

    let broken = Deployer {
        settings_dir: settings_with("yaml", "dev", |t| t.replace("region: us-east-1", "region: [us-east-1")),
        endpoint: offline.endpoint.clone(),
        extra_env: Vec::new(),
    };
    let run = broken.run(&["status", "--env", "dev"])?;
    ensure!(run.code == 3 && run.message().contains("dev/deployer.yaml") && run.message().contains("fix:"), "{run:?}");

    let bad_percent = Deployer {
        settings_dir: settings_with("percent", "test", |t| t.replace("percentage: 10", "percentage: 150")),
        endpoint: offline.endpoint.clone(),
        extra_env: Vec::new(),
    };
    let run = bad_percent.run(&["promote", "--to", "test"])?;
    ensure!(
        run.code == 3 && run.message().contains("deployment_config.percentage") && run.message().contains("1-99"),
        "{run:?}"
    );

    let bad_account = Deployer {
        settings_dir: settings_with("account", "dev", |t| t.replace("\"111111111111\"", "\"11111\"")),
        endpoint: offline.endpoint.clone(),
        extra_env: Vec::new(),
    };
    let run = bad_account.run(&["deploy", "--env", "dev"])?;
    ensure!(run.code == 3 && run.message().contains("account_id") && run.message().contains("12-digit"), "{run:?}");

    let empty = temp("empty-dist");
    let run = offline.run(&["deploy", "--env", "dev", "--dist", &empty.to_string_lossy()])?;
    ensure!(
        run.code == 3 && run.message().contains("release.json") && run.message().contains("deployer package"),
        "{run:?}"
    );

    let dist = temp("tampered");
    package_release(&dist, "tampered", &[])?;
    std::fs::write(dist.join("load.zip"), b"not what was packaged")?;
    let run = offline.run(&["deploy", "--env", "dev", "--dist", &dist.to_string_lossy()])?;
    ensure!(run.code == 3 && run.message().contains("load.zip") && run.message().contains("does not match"), "{run:?}");
    Ok(())
}

#[test]
fn expired_profile_credentials_are_refused_before_any_call() -> Result<()> {
    // A profile whose credential_process hands out credentials that expired long ago,
    // as an operator's stale session would. The local cloud never expires credentials,
    // so this runs against AWS's own endpoint variable pointed at a closed port.
    let dir = temp("expired-profile");
    let script = dir.join("expired-credentials.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAEXPIREDEXAMPLE\", \"SecretAccessKey\": \"secret\", \"SessionToken\": \"token\", \"Expiration\": \"2020-01-01T00:00:00Z\"}'\n",
    )?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    std::fs::write(
        dir.join("config"),
        format!("[default]\nregion = us-east-1\ncredential_process = {}\n", script.display()),
    )?;
    let mut command = std::process::Command::new(deployer_bin());
    command.args(["--output", "json", "status", "--env", "dev", "--root"]).arg(workspace_root());
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_ACTIONS",
    ] {
        command.env_remove(var);
    }
    let out = command
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| anyhow::anyhow!("{e}: {}", String::from_utf8_lossy(&out.stderr)))?;
    let message = report["message"].as_str().unwrap_or_default();
    ensure!(out.status.code() == Some(4) && report["exit_code"] == 4, "{report}");
    ensure!(message.contains("expired at 2020-01-01T00:00:00.000Z") && message.contains("fix:"), "{message}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_account_and_missing_infrastructure_change_nothing() -> Result<()> {
    let cloud = LocalCloud::start("deployer-bad-input")?;
    let dist = temp("cloud-dist");
    package_release(&dist, "bad-input", &[])?;
    let dist = dist.to_string_lossy().into_owned();

    // Credentials of dev's account used for test, as if a CI job had the wrong role.
    let mut wrong = Deployer::new(&cloud);
    wrong.extra_env.push(("LOCALCLOUD_ACCESS_KEY_ID".into(), DEV.into()));
    let run = wrong.run(&["--no-assume-role", "rollback", "--env", "test"])?;
    ensure!(run.code == 4, "{run:?}");
    ensure!(
        run.message().contains("for account 111111111111") && run.message().contains("test is account 222222222222"),
        "{}",
        run.message()
    );

    // Nothing applied: the deployment groups are missing, so the deploy stops before
    // touching anything (the artifact store is not even written).
    let deployer = Deployer::new(&cloud);
    let run = deployer.run(&["deploy", "--env", "dev", "--dist", &dist])?;
    ensure!(run.code == 6, "{run:?}");
    ensure!(run.message().contains("does not exist") && run.message().contains("fix: apply"), "{}", run.message());
    let lambda = aws_sdk_lambda::Client::new(&account_config(&cloud.endpoint(), DEV).await);
    ensure!(lambda.list_functions().send().await?.functions().is_empty(), "nothing was created");
    Ok(())
}

#[test]
fn a_local_cloud_that_is_not_running_is_reported_as_that() -> Result<()> {
    // Nothing listens on this port: the deployer must say the cloud cannot be reached,
    // where, and how to start it; not blame the deploy role's trust.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let endpoint = format!("http://{closed}");
    let offline = Deployer {
        endpoint: endpoint.clone(),
        settings_dir: workspace_root().join("environments"),
        extra_env: Vec::new(),
    };
    let started = std::time::Instant::now();
    let run = offline.run(&["status", "--env", "dev"])?;
    ensure!(run.code == 1, "{run:?}");
    ensure!(run.report["error"]["kind"] == "unreachable", "{:#}", run.report);
    let message = run.message();
    ensure!(message.contains(&endpoint) && message.contains("make up"), "{message}");
    ensure!(!message.contains("trusts the caller"), "not a trust problem: {message}");
    ensure!(started.elapsed() < std::time::Duration::from_secs(60), "it gives up within the retries' backoff");
    Ok(())
}

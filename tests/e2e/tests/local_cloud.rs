//! The local cloud with the real SDK over HTTP: accounts are isolated, AssumeRole
//! crosses into another account, and a Rust `provided.al2023` function runs with each
//! published version keeping its own code.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use aws_sdk_lambda::primitives::Blob;

use e2e::{account_config, bootstrap_zip, code_sha256, config_with, DEV, TEST, TOOLING};
use localcloud::testing::LocalCloud;
use serde_json::{json, Value};

const FIXTURE_DOUBLE: &str = env!("CARGO_BIN_EXE_fixture-double");
const FIXTURE_SQUARE: &str = env!("CARGO_BIN_EXE_fixture-square");

fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

async fn create_function(lambda: &aws_sdk_lambda::Client, name: &str, binary: &str) -> Result<()> {
    e2e::lambda::create_function(lambda, name, binary, &[]).await
}

async fn invoke(lambda: &aws_sdk_lambda::Client, name: &str, qualifier: Option<&str>, event: Value) -> Result<Value> {
    let out = lambda
        .invoke()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_owned))
        .payload(Blob::new(serde_json::to_vec(&event)?))
        .send()
        .await
        .with_context(|| format!("Invoke {name}:{qualifier:?}"))?;
    let payload = out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
    ensure!(
        out.function_error().is_none(),
        "{name}:{qualifier:?} failed: {:?} {}",
        out.function_error(),
        String::from_utf8_lossy(&payload)
    );
    Ok(serde_json::from_slice(&payload)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_crosses_accounts_and_state_is_isolated() -> Result<()> {
    let cloud = LocalCloud::start("accounts")?;
    let endpoint = cloud.endpoint();

    let tooling = aws_sdk_sts::Client::new(&account_config(&endpoint, TOOLING).await);
    let me = tooling.get_caller_identity().send().await?;
    assert_eq!(me.account(), Some(TOOLING));

    let assumed = tooling
        .assume_role()
        .role_arn(role_arn(TEST, "deployer"))
        .role_session_name("e2e-cross-account")
        .duration_seconds(900)
        .send()
        .await
        .context("AssumeRole from the tooling account into test")?;
    let creds = assumed.credentials().context("AssumeRole returned no credentials")?;
    assert!(creds.access_key_id().starts_with("ASIA"), "temporary keys look like AWS's: {}", creds.access_key_id());
    let test_config = config_with(
        &endpoint,
        aws_credential_types::Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            None,
            "assumed",
        ),
    )
    .await;
    let in_test = aws_sdk_sts::Client::new(&test_config).get_caller_identity().send().await?;
    assert_eq!(in_test.account(), Some(TEST), "assumed-role credentials belong to the role's account");
    assert!(
        in_test.arn().is_some_and(|arn| arn.contains(":assumed-role/deployer/e2e-cross-account")),
        "caller is the assumed role: {:?}",
        in_test.arn()
    );

    // A function created in dev exists there and nowhere else.
    let dev_lambda = aws_sdk_lambda::Client::new(&account_config(&endpoint, DEV).await);
    create_function(&dev_lambda, "isolation-probe", FIXTURE_DOUBLE).await?;
    let names = |out: aws_sdk_lambda::operation::list_functions::ListFunctionsOutput| -> Vec<String> {
        out.functions().iter().filter_map(|f| f.function_name().map(str::to_owned)).collect()
    };
    assert_eq!(names(dev_lambda.list_functions().send().await?), ["isolation-probe"]);

    let test_lambda = aws_sdk_lambda::Client::new(&test_config);
    assert!(names(test_lambda.list_functions().send().await?).is_empty(), "dev's function is invisible in test");
    let err = test_lambda.get_function().function_name("isolation-probe").send().await.expect_err("not in test");
    assert!(err.into_service_error().is_resource_not_found_exception());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_function_runs_and_each_version_keeps_its_code() -> Result<()> {
    let cloud = LocalCloud::start("versions")?;
    let lambda = aws_sdk_lambda::Client::new(&account_config(&cloud.endpoint(), DEV).await);

    create_function(&lambda, "calc", FIXTURE_DOUBLE).await?;
    let out = invoke(&lambda, "calc", None, json!({"n": 21})).await?;
    assert_eq!(out["code"], "double");
    assert_eq!(out["result"], 42);
    assert_eq!(out["endpoint"], cloud.endpoint(), "functions call back through the public endpoint");

    let v1 = lambda.publish_version().function_name("calc").send().await?;
    assert_eq!(v1.version(), Some("1"));
    let double_sha = code_sha256(&bootstrap_zip(Path::new(FIXTURE_DOUBLE))?);
    assert_eq!(v1.code_sha256(), Some(double_sha.as_str()), "CodeSha256 is the package's base64 SHA-256");

    let square_zip = bootstrap_zip(Path::new(FIXTURE_SQUARE))?;
    e2e::lambda::update_code(&lambda, "calc", FIXTURE_SQUARE).await?;
    let v2 = lambda.publish_version().function_name("calc").send().await?;
    assert_eq!(v2.version(), Some("2"));
    assert_eq!(v2.code_sha256(), Some(code_sha256(&square_zip).as_str()));

    for (qualifier, code, result) in [(Some("1"), "double", 14), (Some("2"), "square", 49), (None, "square", 49)] {
        let out = invoke(&lambda, "calc", qualifier, json!({"n": 7})).await?;
        assert_eq!(
            (out["code"].as_str(), out["result"].as_i64()),
            (Some(code), Some(result)),
            "qualifier {qualifier:?}"
        );
    }

    // The same binary zips to the same bytes: an unchanged function is recognisable.
    assert_eq!(bootstrap_zip(Path::new(FIXTURE_SQUARE))?, square_zip);

    // The warm function processes run in the emulator's process group, so stopping the
    // cloud by the pids it started stops them too.
    let emulator = localcloud::process::read_pid(&cloud.config().ministack_pid_file()).context("ministack.pid")?;
    let workers = localcloud::process::group_members(emulator);
    assert!(workers.len() > 1, "warm bootstrap processes run beside the emulator: {workers:?}");
    drop(cloud);
    assert_eq!(localcloud::process::group_members(emulator), Vec::<i32>::new(), "down stopped the function processes");
    Ok(())
}

//! Creating fixture functions the way a deployer must: wait until each is Active with
//! its last update finished before using it.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, LastUpdateStatus, Runtime, State};

use crate::bootstrap_zip;

/// Creates `name` from a fixture binary, with environment `vars`, and waits for it.
pub async fn create_function(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    binary: &str,
    vars: &[(&str, &str)],
) -> Result<()> {
    let variables = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role("arn:aws:iam::111111111111:role/fixture-function")
        .timeout(30)
        .environment(Environment::builder().set_variables(Some(variables)).build())
        .code(FunctionCode::builder().zip_file(Blob::new(bootstrap_zip(Path::new(binary))?)).build())
        .send()
        .await
        .with_context(|| format!("CreateFunction {name}"))?;
    wait_ready(lambda, name).await
}

/// Replaces the code of `name` with a fixture binary and waits for the update.
pub async fn update_code(lambda: &aws_sdk_lambda::Client, name: &str, binary: &str) -> Result<()> {
    lambda
        .update_function_code()
        .function_name(name)
        .zip_file(Blob::new(bootstrap_zip(Path::new(binary))?))
        .send()
        .await
        .with_context(|| format!("UpdateFunctionCode {name}"))?;
    wait_ready(lambda, name).await
}

/// Waits for the function to be Active with its last update finished.
pub async fn wait_ready(lambda: &aws_sdk_lambda::Client, name: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let config = lambda.get_function_configuration().function_name(name).send().await?;
        let active = config.state() == Some(&State::Active);
        let updated = matches!(config.last_update_status(), None | Some(LastUpdateStatus::Successful));
        if active && updated {
            return Ok(());
        }
        if config.state() == Some(&State::Failed) || config.last_update_status() == Some(&LastUpdateStatus::Failed) {
            bail!("{name} failed to become ready: {:?}", config.state_reason().or(config.last_update_status_reason()));
        }
        ensure!(Instant::now() < deadline, "{name} not ready after 60 s: {config:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `name` with version 1 from `first`, version 2 from `second`, alias `live` on 1.
pub async fn two_versions(lambda: &aws_sdk_lambda::Client, name: &str, first: &str, second: &str) -> Result<()> {
    create_function(lambda, name, first, &[]).await?;
    lambda.publish_version().function_name(name).send().await?;
    update_code(lambda, name, second).await?;
    lambda.publish_version().function_name(name).send().await?;
    lambda.create_alias().function_name(name).name("live").function_version("1").send().await?;
    Ok(())
}

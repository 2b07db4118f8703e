//! Fixture CodeDeploy hook: reads its deployment, then reports HOOK_RESULT
//! (Succeeded, Failed, or Silent: never answers).
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_codedeploy::Client::new(&config);
    let client = &client;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let field = |name: &str| event.payload.get(name).and_then(Value::as_str).map(str::to_owned).ok_or(format!("no {name}"));
        let (deployment, execution) = (field("DeploymentId")?, field("LifecycleEventHookExecutionId")?);
        let info = client.get_deployment().deployment_id(&deployment).send().await?;
        let result = std::env::var("HOOK_RESULT").unwrap_or_else(|_| "Succeeded".into());
        if result != "Silent" {
            client
                .put_lifecycle_event_hook_execution_status()
                .deployment_id(&deployment)
                .lifecycle_event_hook_execution_id(&execution)
                .status(result.as_str().into())
                .send()
                .await?;
        }
        Ok::<_, Error>(json!({"reported": result, "status": info.deployment_info().and_then(|d| d.status()).map(|s| s.as_str().to_owned())}))
    }))
    .await
}

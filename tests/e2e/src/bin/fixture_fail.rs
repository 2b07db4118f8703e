//! Fixture Lambda: a bad release. Every invocation fails with a function error.
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| async move {
        Err::<Value, Error>("this version is broken on purpose".into())
    }))
    .await
}

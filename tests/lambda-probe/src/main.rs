//! Answers every event with what it is: the probe, the build profile it was compiled
//! in, and the event, so a test can tell that Lambda ran the release build it shipped.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn answer(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    Ok(json!({"probe": "lambda-probe", "profile": profile, "event": event.payload}))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(answer)).await
}

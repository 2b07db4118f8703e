//! The fixture functions' runtime: each binary computes one thing from `{"n": <int>}`
//! and says which code it is and which endpoint it would call back to.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    n: i64,
}

pub async fn run(code: &'static str, compute: fn(i64) -> i64) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: Input =
            serde_json::from_value(event.payload).map_err(|e| format!("expected {{\"n\": <integer>}}: {e}"))?;
        Ok::<_, Error>(json!({
            "code": code,
            "result": compute(input.n),
            "endpoint": std::env::var("AWS_ENDPOINT_URL").ok(),
        }))
    }))
    .await
}

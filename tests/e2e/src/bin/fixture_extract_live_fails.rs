//! Fixture Lambda: a bad release of `extract` that passes its checks and fails in
//! service. A dry run (what the pre-traffic hook and the smoke run send) answers like
//! the real extract with an empty manifest; anything else, real traffic, fails.
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let input = event.payload;
        if input.get("dry_run").and_then(Value::as_bool) != Some(true) {
            return Err::<Value, Error>("this release breaks real traffic on purpose".into());
        }
        let date = input.get("run_date").and_then(Value::as_str).unwrap_or("1970-01-01");
        Ok(json!({
            "run_id": format!("shadow-orders-{date}"),
            "run_date": date,
            "execution_id": input.get("execution_id").and_then(Value::as_str).unwrap_or("manual"),
            "dry_run": true,
            "inject_failure": null,
            "duplicate": false,
            "status": "RUNNING",
            "batches": []
        }))
    }))
    .await
}

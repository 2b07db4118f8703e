//! Fixture Lambda: a bad release of `transform` that passes its checks and fails on
//! real records. An empty batch (what the pre-traffic hook sends, and all a run of a
//! day with no data gives it) answers like the real transform; a batch with objects,
//! as a replayed day's dry run brings, fails.
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let batch = &event.payload["batch"];
        let objects = batch["objects"].as_array().map_or(0, Vec::len);
        if objects > 0 {
            return Err::<Value, Error>(
                format!("this release breaks on {objects} objects of real records on purpose").into(),
            );
        }
        Ok(json!({
            "batch_id": batch["batch_id"].as_u64().unwrap_or(0),
            "staged_key": "",
            "quarantine_key": null,
            "records_in": 0,
            "records_out": 0,
            "quarantined": 0
        }))
    }))
    .await
}

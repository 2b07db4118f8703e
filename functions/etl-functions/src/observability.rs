//! JSON logs with the run's correlation ids on every line, and custom metrics in
//! CloudWatch Embedded Metric Format.

use crate::events::Run;

/// JSON logs at `LOG_LEVEL` (default info), each line carrying the current span's fields.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// One EMF record on stdout: CloudWatch Logs turns it into metrics in namespace ETL.
pub fn emit_metrics(function: &str, run: &Run, metrics: &[(&str, f64)]) {
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut record = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": "ETL",
                "Dimensions": [["Function"]],
                "Metrics": metrics.iter().map(|(name, _)| serde_json::json!({"Name": name, "Unit": "Count"})).collect::<Vec<_>>(),
            }],
        },
        "Function": function,
        "run_id": run.run_id,
        "execution_id": run.execution_id,
        "dry_run": run.dry_run,
    });
    for (name, value) in metrics {
        record[*name] = serde_json::json!(value);
    }
    println!("{record}");
}

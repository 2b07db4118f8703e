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

/// Real runs' metrics: what the dashboard shows as the business's counts.
pub const NAMESPACE: &str = "ETL";
/// Dry runs' metrics (the traffic hooks' checks, the smoke test): kept apart, so that
/// a release's checks never count as records curated.
pub const DRY_RUN_NAMESPACE: &str = "ETL/DryRun";

/// One EMF record on stdout: CloudWatch Logs turns it into metrics in namespace ETL
/// (ETL/DryRun for a dry run).
pub fn emit_metrics(function: &str, run: &Run, metrics: &[(&str, f64)]) {
    emit(function, &run.run_id, &run.execution_id, run.dry_run, metrics, "Count");
}

/// The stage's duration, as an EMF metric in milliseconds.
pub fn emit_duration(function: &str, run_id: &str, execution_id: &str, dry_run: bool, milliseconds: f64) {
    emit(function, run_id, execution_id, dry_run, &[("DurationMs", milliseconds)], "Milliseconds");
}

fn emit(function: &str, run_id: &str, execution_id: &str, dry_run: bool, metrics: &[(&str, f64)], unit: &str) {
    println!("{}", emf_record(function, run_id, execution_id, dry_run, metrics, unit));
}

/// The EMF record: metric definitions under `_aws`, values and ids at the top level.
pub fn emf_record(
    function: &str,
    run_id: &str,
    execution_id: &str,
    dry_run: bool,
    metrics: &[(&str, f64)],
    unit: &str,
) -> serde_json::Value {
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut record = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": if dry_run { DRY_RUN_NAMESPACE } else { NAMESPACE },
                "Dimensions": [["Function"]],
                "Metrics": metrics.iter().map(|(name, _)| serde_json::json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        },
        "Function": function,
        "run_id": run_id,
        "execution_id": execution_id,
        "dry_run": dry_run,
    });
    for (name, value) in metrics {
        record[*name] = serde_json::json!(value);
    }
    record
}

#[cfg(test)]
mod tests {
    #[test]
    fn emf_records_define_each_metric_and_carry_its_value_and_the_run() {
        let record = super::emf_record(
            "transform",
            "orders-2026-11-22",
            "exec-1",
            true,
            &[("RecordsIn", 10.0), ("RecordsOut", 9.0)],
            "Count",
        );
        let definitions = &record["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(definitions["Dimensions"], serde_json::json!([["Function"]]));
        let names: Vec<&str> =
            definitions["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap()).collect();
        assert_eq!(names, ["RecordsIn", "RecordsOut"]);
        assert_eq!((record["RecordsIn"].as_f64(), record["RecordsOut"].as_f64()), (Some(10.0), Some(9.0)));
        // A dry run's counts go to their own namespace: the business metrics stay real.
        assert_eq!(definitions["Namespace"], "ETL/DryRun");
        let real = super::emf_record("load", "orders-2026-11-22", "exec-1", false, &[("RecordsOut", 9.0)], "Count");
        assert_eq!(real["_aws"]["CloudWatchMetrics"][0]["Namespace"], "ETL");
        assert_eq!(
            (record["Function"].as_str(), record["run_id"].as_str(), record["dry_run"].as_bool()),
            (Some("transform"), Some("orders-2026-11-22"), Some(true))
        );
        assert!(
            record["_aws"]["Timestamp"].as_u64().is_some_and(|t| t > 1_700_000_000_000),
            "milliseconds since the epoch"
        );
    }
}

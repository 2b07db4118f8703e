//! The four steps of a run, written against the narrow AWS traits so that each can be
//! tested without a cloud.

use std::io::BufReader;

use etl_core::{EtlError, Format, Stats};
use tokio_util::io::SyncIoBridge;

use crate::aws::{Alerts, ObjectStore, RunLedger, Started};
use crate::events::{
    parse_date, Batch, BatchRequest, BatchResult, CompensateRequest, LoadRequest, LoadResult, Manifest, Run,
    RunRequest, MANUAL_EXECUTION,
};
use crate::layout;
use crate::settings::Settings;

/// Fails on purpose when the run asks for it and the environment allows it.
fn injected(settings: &Settings, run: &Run, step: &str) -> Result<(), EtlError> {
    if settings.allow_fault_injection && run.inject_failure.as_deref() == Some(step) {
        return Err(EtlError::NonRetryable(format!("injected failure in {step} (inject_failure={step})")));
    }
    Ok(())
}

/// Extract: record the run (once) and cut the day's raw objects into bounded batches.
pub async fn extract(
    settings: &Settings,
    store: &impl ObjectStore,
    ledger: &impl RunLedger,
    request: RunRequest,
) -> Result<Manifest, EtlError> {
    let date = parse_date(&request.run_date)?;
    let run = Run {
        run_id: format!("{}orders-{date}", if request.dry_run { "shadow-" } else { "" }),
        run_date: date.to_string(),
        execution_id: request.execution_id.unwrap_or_else(|| MANUAL_EXECUTION.into()),
        dry_run: request.dry_run,
        inject_failure: request.inject_failure,
    };
    injected(settings, &run, "extract")?;
    if !run.dry_run {
        match ledger.start(&run).await? {
            Started::New => {}
            Started::Resumed => tracing::info!(run_id = %run.run_id, "resuming the run this execution recorded"),
            Started::Existing(status) => {
                tracing::info!(run_id = %run.run_id, %status, "the run was already started: answering the existing run");
                return Ok(Manifest { run, duplicate: true, status, batches: Vec::new() });
            }
        }
    }
    let objects = store.list(&settings.raw_bucket, &layout::raw_prefix(&run)).await?;
    let mut batches: Vec<Batch> = Vec::new();
    let mut bytes = 0u64;
    for object in objects.into_iter().filter(|o| Format::from_key(&o.key).is_some()) {
        let full = batches.last().is_none_or(|b| {
            b.objects.len() >= settings.batch_max_objects || bytes + object.size > settings.batch_max_bytes
        });
        if full {
            batches.push(Batch { batch_id: u32::try_from(batches.len()).unwrap_or(u32::MAX), objects: Vec::new() });
            bytes = 0;
        }
        bytes += object.size;
        if let Some(batch) = batches.last_mut() {
            batch.objects.push(object.key);
        }
    }
    tracing::info!(run_id = %run.run_id, batches = batches.len(), "manifest ready");
    Ok(Manifest { run, duplicate: false, status: "RUNNING".into(), batches })
}

/// Transform: stream each object of the batch through etl-core; stage the curated
/// lines and quarantine the bad ones under deterministic keys.
pub async fn transform(
    settings: &Settings,
    store: &impl ObjectStore,
    request: BatchRequest,
) -> Result<BatchResult, EtlError> {
    let BatchRequest { run, batch } = request;
    injected(settings, &run, "transform")?;
    let date = run.date()?;
    let mut staged = Vec::new();
    let mut quarantine = Vec::new();
    let mut total = Stats::default();
    for key in &batch.objects {
        let format = Format::from_key(key)
            .ok_or_else(|| EtlError::InvalidInput(format!("{key}: not a .jsonl, .ndjson, .json or .csv object")))?;
        let reader = store.open(&settings.raw_bucket, key).await?;
        let object = key.clone();
        // The transform is synchronous and streams: run it on a blocking thread that
        // pulls the object's bytes as it goes.
        // The batch's buffers travel to the blocking thread and back, so each object's
        // output is appended in place rather than copied.
        let (stats, out, q) = tokio::task::spawn_blocking(move || {
            let input = BufReader::with_capacity(256 * 1024, SyncIoBridge::new(reader));
            etl_core::transform(format, &object, input, date, &mut staged, &mut quarantine)
                .map(|stats| (stats, staged, quarantine))
        })
        .await
        .map_err(|e| EtlError::Retryable(format!("the transform of {key} did not finish: {e}")))??;
        (staged, quarantine) = (out, q);
        total.records_in += stats.records_in;
        total.records_out += stats.records_out;
        total.quarantined += stats.quarantined;
    }
    let staged_key = layout::staged_key(&run, batch.batch_id);
    store.put(&settings.staging_bucket, &staged_key, staged).await?;
    let quarantine_key = if quarantine.is_empty() {
        None
    } else {
        let key = layout::quarantine_key(&run, batch.batch_id);
        store.put(&settings.quarantine_bucket, &key, quarantine).await?;
        Some(key)
    };
    crate::observability::emit_metrics(
        "transform",
        &run,
        &[
            ("RecordsIn", total.records_in as f64),
            ("RecordsOut", total.records_out as f64),
            ("RecordsQuarantined", total.quarantined as f64),
        ],
    );
    Ok(BatchResult {
        batch_id: batch.batch_id,
        staged_key,
        quarantine_key,
        records_in: total.records_in,
        records_out: total.records_out,
        quarantined: total.quarantined,
    })
}

/// Load: publish the staged batches into the curated partition, then the `_SUCCESS`
/// marker last, so a reader sees all of the run or none of it.
pub async fn load(
    settings: &Settings,
    store: &impl ObjectStore,
    ledger: &impl RunLedger,
    request: LoadRequest,
) -> Result<LoadResult, EtlError> {
    let LoadRequest { run, results } = request;
    let mut curated_keys = Vec::new();
    let (mut out, mut quarantined) = (0, 0);
    for result in &results {
        let key = layout::curated_key(&run, result.batch_id);
        store.copy(&settings.staging_bucket, &result.staged_key, &settings.curated_bucket, &key).await?;
        curated_keys.push(key);
        out += result.stats().records_out;
        quarantined += result.stats().quarantined;
        // Fault injection lands between data and marker: the worst moment to fail.
        injected(settings, &run, "load")?;
    }
    let marker = serde_json::json!({"run_id": run.run_id, "execution_id": run.execution_id, "parts": curated_keys, "records": out}).to_string();
    store.put(&settings.curated_bucket, &layout::success_marker(&run), marker.into_bytes()).await?;
    if !run.dry_run {
        ledger.finish(&run, "SUCCEEDED", &format!("{out} records curated, {quarantined} quarantined")).await?;
    }
    crate::observability::emit_metrics(
        "load",
        &run,
        &[("RecordsOut", out as f64), ("RecordsQuarantined", quarantined as f64)],
    );
    Ok(LoadResult { run, curated_keys, records_out: out, quarantined })
}

/// Compensate: undo a failed run's staged and partial curated output, mark the run
/// failed, and alert with the run, the failed step and the cause.
pub async fn compensate(
    settings: &Settings,
    store: &impl ObjectStore,
    ledger: &impl RunLedger,
    alerts: &impl Alerts,
    request: CompensateRequest,
) -> Result<serde_json::Value, EtlError> {
    let CompensateRequest { run, failed_step, error } = request;
    let staged: Vec<String> =
        store.list(&settings.staging_bucket, &layout::staging_prefix(&run)).await?.into_iter().map(|o| o.key).collect();
    store.delete(&settings.staging_bucket, &staged).await?;
    // A partition without its marker is this run's partial output.
    let curated: Vec<String> =
        store.list(&settings.curated_bucket, &layout::curated_prefix(&run)).await?.into_iter().map(|o| o.key).collect();
    let marker = layout::success_marker(&run);
    let removed_curated = if curated.contains(&marker) { Vec::new() } else { curated };
    store.delete(&settings.curated_bucket, &removed_curated).await?;
    let cause = if error.cause.is_empty() { error.error.clone() } else { format!("{}: {}", error.error, error.cause) };
    if !run.dry_run {
        ledger.finish(&run, "FAILED", &format!("{failed_step} failed: {cause}")).await?;
    }
    let message = serde_json::json!({
        "run_id": run.run_id,
        "run_date": run.run_date,
        "execution_id": run.execution_id,
        "failed_step": failed_step,
        "error": error.error,
        "cause": error.cause,
        "removed": {"staged": staged.len(), "curated": removed_curated.len()},
    });
    alerts.publish(&format!("ETL run {} failed in {failed_step}", run.run_id), &message.to_string()).await?;
    tracing::warn!(run_id = %run.run_id, %failed_step, %cause, "run compensated");
    Ok(message)
}

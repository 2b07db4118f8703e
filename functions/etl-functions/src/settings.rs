//! Each function's settings, from its environment (set by the Terraform module).

use etl_core::EtlError;

#[derive(Debug, Clone)]
pub struct Settings {
    pub raw_bucket: String,
    pub staging_bucket: String,
    pub curated_bucket: String,
    pub quarantine_bucket: String,
    pub ledger_table: String,
    pub alert_topic_arn: String,
    /// A batch holds objects up to this many bytes in all (at least one object).
    pub batch_max_bytes: u64,
    pub batch_max_objects: usize,
    /// Honour `inject_failure` in events (local and test environments only).
    pub allow_fault_injection: bool,
}

fn var(name: &str) -> Result<String, EtlError> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or_else(|| {
        EtlError::NonRetryable(format!(
            "the environment variable {name} is not set: the function's Terraform module sets it"
        ))
    })
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, EtlError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
            EtlError::NonRetryable(format!("the environment variable {name}={v:?} is not a whole number"))
        }),
        _ => Ok(default),
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, EtlError> {
        Ok(Self {
            raw_bucket: var("RAW_BUCKET")?,
            staging_bucket: var("STAGING_BUCKET")?,
            curated_bucket: var("CURATED_BUCKET")?,
            quarantine_bucket: var("QUARANTINE_BUCKET")?,
            ledger_table: var("LEDGER_TABLE")?,
            alert_topic_arn: var("ALERT_TOPIC_ARN")?,
            batch_max_bytes: number("BATCH_MAX_BYTES", 64 * 1024 * 1024)?,
            batch_max_objects: number("BATCH_MAX_OBJECTS", 20)?,
            allow_fault_injection: std::env::var("ALLOW_FAULT_INJECTION").is_ok_and(|v| v == "true"),
        })
    }
}

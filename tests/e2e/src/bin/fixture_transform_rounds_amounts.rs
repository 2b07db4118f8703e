//! Fixture Lambda: a bad release of `transform` that no alarm can see. It is the real
//! transform, and then it rounds every staged amount down to whole units: no error, the
//! same records, different data. Only a comparison of what it writes with what the
//! release it replaces wrote (the deployer's shadow diff) catches it.
use etl_functions::aws::ObjectStore;
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    etl_functions::runtime::serve("transform", |c, request| async move {
        let result = etl_functions::handlers::transform(&c.settings, &c.store, request).await?;
        if !result.staged_key.is_empty() {
            let mut staged = Vec::new();
            let mut reader = c.store.open(&c.settings.staging_bucket, &result.staged_key).await?;
            reader
                .read_to_end(&mut staged)
                .await
                .map_err(|e| etl_core::EtlError::Retryable(format!("reading {}: {e}", result.staged_key)))?;
            let rounded: String = String::from_utf8_lossy(&staged)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|line| match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(mut record) => {
                        if let Some(amount) = record["amount_minor"].as_u64() {
                            record["amount_minor"] = (amount / 100 * 100).into();
                        }
                        format!("{record}\n")
                    }
                    Err(_) => format!("{line}\n"),
                })
                .collect();
            c.store.put(&c.settings.staging_bucket, &result.staged_key, rounded.into_bytes()).await?;
        }
        Ok(result)
    })
    .await
}

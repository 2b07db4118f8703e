//! Fixture Lambda: a bad release of `extract` that passes its checks and fails in
//! service. A dry run (the pre-traffic hook's, the replays', the shadow run's) is the
//! real extract, so the release's dry runs and its shadow diff find nothing wrong;
//! anything else, real traffic, fails.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    etl_functions::runtime::serve("extract", |c, request: etl_functions::events::RunRequest| async move {
        if !request.dry_run {
            return Err(etl_core::EtlError::NonRetryable("this release breaks real traffic on purpose".into()));
        }
        etl_functions::handlers::extract(&c.settings, &c.store, &c.ledger, request).await
    })
    .await
}

//! Lambda: Compensate (the saga's undo).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    etl_functions::runtime::serve("compensate", |c, request| {
        etl_functions::handlers::compensate(&c.settings, &c.store, &c.ledger, &c.alerts, request)
    })
    .await
}

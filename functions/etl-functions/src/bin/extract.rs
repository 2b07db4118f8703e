//! Lambda: Extract.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    etl_functions::runtime::serve("extract", |c, request| {
        etl_functions::handlers::extract(&c.settings, &c.store, &c.ledger, request)
    })
    .await
}

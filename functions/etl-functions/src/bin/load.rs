//! Lambda: Load.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    etl_functions::runtime::serve("load", |c, request| {
        etl_functions::handlers::load(&c.settings, &c.store, &c.ledger, request)
    })
    .await
}

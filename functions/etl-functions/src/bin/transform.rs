//! Lambda: Transform (one Map item per batch).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    etl_functions::runtime::serve("transform", |c, request| {
        etl_functions::handlers::transform(&c.settings, &c.store, request)
    })
    .await
}

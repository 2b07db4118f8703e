//! Fixture Lambda: doubles its input.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    e2e::fixture::run("double", |n| n * 2).await
}

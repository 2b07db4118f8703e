//! Fixture Lambda: squares its input.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    e2e::fixture::run("square", |n| n * n).await
}

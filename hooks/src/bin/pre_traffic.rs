//! Lambda: the BeforeAllowTraffic hook (invokes the target version with fixture events).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hooks::runtime::serve(hooks::Hook::PreTraffic).await
}

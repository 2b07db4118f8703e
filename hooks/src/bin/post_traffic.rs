//! Lambda: the AfterAllowTraffic hook (alias, alarms, errors and the smoke execution).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hooks::runtime::serve(hooks::Hook::PostTraffic).await
}

//! What every function binary shares: settings, SDK clients, logging, and turning
//! typed errors into Lambda errors whose type the state machine matches.

use etl_core::EtlError;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::aws::{sdk, DynamoLedger, S3Store, SnsAlerts};
use crate::settings::Settings;

pub struct Context {
    pub settings: Settings,
    pub store: S3Store,
    pub ledger: DynamoLedger,
    pub alerts: SnsAlerts,
}

impl Context {
    pub async fn from_env() -> Result<Self, EtlError> {
        let settings = Settings::from_env()?;
        let config = sdk::load().await;
        Ok(Self {
            store: S3Store::new(sdk::s3(&config)),
            ledger: DynamoLedger::new(sdk::dynamodb(&config), settings.ledger_table.clone()),
            alerts: SnsAlerts::new(sdk::sns(&config), settings.alert_topic_arn.clone()),
            settings,
        })
    }
}

/// A typed error as a Lambda error: `errorType` is what Retry / Catch match.
pub fn diagnostic(err: &EtlError) -> Diagnostic {
    Diagnostic { error_type: err.error_type().to_owned(), error_message: err.to_string() }
}

/// Decodes the event, naming what is wrong when it does not fit.
pub fn decode<T: DeserializeOwned>(event: LambdaEvent<serde_json::Value>) -> Result<T, EtlError> {
    serde_json::from_value(event.payload)
        .map_err(|e| EtlError::InvalidInput(format!("the event does not fit this function: {e}")))
}

/// Runs `handler` for each event, inside a span with the run's correlation ids.
pub async fn serve<T, O, F, Fut>(function: &'static str, handler: F) -> Result<(), lambda_runtime::Error>
where
    T: DeserializeOwned,
    O: Serialize,
    F: Fn(&'static Context, T) -> Fut,
    Fut: std::future::Future<Output = Result<O, EtlError>>,
{
    crate::observability::init_logging();
    let context: &'static Context = match Context::from_env().await {
        Ok(context) => Box::leak(Box::new(context)),
        Err(err) => {
            tracing::error!(error = %err, "cannot start");
            return Err(err.to_string().into());
        }
    };
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let ids =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("-").to_owned();
        let (run_id, execution_id) = (ids(&event.payload, "run_id"), ids(&event.payload, "execution_id"));
        let dry_run = event.payload.get("dry_run").and_then(serde_json::Value::as_bool).unwrap_or(false);
        // With active tracing Lambda hands each invocation its X-Ray trace id: on every
        // line, it leads from a log line to the trace of the whole run and back.
        let trace_id = event.context.xray_trace_id.clone().unwrap_or_else(|| "-".into());
        let span = tracing::info_span!(
            "run",
            function,
            %run_id,
            %execution_id,
            request_id = %event.context.request_id,
            %trace_id
        );
        let _entered = span.enter();
        let started = std::time::Instant::now();
        let result = match decode::<T>(event) {
            Ok(request) => handler(context, request).await,
            Err(err) => Err(err),
        };
        let elapsed = started.elapsed();
        tracing::info!(duration_ms = elapsed.as_millis() as u64, ok = result.is_ok(), "done");
        crate::observability::emit_duration(function, &run_id, &execution_id, dry_run, elapsed.as_secs_f64() * 1000.0);
        result.map_err(|err| {
            tracing::error!(error_type = err.error_type(), error = %err, "failed");
            diagnostic(&err)
        })
    }))
    .await
}

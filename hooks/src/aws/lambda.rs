//! [`Versions`] and [`Aliases`] over the Lambda SDK client.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::{AliasRouting, Aliases, AwsError, Invocation, Versions};

/// The duration of an operation's last attempt: when the SDK retries a throttled or
/// dropped invoke, only the attempt that answered measures the function.
#[derive(Debug, Clone, Default)]
struct LastAttempt(Arc<Mutex<(Option<Instant>, Option<Duration>)>>);

impl LastAttempt {
    fn duration(&self) -> Option<Duration> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).1
    }

    /// How long the attempt in flight has run (None between attempts).
    fn running_for(&self) -> Option<Duration> {
        let state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match *state {
            (Some(started), None) => Some(started.elapsed()),
            _ => None,
        }
    }

    /// Resolves once an attempt has run longer than `limit`.
    async fn overrun(&self, limit: Duration) {
        loop {
            if self.running_for().is_some_and(|d| d > limit) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Intercept for LastAttempt {
    fn name(&self) -> &'static str {
        "hooks::LastAttempt"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = (Some(Instant::now()), None);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.1 = state.0.map(|started| started.elapsed());
        Ok(())
    }
}

/// [`Versions`] over the Lambda SDK client.
#[derive(Debug, Clone)]
pub struct LambdaVersions {
    client: aws_sdk_lambda::Client,
}

impl LambdaVersions {
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { client }
    }
}

impl Versions for LambdaVersions {
    async fn invoke(
        &self,
        function_name: &str,
        qualifier: &str,
        payload: Vec<u8>,
        limit: Duration,
    ) -> Result<Option<Invocation>, AwsError> {
        let last_attempt = LastAttempt::default();
        let sent = self
            .client
            .invoke()
            .function_name(function_name)
            .qualifier(qualifier)
            .invocation_type(aws_sdk_lambda::types::InvocationType::RequestResponse)
            .payload(aws_smithy_types::Blob::new(payload))
            .customize()
            .interceptor(last_attempt.clone())
            .send();
        let out = tokio::select! {
            sent = sent => sent.map_err(|e| AwsError::from_sdk(format!("invoking {function_name}:{qualifier}"), &e))?,
            () = last_attempt.overrun(limit) => return Ok(None),
        };
        Ok(Some(Invocation {
            status_code: out.status_code(),
            function_error: out.function_error().map(str::to_owned),
            payload: out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default(),
            executed_version: out.executed_version().map(str::to_owned),
            answered_in: last_attempt.duration(),
        }))
    }
}

/// [`Aliases`] over the Lambda SDK client.
#[derive(Debug, Clone)]
pub struct LambdaAliases {
    client: aws_sdk_lambda::Client,
}

impl LambdaAliases {
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { client }
    }
}

impl Aliases for LambdaAliases {
    async fn alias(&self, function_name: &str, alias: &str) -> Result<AliasRouting, AwsError> {
        let out = self
            .client
            .get_alias()
            .function_name(function_name)
            .name(alias)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(format!("reading alias {function_name}:{alias}"), &e))?;
        Ok(AliasRouting {
            version: out.function_version().unwrap_or_default().to_owned(),
            additional_weights: out
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default(),
        })
    }
}

//! A failed SDK call and what it becomes: the caller first matches the service codes
//! it expects (a missing group is missing infrastructure), then everything else goes
//! through [`Failed::into_error`] (expired or refused credentials, an unreachable
//! endpoint, or a cloud failure with its code, status, request id and attempts).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

use crate::error::{error_chain, CloudFailure, DeployError};

/// Counts the attempts of one operation (the SDK retries inside `send()`).
#[derive(Debug, Clone, Default)]
pub struct Attempts(Arc<AtomicU32>);

impl Attempts {
    pub fn count(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for Attempts {
    fn name(&self) -> &'static str {
        "deployer::Attempts"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// An SDK call that failed, with what was being done and where.
#[derive(Debug)]
pub struct Failed<E> {
    pub call: String,
    pub attempts: u32,
    pub endpoint: String,
    pub err: SdkError<E, HttpResponse>,
}

impl<E> Failed<E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    /// The service's error code, when the service answered.
    pub fn code(&self) -> Option<&str> {
        self.err.as_service_error().and_then(ProvideErrorMetadata::code)
    }

    pub fn message(&self) -> Option<&str> {
        self.err.as_service_error().and_then(ProvideErrorMetadata::message)
    }

    pub fn http_status(&self) -> Option<u16> {
        self.err.raw_response().map(|r| r.status().as_u16())
    }

    /// What AWS said, for the report.
    pub fn failure(&self) -> CloudFailure {
        let message = match (&self.err, self.message()) {
            (_, Some(m)) if !m.is_empty() => m.to_owned(),
            (SdkError::ServiceError(_), _) => match self.http_status() {
                Some(status) => format!("the service answered HTTP {status} with no message"),
                None => "the service answered with no message".into(),
            },
            (other, _) => error_chain(other),
        };
        CloudFailure {
            call: self.call.clone(),
            code: self.code().map(str::to_owned),
            http_status: self.http_status(),
            request_id: self.err.request_id().map(str::to_owned),
            attempts: (self.attempts > 0).then_some(self.attempts),
            message,
        }
    }

    /// The general reading of a failure the caller did not expect.
    pub fn into_error(self) -> DeployError {
        let failure = self.failure();
        match self.code() {
            Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired") => DeployError::credentials(
                format!("{failure}: the credentials have expired"),
                "refresh them (re-run the OIDC / assume-role step, or `aws sso login`) and run again",
            ),
            Some(
                "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" | "AccessDenied"
                | "AccessDeniedException" | "InvalidToken",
            ) => DeployError::credentials(
                format!("{failure}: the credentials were refused"),
                "check which role the credentials are for and that it may make this call (`deployer doctor`)",
            ),
            _ if matches!(self.err, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) => {
                DeployError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    problem: format!("{} failed after {} attempt(s): {}", self.call, self.attempts.max(1), failure.message),
                    fix: if self.endpoint.starts_with("http://127.0.0.1") || self.endpoint.starts_with("http://localhost") {
                        "start the local cloud (`make up`; `localcloud status` tells whether it runs) or point LOCALCLOUD_ENDPOINT at it".into()
                    } else {
                        "check the network path to AWS (proxy, DNS, VPC endpoints) and run again".into()
                    },
                }
            }
            _ => DeployError::Cloud {
                failure: Box::new(failure),
                fix: "run again: nothing was left half-changed (a release in flight is restored by the next run); if it persists, see the AWS error above".into(),
            },
        }
    }
}

/// Sends one SDK operation: counts its attempts, meters its time in the cloud, and keeps
/// the SDK error (for the caller's own codes) with the call and endpoint it concerns.
macro_rules! send {
    ($ctx:expr, $call:expr, $op:expr) => {{
        let attempts = $crate::cloud::sdk::failure::Attempts::default();
        let sent = $ctx.meter.time($op.customize().interceptor(attempts.clone()).send()).await;
        $ctx.meter.count_call(attempts.count());
        sent.map_err(|err| $crate::cloud::sdk::failure::Failed {
            call: ::std::string::String::from($call),
            attempts: attempts.count(),
            endpoint: $ctx.endpoint.clone(),
            err,
        })
    }};
}
pub(crate) use send;

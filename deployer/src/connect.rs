//! Credentials and clients: the caller's own (tooling) identity for the artifact store,
//! and the environment's deploy role, checked to be in the configured account before
//! anything changes.
//!
//! The deploy role's credentials come from a refreshing provider (aws-config's
//! `AssumeRoleProvider` behind the SDK's identity cache): a release can outlive one
//! role session (CodeDeploy waits up to an hour for a hook; a chained session lasts at
//! most one hour), and the watch and the restore must not fail with ExpiredToken.

use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cloud::meter::CloudMeter;
use crate::cloud::sdk::failure::send;
use crate::cloud::sdk::{Context, S3Store, SdkCloud};
use crate::error::{error_chain, DeployError, Result};
use crate::settings::Settings;

pub const LOCAL_DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";
/// On the local cloud an access key is an account id; the deployer acts from tooling.
pub const LOCAL_TOOLING_ACCOUNT: &str = "444444444444";
/// The deploy role's session; the provider renews it before it ends.
const ROLE_SESSION: Duration = Duration::from_secs(3600);

/// How the deployer reaches AWS.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The local cloud's endpoint, when targeting it.
    pub local_endpoint: Option<String>,
    /// False when the ambient credentials already are the environment's role (for
    /// example GitHub OIDC in a job bound to the environment).
    pub assume_role: bool,
    /// Counts the time every client of this run spends waiting on the cloud.
    pub meter: CloudMeter,
}

impl Connection {
    pub fn aws(assume_role: bool, meter: CloudMeter) -> Self {
        Self { local_endpoint: None, assume_role, meter }
    }

    /// The local cloud's endpoint: LOCALCLOUD_ENDPOINT, else the running cloud's
    /// `.run/localcloud/endpoint.json`, else the default port.
    pub fn local(root: &Path, assume_role: bool, meter: CloudMeter) -> Self {
        let endpoint = std::env::var("LOCALCLOUD_ENDPOINT").ok().filter(|e| !e.is_empty()).or_else(|| {
            let text = std::fs::read_to_string(root.join(".run/localcloud/endpoint.json")).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            v.get("endpoint")?.as_str().map(str::to_owned)
        });
        Self { local_endpoint: Some(endpoint.unwrap_or_else(|| LOCAL_DEFAULT_ENDPOINT.into())), assume_role, meter }
    }

    pub fn is_local(&self) -> bool {
        self.local_endpoint.is_some()
    }

    fn context(&self, region: &str) -> Context {
        Context {
            meter: self.meter.clone(),
            endpoint: self.local_endpoint.clone().unwrap_or_else(|| format!("AWS ({region})")),
        }
    }

    /// The caller's own configuration (the tooling account).
    pub async fn base(&self, region: &str) -> Result<SdkConfig> {
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .retry_config(RetryConfig::standard());
        let config = match &self.local_endpoint {
            Some(endpoint) => {
                let key = std::env::var("LOCALCLOUD_ACCESS_KEY_ID").unwrap_or_else(|_| LOCAL_TOOLING_ACCOUNT.into());
                loader
                    .endpoint_url(endpoint)
                    .credentials_provider(Credentials::new(key, "localcloud", None, None, "localcloud"))
                    .load()
                    .await
            }
            None => loader.load().await,
        };
        self.meter.time(check_not_expired(&config)).await?;
        Ok(config)
    }

    pub fn artifact_store(&self, base: &SdkConfig, bucket: &str) -> S3Store {
        let region = base.region().map_or_else(String::new, ToString::to_string);
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(base).force_path_style(self.is_local()).build(),
        );
        S3Store::new(self.context(&region), client, bucket)
    }

    /// Assumes the environment's deploy role (unless told the ambient credentials are
    /// it) and checks the account, before any change.
    pub async fn environment(&self, base: &SdkConfig, settings: &Settings, session: &str) -> Result<SdkCloud> {
        let ctx = self.context(&settings.region);
        let config = if self.assume_role {
            let provider = AssumeRoleProvider::builder(&settings.deploy_role_arn)
                .session_name(session_name(session))
                .session_length(ROLE_SESSION)
                .configure(base)
                .build()
                .await;
            // The first session now, so that a role that cannot be assumed is reported
            // as that; the SDK's identity cache asks the provider again before expiry.
            self.meter
                .time(provider.provide_credentials())
                .await
                .map_err(|e| assume_role_error(&e, settings, &ctx.endpoint))?;
            base.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build()
        } else {
            base.clone()
        };
        let sts = aws_sdk_sts::Client::new(&config);
        let identity = send!(ctx, "GetCallerIdentity", sts.get_caller_identity())
            .map_err(crate::cloud::sdk::failure::Failed::into_error)?;
        let account = identity.account().unwrap_or_default();
        if account != settings.account_id {
            return Err(DeployError::credentials(
                format!(
                    "the credentials are for account {account} ({}), but {} says {} is account {}: nothing was changed",
                    identity.arn().unwrap_or("unknown identity"),
                    settings.file.display(),
                    settings.environment,
                    settings.account_id
                ),
                format!("use credentials for {}'s deploy role, or correct account_id", settings.environment),
            ));
        }
        Ok(SdkCloud::new(&config, ctx, &settings.release_table, &settings.environment))
    }
}

/// Why the deploy role could not be assumed: an unreachable endpoint is that, not a
/// trust problem.
fn assume_role_error(
    e: &aws_credential_types::provider::error::CredentialsError,
    settings: &Settings,
    endpoint: &str,
) -> DeployError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(sdk) = err.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            if matches!(sdk, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) {
                return DeployError::Unreachable {
                    endpoint: endpoint.to_owned(),
                    problem: format!("AssumeRole {}: {}", settings.deploy_role_arn, error_chain(sdk)),
                    fix: if endpoint.starts_with("http") {
                        "start the local cloud (`make up`; `localcloud status` tells whether it runs) or point LOCALCLOUD_ENDPOINT at it".into()
                    } else {
                        "check the network path to AWS STS (proxy, DNS, VPC endpoints) and run again".into()
                    },
                };
            }
            if let Some(code) = sdk.as_service_error().and_then(ProvideErrorMetadata::code) {
                return DeployError::credentials(
                    format!(
                        "AssumeRole {}: {code}: {}",
                        settings.deploy_role_arn,
                        sdk.as_service_error().and_then(ProvideErrorMetadata::message).unwrap_or("no message")
                    ),
                    format!(
                        "check deploy_role in {} and that the role trusts the caller (`aws sts get-caller-identity` names it)",
                        settings.file.display()
                    ),
                );
            }
        }
        source = err.source();
    }
    DeployError::credentials(
        format!("AssumeRole {}: {}", settings.deploy_role_arn, error_chain(e)),
        format!("check deploy_role in {} and that the role trusts the caller", settings.file.display()),
    )
}

fn session_name(session: &str) -> String {
    let cleaned: String =
        session.chars().map(|c| if c.is_ascii_alphanumeric() || "=,.@-".contains(c) { c } else { '-' }).collect();
    cleaned.chars().take(64).collect()
}

async fn check_not_expired(config: &SdkConfig) -> Result<()> {
    let no_credentials = "configure credentials (OIDC in CI, a profile locally), or pass --local for the local cloud";
    let Some(provider) = config.credentials_provider() else {
        return Err(DeployError::credentials("no AWS credentials were found", no_credentials));
    };
    let credentials = provider.provide_credentials().await.map_err(|e| {
        DeployError::credentials(format!("no usable AWS credentials: {}", error_chain(&e)), no_credentials)
    })?;
    expiry_problem(credentials.expiry(), SystemTime::now()).map_or(Ok(()), Err)
}

/// Why credentials that expire at `expiry` cannot be used at `now`.
pub fn expiry_problem(expiry: Option<SystemTime>, now: SystemTime) -> Option<DeployError> {
    let expiry = expiry?;
    (expiry <= now).then(|| {
        let ms = expiry.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
        DeployError::credentials(
            format!("the AWS credentials expired at {}: nothing was changed", crate::ledger::rfc3339(ms)),
            "refresh them (re-run the OIDC / assume-role step, or `aws sso login`) and run again",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_credentials_are_named() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(expiry_problem(None, now).is_none());
        assert!(expiry_problem(Some(now + Duration::from_secs(60)), now).is_none());
        let p = expiry_problem(Some(now - Duration::from_secs(60)), now).unwrap().explained();
        assert!(p.contains("expired at 2023-11-14T22:12:20.000Z") && p.contains("fix:"), "{p}");
    }

    #[test]
    fn session_names_are_sanitised() {
        assert_eq!(session_name("deployer dev/r-1"), "deployer-dev-r-1");
        assert_eq!(session_name(&"x".repeat(80)).len(), 64);
    }
}

//! Credentials and clients: the caller's own (tooling) identity for the artifact store,
//! and the environment's deploy role, checked to be in the configured account before
//! anything changes.

use std::path::Path;
use std::time::SystemTime;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;

use crate::cloud::{Alarms, ArtifactStore, CodeDeploy, Lambda};
use crate::error::{DeployError, Result};
use crate::ledger::Ledger;
use crate::settings::Settings;

pub const LOCAL_DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";
/// On the local cloud an access key is an account id; the deployer acts from tooling.
pub const LOCAL_TOOLING_ACCOUNT: &str = "444444444444";

/// How the deployer reaches AWS.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The local cloud's endpoint, when targeting it.
    pub local_endpoint: Option<String>,
    /// False when the ambient credentials already are the environment's role (for
    /// example GitHub OIDC in a job bound to the environment).
    pub assume_role: bool,
}

impl Connection {
    /// The local cloud's endpoint: LOCALCLOUD_ENDPOINT, else the running cloud's
    /// `.run/localcloud/endpoint.json`, else the default port.
    pub fn local(root: &Path, assume_role: bool) -> Self {
        let endpoint = std::env::var("LOCALCLOUD_ENDPOINT").ok().filter(|e| !e.is_empty()).or_else(|| {
            let text = std::fs::read_to_string(root.join(".run/localcloud/endpoint.json")).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            v.get("endpoint")?.as_str().map(str::to_owned)
        });
        Self { local_endpoint: Some(endpoint.unwrap_or_else(|| LOCAL_DEFAULT_ENDPOINT.into())), assume_role }
    }

    pub fn is_local(&self) -> bool {
        self.local_endpoint.is_some()
    }

    /// The caller's own configuration (the tooling account).
    pub async fn base(&self, region: &str) -> Result<SdkConfig> {
        let loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.to_owned()));
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
        check_not_expired(&config).await?;
        Ok(config)
    }

    pub fn s3(&self, config: &SdkConfig) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config).force_path_style(self.is_local()).build(),
        )
    }

    pub fn artifact_store(&self, base: &SdkConfig, bucket: &str) -> ArtifactStore {
        ArtifactStore { client: self.s3(base), bucket: bucket.to_owned() }
    }

    /// Assumes the environment's deploy role (unless told the ambient credentials are
    /// it) and checks the account, before any change.
    pub async fn environment(&self, base: &SdkConfig, settings: &Settings, session: &str) -> Result<Environment> {
        let config = if self.assume_role {
            let sts = aws_sdk_sts::Client::new(base);
            let out = sts
                .assume_role()
                .role_arn(&settings.deploy_role_arn)
                .role_session_name(session_name(session))
                .duration_seconds(3600)
                .send()
                .await
                .map_err(|e| match DeployError::cloud(format!("AssumeRole {}", settings.deploy_role_arn), e) {
                    DeployError::Cloud { context, message } => DeployError::Credentials(format!(
                        "{context}: {message}\n  fix: check deploy_role in {} and that the role trusts the caller",
                        settings.file.display()
                    )),
                    other => other,
                })?;
            let c = out
                .credentials()
                .ok_or_else(|| DeployError::Credentials("AssumeRole returned no credentials".into()))?;
            let expiry = SystemTime::try_from(*c.expiration()).ok();
            let credentials = Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                expiry,
                "deploy-role",
            );
            base.to_builder()
                .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
                .build()
        } else {
            base.clone()
        };
        let identity = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| DeployError::cloud("GetCallerIdentity", e))?;
        let account = identity.account().unwrap_or_default().to_owned();
        if account != settings.account_id {
            return Err(DeployError::Credentials(format!(
                "the credentials are for account {account} ({}), but {} says {} is account {}: nothing was changed\n  fix: use credentials for {}'s deploy role, or correct account_id",
                identity.arn().unwrap_or("unknown identity"),
                settings.file.display(),
                settings.environment,
                settings.account_id,
                settings.environment
            )));
        }
        Ok(Environment {
            caller_arn: identity.arn().unwrap_or_default().to_owned(),
            lambda: Lambda(aws_sdk_lambda::Client::new(&config)),
            codedeploy: CodeDeploy(aws_sdk_codedeploy::Client::new(&config)),
            alarms: Alarms(aws_sdk_cloudwatch::Client::new(&config)),
            ledger: Ledger {
                client: aws_sdk_dynamodb::Client::new(&config),
                table: settings.release_table.clone(),
                environment: settings.environment.clone(),
            },
            settings: settings.clone(),
        })
    }
}

/// One environment's clients, acting as its deploy role.
#[derive(Clone)]
pub struct Environment {
    pub settings: Settings,
    pub caller_arn: String,
    pub lambda: Lambda,
    pub codedeploy: CodeDeploy,
    pub alarms: Alarms,
    pub ledger: Ledger,
}

fn session_name(session: &str) -> String {
    let cleaned: String =
        session.chars().map(|c| if c.is_ascii_alphanumeric() || "=,.@-".contains(c) { c } else { '-' }).collect();
    cleaned.chars().take(64).collect()
}

async fn check_not_expired(config: &SdkConfig) -> Result<()> {
    let Some(provider) = config.credentials_provider() else {
        return Err(DeployError::Credentials(
            "no AWS credentials were found\n  fix: configure credentials (OIDC in CI, a profile locally), or pass --local for the local cloud".into(),
        ));
    };
    let credentials = provider.provide_credentials().await.map_err(|e| {
        DeployError::Credentials(format!(
            "no usable AWS credentials: {}\n  fix: configure credentials (OIDC in CI, a profile locally), or pass --local for the local cloud",
            crate::error::error_chain(&e)
        ))
    })?;
    expiry_problem(credentials.expiry(), SystemTime::now()).map_or(Ok(()), |p| Err(DeployError::Credentials(p)))
}

/// Why credentials that expire at `expiry` cannot be used at `now`.
pub fn expiry_problem(expiry: Option<SystemTime>, now: SystemTime) -> Option<String> {
    let expiry = expiry?;
    (expiry <= now).then(|| {
        let ms = expiry.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
        format!(
            "the AWS credentials expired at {}: nothing was changed\n  fix: refresh them (re-run the OIDC / assume-role step, or `aws sso login`) and run again",
            crate::ledger::rfc3339(ms)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expired_credentials_are_named() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(expiry_problem(None, now).is_none());
        assert!(expiry_problem(Some(now + Duration::from_secs(60)), now).is_none());
        let p = expiry_problem(Some(now - Duration::from_secs(60)), now).unwrap();
        assert!(p.contains("expired at 2023-11-14T22:12:20.000Z") && p.contains("fix:"), "{p}");
    }

    #[test]
    fn session_names_are_sanitised() {
        assert_eq!(session_name("deployer dev/r-1"), "deployer-dev-r-1");
        assert_eq!(session_name(&"x".repeat(80)).len(), 64);
    }
}

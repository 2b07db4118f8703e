//! Errors with the exit code each one maps to. The codes are part of the interface:
//! pipelines branch on them (README, "Exit codes").

use std::path::PathBuf;

/// Exit codes, distinct per kind of outcome so a pipeline can tell them apart.
pub mod exit {
    pub const OK: i32 = 0;
    /// Unexpected failure talking to the cloud; nothing was left half-changed.
    pub const ERROR: i32 = 1;
    /// The release failed (alarm, hook, deployment) and was rolled back.
    pub const ROLLED_BACK: i32 = 2;
    /// Settings, release manifest or artifacts are wrong: fix the named file.
    pub const CONFIG: i32 = 3;
    /// Credentials are missing, expired, or for another account.
    pub const CREDENTIALS: i32 = 4;
    /// Refused by a safety rule: lock held, promotion not allowed, nothing to do.
    pub const REFUSED: i32 = 5;
    /// The environment's infrastructure is missing (function, alias, deployment group).
    pub const INFRASTRUCTURE: i32 = 6;
    /// Command-line usage error.
    pub const USAGE: i32 = 64;
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{file}: {field}: {problem}\n  fix: {fix}")]
    Settings { file: PathBuf, field: String, problem: String, fix: String },

    #[error("unknown environment {name:?}: there is no {path}\n  fix: use one of: {known}")]
    UnknownEnvironment { name: String, path: PathBuf, known: String },

    #[error("{path}: {problem}\n  fix: {fix}")]
    Artifact { path: PathBuf, problem: String, fix: String },

    #[error("{0}")]
    Credentials(String),

    #[error("the release lock of {environment} is held by {holder} since {since} (expires {expires})\n  fix: wait for that release to finish; a lock whose holder died expires on its own")]
    Locked { environment: String, holder: String, since: String, expires: String },

    #[error("{0}")]
    Refused(String),

    #[error("{0}")]
    Infrastructure(String),

    #[error("{context}: {message}")]
    Cloud { context: String, message: String },

    #[error("{0}")]
    Other(String),
}

impl DeployError {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Settings { .. } | Self::UnknownEnvironment { .. } | Self::Artifact { .. } => exit::CONFIG,
            Self::Credentials(_) => exit::CREDENTIALS,
            Self::Locked { .. } | Self::Refused(_) => exit::REFUSED,
            Self::Infrastructure(_) => exit::INFRASTRUCTURE,
            Self::Cloud { .. } | Self::Other(_) => exit::ERROR,
        }
    }

    pub fn settings(file: &std::path::Path, field: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Settings { file: file.to_owned(), field: field.to_owned(), problem: problem.into(), fix: fix.into() }
    }

    pub fn artifact(path: &std::path::Path, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Artifact { path: path.to_owned(), problem: problem.into(), fix: fix.into() }
    }

    /// Wraps an SDK error, recognising the codes that mean "your credentials".
    pub fn cloud<E>(context: impl Into<String>, err: aws_sdk_lambda::error::SdkError<E>) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let context = context.into();
        let code = err.as_service_error().and_then(|e| e.code()).map(str::to_owned);
        let message = match &err {
            aws_sdk_lambda::error::SdkError::ServiceError(s) => {
                let e = s.err();
                format!("{}: {}", e.code().unwrap_or("error"), e.message().unwrap_or("no message"))
            }
            other => error_chain(other),
        };
        match code.as_deref() {
            Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired") => Self::Credentials(format!(
                "{context}: the credentials have expired ({message})\n  fix: refresh them (re-run the OIDC / assume-role step, or `aws sso login`) and run again"
            )),
            Some(
                "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" | "AccessDenied"
                | "AccessDeniedException" | "InvalidToken",
            ) => Self::Credentials(format!(
                "{context}: the credentials were refused ({message})\n  fix: check which role the credentials are for and that it may do this"
            )),
            _ => Self::Cloud { context, message },
        }
    }

    pub fn service_code<E>(err: &aws_sdk_lambda::error::SdkError<E>) -> Option<&str>
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
    {
        err.as_service_error().and_then(|e| e.code())
    }
}

/// The error and its sources on one line: SDK errors hide the useful part in sources.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

pub type Result<T, E = DeployError> = std::result::Result<T, E>;

//! [`Versions`] and [`Aliases`] over the Lambda SDK client.

use super::{AliasRouting, Aliases, AwsError, Invocation, Versions};

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
    async fn invoke(&self, function_name: &str, qualifier: &str, payload: Vec<u8>) -> Result<Invocation, AwsError> {
        let out = self
            .client
            .invoke()
            .function_name(function_name)
            .qualifier(qualifier)
            .invocation_type(aws_sdk_lambda::types::InvocationType::RequestResponse)
            .payload(aws_smithy_types::Blob::new(payload))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(format!("invoking {function_name}:{qualifier}"), &e))?;
        Ok(Invocation {
            status_code: out.status_code(),
            function_error: out.function_error().map(str::to_owned),
            payload: out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default(),
            executed_version: out.executed_version().map(str::to_owned),
        })
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

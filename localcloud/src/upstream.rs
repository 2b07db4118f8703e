//! Calls localcloud makes to ministack on an account's behalf: the Lambda REST API
//! for aliases and hook invocations, the CloudWatch query API for alarm states.
//! ministack does not check signatures, so a scope naming the account is enough.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::percent::encode;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("ministack did not answer: {0}")]
    Transport(String),
    #[error("ministack answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub function_version: String,
    /// The additional version and its weight (0..1), if traffic is split.
    pub additional: Option<(String, f64)>,
    pub revision_id: Option<String>,
}

#[derive(Clone)]
pub struct Upstream {
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Upstream {
    pub fn new(addr: SocketAddr) -> Self {
        let mut connector = HttpConnector::new();
        // Small request/response pairs: without this, Nagle and delayed ACKs add ~40 ms each.
        connector.set_nodelay(true);
        Self { addr, client: Client::builder(TokioExecutor::new()).pool_max_idle_per_host(32).build(connector) }
    }

    pub async fn call(
        &self,
        account: &str,
        service: &str,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes), UpstreamError> {
        let mut request = Request::builder().method(method).uri(format!("http://{}{}", self.addr, path_and_query)).header(
            http::header::AUTHORIZATION,
            format!("AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"),
        );
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body)).map_err(|e| UpstreamError::Transport(e.to_string()))?;
        let response = self.client.request(request).await.map_err(|e| UpstreamError::Transport(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.map_err(|e| UpstreamError::Transport(e.to_string()))?.to_bytes();
        Ok((parts.status, parts.headers, bytes))
    }

    async fn lambda_json(
        &self,
        account: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, UpstreamError> {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let (status, _, reply) =
            self.call(account, "lambda", method, path, &[("content-type", "application/json")], bytes).await?;
        succeeded(status, &reply)?;
        Ok(serde_json::from_slice(&reply).unwrap_or(Value::Null))
    }

    pub async fn get_alias(&self, account: &str, function: &str, alias: &str) -> Result<Alias, UpstreamError> {
        let path = format!("/2015-03-31/functions/{}/aliases/{}", encode(function), encode(alias));
        let value = self.lambda_json(account, Method::GET, &path, None).await?;
        Ok(parse_alias(&value))
    }

    /// Points the alias at `version`, with `additional` taking its weight of traffic.
    pub async fn update_alias(
        &self,
        account: &str,
        function: &str,
        alias: &str,
        version: &str,
        additional: Option<(&str, f64)>,
    ) -> Result<Alias, UpstreamError> {
        let path = format!("/2015-03-31/functions/{}/aliases/{}", encode(function), encode(alias));
        let weights = match additional {
            Some((v, w)) => json!({ v: w }),
            None => json!({}),
        };
        let body = json!({ "FunctionVersion": version, "RoutingConfig": { "AdditionalVersionWeights": weights } });
        let value = self.lambda_json(account, Method::PUT, &path, Some(body)).await?;
        Ok(parse_alias(&value))
    }

    pub async fn version_exists(&self, account: &str, function: &str, version: &str) -> Result<bool, UpstreamError> {
        let path = format!("/2015-03-31/functions/{}/configuration?Qualifier={}", encode(function), encode(version));
        match self.lambda_json(account, Method::GET, &path, None).await {
            Ok(_) => Ok(true),
            Err(UpstreamError::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Invokes `function` asynchronously (InvocationType Event), as CodeDeploy invokes hooks.
    pub async fn invoke_event(&self, account: &str, function: &str, payload: &Value) -> Result<(), UpstreamError> {
        let path = format!("/2015-03-31/functions/{}/invocations", encode(function));
        let (status, _, reply) = self
            .call(
                account,
                "lambda",
                Method::POST,
                &path,
                &[("x-amz-invocation-type", "Event"), ("content-type", "application/json")],
                Bytes::from(payload.to_string()),
            )
            .await?;
        succeeded(status, &reply)?;
        Ok(())
    }

    /// Publishes to an SNS topic (alarm actions).
    pub async fn sns_publish(
        &self,
        account: &str,
        topic_arn: &str,
        subject: &str,
        message: &str,
    ) -> Result<(), UpstreamError> {
        let form = format!(
            "Action=Publish&Version=2010-03-31&TopicArn={}&Subject={}&Message={}",
            encode(topic_arn),
            encode(subject),
            encode(message)
        );
        let (status, _, reply) = self
            .call(
                account,
                "sns",
                Method::POST,
                "/",
                &[("content-type", "application/x-www-form-urlencoded")],
                Bytes::from(form),
            )
            .await?;
        succeeded(status, &reply)?;
        Ok(())
    }
}

/// A non-success reply as an error carrying its status and body.
fn succeeded(status: StatusCode, reply: &[u8]) -> Result<(), UpstreamError> {
    if status.is_success() {
        return Ok(());
    }
    Err(UpstreamError::Status { status: status.as_u16(), body: String::from_utf8_lossy(reply).into_owned() })
}

fn parse_alias(value: &Value) -> Alias {
    let additional = value
        .pointer("/RoutingConfig/AdditionalVersionWeights")
        .and_then(Value::as_object)
        .and_then(|m| m.iter().next())
        .and_then(|(v, w)| Some((v.clone(), w.as_f64()?)));
    Alias {
        function_version: value.get("FunctionVersion").and_then(Value::as_str).unwrap_or_default().to_owned(),
        additional,
        revision_id: value.get("RevisionId").and_then(Value::as_str).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_alias_weights() {
        let alias =
            parse_alias(&json!({"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}}}));
        assert_eq!(alias.additional, Some(("2".into(), 0.1)));
        assert_eq!(parse_alias(&json!({"FunctionVersion": "3"})).additional, None);
    }
}

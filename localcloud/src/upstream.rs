//! Calls localcloud makes to ministack on an account's behalf: the Lambda REST API
//! for aliases and hook invocations, the CloudWatch query API for alarm states.
//! ministack does not check signatures, so a scope naming the account is enough.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioTimer};
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

/// How long ministack's server keeps an idle connection open before closing it. The
/// launcher sets it (ministack's own main() says 75 s), so that localcloud's pool below
/// is sure to be the side that closes first.
pub const MINISTACK_KEEP_ALIVE: Duration = Duration::from_secs(75);

/// How long localcloud keeps an idle connection to ministack for reuse. It must stay well
/// under [`MINISTACK_KEEP_ALIVE`]: a request written on a connection just as the server
/// closes it for idleness can be applied and its reply lost (hypercorn closes from a
/// timer that a request arriving at that moment does not cancel). hyper's default, 90 s,
/// outlived ministack's 75 s, and the Terraform provider's retry of such a lost
/// CreateTable or CreateFunction failed applies with "already exists". Measured on
/// ministack directly: of 120 requests sent within 20 ms of the 75 s mark, 10 were
/// applied with no reply.
pub const POOL_IDLE: Duration = Duration::from_secs(20);
const _: () = assert!(POOL_IDLE.as_secs() * 3 <= MINISTACK_KEEP_ALIVE.as_secs());

/// The HTTP client localcloud talks to ministack with: no Nagle delay (small
/// request/response pairs gain ~40 ms each without it), and pooled connections dropped
/// once idle for [`POOL_IDLE`].
pub fn ministack_client<B>() -> Client<HttpConnector, B>
where
    B: hyper::body::Body + Send,
    B::Data: Send,
{
    pooled_client(POOL_IDLE)
}

fn pooled_client<B>(idle: Duration) -> Client<HttpConnector, B>
where
    B: hyper::body::Body + Send,
    B::Data: Send,
{
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .pool_idle_timeout(idle)
        .pool_timer(TokioTimer::new())
        .build(connector)
}

#[derive(Clone)]
pub struct Upstream {
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Upstream {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, client: ministack_client() }
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

    /// A loopback server that answers every request and counts the connections it accepted.
    async fn counting_server() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_request| async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (addr, accepted)
    }

    #[tokio::test]
    async fn a_connection_idle_past_the_pool_limit_is_not_reused() {
        let (addr, accepted) = counting_server().await;
        let client = pooled_client::<Full<Bytes>>(Duration::from_millis(150));
        let get = || async {
            let request =
                Request::get(format!("http://{addr}/")).body(Full::new(Bytes::new())).unwrap_or_else(|e| panic!("{e}"));
            let response = client.request(request).await.unwrap_or_else(|e| panic!("{e}"));
            let _ = response.into_body().collect().await;
        };
        let connections = || accepted.load(std::sync::atomic::Ordering::SeqCst);
        get().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        get().await;
        assert_eq!(connections(), 1, "a connection idle under the limit is reused");
        // Past the limit, the server may be closing it: a request there could be applied
        // and its reply lost, so the pool opens a new connection instead.
        tokio::time::sleep(Duration::from_millis(400)).await;
        get().await;
        assert_eq!(connections(), 2, "a connection idle past the limit is dropped, not reused");
    }
}

//! The public endpoint. localcloud answers what it owns (CodeDeploy, CloudWatch
//! metrics and alarms, weighted alias invokes) and passes every other request to
//! ministack unchanged: same method, path, query, headers and body, streamed both ways.
//! With fault injection on, each request may first get an injected fault instead
//! (see [`crate::faults`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::account::{self, AccountCache};
use crate::answer_watch;
use crate::api::{ApiError, Params};
use crate::cloudwatch::wire::{self, Protocol};
use crate::cloudwatch::{CloudWatch, InvokeRecord};
use crate::codedeploy::{self, CodeDeploy};
use crate::connection::{Connection, ResetSwitch};
use crate::faults::{self, classify, FaultKind, Faults};
use crate::routing;
use crate::upstream::Upstream;

pub type Body = BoxBody<Bytes, hyper::Error>;

/// Headers that describe one hop's connection, not the message (RFC 9110 7.6.1).
const HOP_BY_HOP: [&str; 7] =
    ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/// The largest request body localcloud reads itself (its API calls are small).
const MAX_OWNED_BODY: usize = 1 << 20;

pub struct Proxy {
    upstream: SocketAddr,
    client: Client<HttpConnector, Body>,
    calls: Upstream,
    accounts: AccountCache,
    codedeploy: Arc<CodeDeploy>,
    cloudwatch: Arc<CloudWatch>,
    router: routing::WeightedRouter,
    faults: Arc<Faults>,
}

/// Why a connection was closed instead of answered (an injected fault).
#[derive(Debug, thiserror::Error)]
pub enum Dropped {
    #[error("injected fault: connection reset before the request was forwarded")]
    Reset,
    #[error("injected fault: the request was applied and its reply dropped")]
    LostReply,
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never: Infallible| match never {}).boxed()
}

impl Proxy {
    pub fn new(
        upstream: SocketAddr,
        codedeploy: Arc<CodeDeploy>,
        cloudwatch: Arc<CloudWatch>,
        faults: Arc<Faults>,
    ) -> Self {
        Self {
            upstream,
            client: crate::upstream::ministack_client(),
            calls: Upstream::new(upstream),
            accounts: AccountCache::default(),
            codedeploy,
            cloudwatch,
            router: routing::WeightedRouter::from_env(),
            faults,
        }
    }

    /// Answers one request, or drops its connection when an injected fault says so.
    pub async fn handle(
        &self,
        request: Request<Incoming>,
        connection: &ResetSwitch,
    ) -> Result<Response<Body>, Dropped> {
        let path = request.uri().path().to_owned();
        if path.starts_with("/_localcloud/") {
            return Ok(self.admin(request).await);
        }
        let request = request.map(BodyExt::boxed);
        // The emulator's own endpoints (health, reset) are the lifecycle's, not an API.
        if path.starts_with("/_ministack/") {
            return Ok(self.route(request).await);
        }
        if !self.faults.is_on() {
            let call = classify::classify(request.method(), request.uri(), request.headers(), None);
            return Ok(self.route_watched(request, &call).await);
        }
        let (request, call) = match self.classify(request).await {
            Ok(classified) => classified,
            Err(response) => return Ok(response),
        };
        match self.faults.draw(&call) {
            None => Ok(self.route_watched(request, &call).await),
            Some(FaultKind::Throttle) => Ok(faults::wire::throttle(&call).map(full)),
            Some(FaultKind::Error) => Ok(faults::wire::server_error().map(full)),
            Some(FaultKind::Reset) => {
                tracing::debug!(service = %call.service, operation = %call.operation, "injected: reset");
                connection.reset_on_close();
                Err(Dropped::Reset)
            }
            Some(FaultKind::LostReply) => {
                let response = self.route(request).await;
                tracing::debug!(service = %call.service, operation = %call.operation, status = %response.status(), "injected: reply lost");
                Err(Dropped::LostReply)
            }
        }
    }

    /// What the request is, for fault injection. A query-protocol form is read (and
    /// put back) when the spec filters on operations, whose names are in the body.
    async fn classify(&self, request: Request<Body>) -> Result<(Request<Body>, faults::Call), Response<Body>> {
        let (parts, body) = request.into_parts();
        let (body, action) = if self.faults.filters_operations() && classify::is_form(&parts.method, &parts.headers) {
            let bytes = read_limited(body, MAX_OWNED_BODY)
                .await
                .map_err(|message| json(StatusCode::BAD_REQUEST, ApiError::validation(message).json_body()))?;
            let action = classify::query_action(&String::from_utf8_lossy(&bytes));
            (full(bytes), action)
        } else {
            (body, None)
        };
        let call = classify::classify(&parts.method, &parts.uri, &parts.headers, action.as_deref());
        Ok((Request::from_parts(parts, body), call))
    }

    /// localcloud's own endpoints: health, reset, and the fault report and setting.
    async fn admin(&self, request: Request<Incoming>) -> Response<Body> {
        let path = request.uri().path().to_owned();
        match (request.method().clone(), path.as_str()) {
            (_, "/_localcloud/health") => json(StatusCode::OK, r#"{"status":"ok","service":"localcloud"}"#.to_owned()),
            (http::Method::POST, "/_localcloud/reset") => {
                self.codedeploy.reset();
                self.cloudwatch.reset();
                json(StatusCode::OK, r#"{"reset":"ok"}"#.to_owned())
            }
            (http::Method::GET, "/_localcloud/faults") => self.fault_report(),
            (http::Method::PUT, "/_localcloud/faults") => {
                let text = match read_limited(request.into_body().boxed(), MAX_OWNED_BODY).await {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(message) => return json(StatusCode::BAD_REQUEST, ApiError::validation(message).json_body()),
                };
                match faults::spec::parse(&text) {
                    Ok(spec) => {
                        tracing::info!(faults = %spec.as_ref().map(ToString::to_string).unwrap_or_else(|| "off".into()), "fault injection set");
                        self.faults.set(spec);
                        self.fault_report()
                    }
                    Err(err) => json(StatusCode::BAD_REQUEST, error_body("InvalidFaultSpec", &err.to_string())),
                }
            }
            _ => json(StatusCode::NOT_FOUND, error_body("NotFound", &format!("localcloud has no endpoint {path}"))),
        }
    }

    fn fault_report(&self) -> Response<Body> {
        json(StatusCode::OK, serde_json::to_string(&self.faults.report()).unwrap_or_default())
    }

    /// Routes the request, and warns when its answer is a server error or slow: what a
    /// client's retries would otherwise hide (see [`answer_watch`]).
    async fn route_watched(&self, request: Request<Body>, call: &faults::Call) -> Response<Body> {
        let started = Instant::now();
        let response = self.route(request).await;
        let elapsed = started.elapsed();
        if let Some(noteworthy) = answer_watch::judge(call, response.status(), elapsed) {
            tracing::warn!(
                service = %call.service, operation = %call.operation, status = %response.status(),
                seconds = elapsed.as_secs_f64(), "{}", noteworthy.message()
            );
        }
        response
    }

    /// Dispatches a request to the service that owns it.
    async fn route(&self, request: Request<Body>) -> Response<Body> {
        let path = request.uri().path();
        let target = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if let Some(operation) = target.strip_prefix(codedeploy::TARGET_PREFIX) {
            let operation = operation.to_owned();
            return self.codedeploy_call(&operation, request).await;
        }
        if let Some(operation) = target.strip_prefix(wire::JSON_TARGET_PREFIX) {
            let operation = operation.to_owned();
            return self.cloudwatch_call(Protocol::Json, Some(operation), request).await;
        }
        if let Some(operation) = path.strip_prefix(wire::CBOR_PATH_PREFIX) {
            let operation = operation.to_owned();
            return self.cloudwatch_call(Protocol::Cbor, Some(operation), request).await;
        }
        if request.method() == http::Method::POST {
            if account::credential(request.headers()).is_some_and(|c| c.service == "monitoring") {
                return self.cloudwatch_call(Protocol::Query, None, request).await;
            }
            if let Some(invoke) = routing::parse_invoke(request.uri()) {
                return self.invoke(invoke, request).await;
            }
        }
        self.forward(request).await
    }

    async fn codedeploy_call(&self, operation: &str, request: Request<Body>) -> Response<Body> {
        let account = self.account(request.headers()).await;
        let body = match read_limited(request.into_body(), MAX_OWNED_BODY).await {
            Ok(body) => body,
            Err(message) => return json(StatusCode::BAD_REQUEST, ApiError::validation(message).json_body()),
        };
        match self.codedeploy.handle(&account, operation, &body).await {
            Ok(value) => json(StatusCode::OK, value.to_string()),
            Err(err) => {
                tracing::debug!(%account, operation, code = err.code, message = %err.message, "CodeDeploy error");
                json(StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST), err.json_body())
            }
        }
    }

    async fn cloudwatch_call(
        &self,
        protocol: Protocol,
        operation: Option<String>,
        request: Request<Body>,
    ) -> Response<Body> {
        let account = self.account(request.headers()).await;
        let (parts, body) = request.into_parts();
        let body = match read_limited(body, MAX_OWNED_BODY).await {
            Ok(body) => body,
            Err(message) => {
                let error = ApiError::new("InvalidParameterValue", message);
                return reply(wire::render(protocol, operation.as_deref().unwrap_or("Unknown"), Err(error)));
            }
        };
        let decoded = match protocol {
            Protocol::Query => Ok(wire::decode_query(&String::from_utf8_lossy(&body))),
            Protocol::Cbor => wire::decode_cbor(&body).map(|v| (operation.clone(), v)),
            Protocol::Json => serde_json::from_slice(if body.is_empty() { b"{}" } else { &body })
                .map(|v| (operation.clone(), v))
                .map_err(|e| format!("the request body is not valid JSON: {e}")),
        };
        let (operation, input) = match decoded {
            Ok((Some(op), input)) => (op, input),
            Ok((None, _)) => {
                let error = ApiError::new("MissingAction", "the request names no Action");
                return reply(wire::render(protocol, "Unknown", Err(error)));
            }
            Err(message) => {
                let error = ApiError::new("SerializationException", message);
                return reply(wire::render(protocol, operation.as_deref().unwrap_or("Unknown"), Err(error)));
            }
        };
        // The query protocol's fields are all text; JSON and CBOR carry types.
        let params = match protocol {
            Protocol::Query => Params::text(&input),
            Protocol::Cbor | Protocol::Json => Params::typed(&input),
        };
        match self.cloudwatch.handle(&account, &operation, &params).await {
            Some(result) => reply(wire::render(protocol, &operation, result)),
            // Dashboards, insight rules and the like: ministack's.
            None => self.forward_parts(parts, full(body)).await,
        }
    }

    /// An invoke: through an alias, pick the version by the alias weights (ministack
    /// stores them but always runs the primary) and report it in X-Amz-Executed-Version
    /// as Lambda does; in every case record the invoke's metrics.
    async fn invoke(&self, invoke: routing::Invoke, mut request: Request<Body>) -> Response<Body> {
        let account = self.account(request.headers()).await;
        let started = Instant::now();
        let asynchronous = request
            .headers()
            .get("x-amz-invocation-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t != "RequestResponse");
        let mut chosen = None;
        if let Some(qualifier) = invoke.qualifier.as_deref().filter(|q| routing::is_alias(q)) {
            if let Ok(alias) = self.calls.get_alias(&account, &invoke.function, qualifier).await {
                let version = self.router.pick(&alias);
                if let Some(uri) = routing::with_qualifier(request.uri(), &invoke, &version) {
                    *request.uri_mut() = uri;
                    chosen = Some(version);
                }
            }
        }
        let mut response = self.forward(request).await;
        if let Some(value) = chosen.as_deref().and_then(|v| http::HeaderValue::from_str(v).ok()) {
            response.headers_mut().insert("x-amz-executed-version", value);
        }
        let status = response.status();
        let throttled = status == StatusCode::TOO_MANY_REQUESTS;
        if status.is_success() || throttled {
            let executed =
                response.headers().get("x-amz-executed-version").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let function =
                invoke.function.rsplit_once("function:").map_or(invoke.function.as_str(), |(_, name)| name).to_owned();
            let record = InvokeRecord {
                function,
                qualifier: invoke.qualifier.clone(),
                executed_version: executed
                    .or(chosen)
                    .or_else(|| invoke.qualifier.clone().filter(|q| !routing::is_alias(q))),
                duration_ms: (!asynchronous).then(|| started.elapsed().as_secs_f64() * 1000.0),
                error: response.headers().contains_key("x-amz-function-error"),
                throttled,
            };
            self.cloudwatch.record_invoke(&account, &record);
        }
        response
    }

    /// The request's account: its 12-digit access key, or for an assumed-role key
    /// the account ministack associates with it (asked once, then remembered).
    async fn account(&self, headers: &HeaderMap) -> String {
        let Some(credential) = account::credential(headers) else { return account::DEFAULT_ACCOUNT.to_owned() };
        if let Some(known) = self.accounts.get(&credential.access_key_id) {
            return known;
        }
        let token = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let mut extra = vec![("content-type", "application/x-www-form-urlencoded")];
        if !token.is_empty() {
            extra.push(("x-amz-security-token", token.as_str()));
        }
        let reply = self
            .calls
            .call(
                &credential.access_key_id,
                "sts",
                http::Method::POST,
                "/",
                &extra,
                Bytes::from_static(b"Action=GetCallerIdentity&Version=2011-06-15"),
            )
            .await;
        match reply.ok().and_then(|(_, _, body)| account::account_from_caller_identity(&String::from_utf8_lossy(&body)))
        {
            Some(found) => {
                self.accounts.remember(&credential.access_key_id, &found);
                found
            }
            None => account::DEFAULT_ACCOUNT.to_owned(),
        }
    }

    async fn forward(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        self.forward_parts(parts, body).await
    }

    async fn forward_parts(&self, mut parts: http::request::Parts, body: Body) -> Response<Body> {
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let uri = match format!("http://{}{}", self.upstream, path_and_query).parse::<http::Uri>() {
            Ok(uri) => uri,
            Err(err) => return json(StatusCode::BAD_REQUEST, error_body("InvalidURI", &err.to_string())),
        };
        parts.uri = uri;
        strip_hop_by_hop(&mut parts.headers);
        match self.client.request(Request::from_parts(parts, body)).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, body.boxed())
            }
            Err(err) => {
                tracing::warn!(error = %err, upstream = %self.upstream, "ministack did not answer");
                json(
                    StatusCode::BAD_GATEWAY,
                    error_body("ServiceUnavailable", &format!("ministack at {} did not answer: {err}", self.upstream)),
                )
            }
        }
    }
}

fn reply(rendered: wire::Reply) -> Response<Body> {
    let mut response = Response::new(full(rendered.body));
    *response.status_mut() = StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::BAD_REQUEST);
    for (name, value) in rendered.headers {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Reads a body of at most `limit` bytes.
async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, String> {
    let mut buffer = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("reading the request body failed: {e}"))?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(format!("the request body is larger than {limit} bytes"));
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer.freeze())
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Names listed in Connection are hop-by-hop too.
    let listed: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

fn error_body(code: &'static str, message: &str) -> String {
    ApiError::new(code, message).json_body()
}

pub fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-amz-json-1.1"));
    response
}

/// Serves until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    proxy: Arc<Proxy>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = shutdown.changed() => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            let switch = ResetSwitch::default();
            let connection = Connection::new(stream, switch.clone());
            let service = service_fn(move |request: Request<Incoming>| {
                let (proxy, switch) = (Arc::clone(&proxy), switch.clone());
                let (method, path) = (request.method().clone(), request.uri().path().to_owned());
                async move {
                    let answer = proxy.handle(request, &switch).await;
                    tracing::debug!(%peer, %method, path, status = ?answer.as_ref().map(Response::status), "answered");
                    answer
                }
            });
            // A Dropped from the service ends the connection without an answer.
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(connection), service)
                .await
            {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
}

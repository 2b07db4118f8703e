//! The public endpoint. Requests that localcloud does not own go to ministack
//! unchanged: same method, path, query, headers and body, streamed both ways.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub type Body = BoxBody<Bytes, hyper::Error>;

/// Headers that describe one hop's connection, not the message (RFC 9110 7.6.1).
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub struct Proxy {
    upstream: SocketAddr,
    client: Client<HttpConnector, Incoming>,
}

impl Proxy {
    pub fn new(upstream: SocketAddr) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(64)
            .build(connector);
        Self { upstream, client }
    }

    pub async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let path = request.uri().path();
        if path == "/_localcloud/health" {
            return json(
                StatusCode::OK,
                r#"{"status":"ok","service":"localcloud"}"#.to_owned(),
            );
        }
        if path == "/_localcloud/reset" && request.method() == http::Method::POST {
            return json(StatusCode::OK, r#"{"reset":"ok"}"#.to_owned());
        }
        self.forward(request).await
    }

    async fn forward(&self, request: Request<Incoming>) -> Response<Body> {
        let (mut parts, body) = request.into_parts();
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let uri = match format!("http://{}{}", self.upstream, path_and_query).parse::<http::Uri>() {
            Ok(uri) => uri,
            Err(err) => {
                return json(
                    StatusCode::BAD_REQUEST,
                    error_body("InvalidURI", &err.to_string()),
                )
            }
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
                    error_body(
                        "ServiceUnavailable",
                        &format!("ministack at {} did not answer: {err}", self.upstream),
                    ),
                )
            }
        }
    }
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

fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "__type": code, "message": message }).to_string()
}

pub fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
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
            let service = service_fn(move |request| {
                let proxy = Arc::clone(&proxy);
                async move { Ok::<_, Infallible>(proxy.handle(request).await) }
            });
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
}

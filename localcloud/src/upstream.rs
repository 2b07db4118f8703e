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

fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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
        if !status.is_success() {
            return Err(UpstreamError::Status {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&reply).into_owned(),
            });
        }
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
        if !status.is_success() {
            return Err(UpstreamError::Status {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&reply).into_owned(),
            });
        }
        Ok(())
    }

    /// The state of each named alarm (`OK`, `ALARM`, `INSUFFICIENT_DATA`); a name with
    /// no alarm is missing from the map.
    pub async fn alarm_states(
        &self,
        account: &str,
        names: &[String],
    ) -> Result<std::collections::HashMap<String, String>, UpstreamError> {
        let mut form = String::from("Action=DescribeAlarms&Version=2010-08-01");
        for (i, name) in names.iter().enumerate() {
            form.push_str(&format!("&AlarmNames.member.{}={}", i + 1, encode(name)));
        }
        let (status, _, reply) = self
            .call(
                account,
                "monitoring",
                Method::POST,
                "/",
                &[("content-type", "application/x-www-form-urlencoded")],
                Bytes::from(form),
            )
            .await?;
        let text = String::from_utf8_lossy(&reply).into_owned();
        if !status.is_success() {
            return Err(UpstreamError::Status { status: status.as_u16(), body: text });
        }
        Ok(parse_alarm_states(&text))
    }
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

/// Pulls `AlarmName` / `StateValue` pairs out of a DescribeAlarms XML reply: each
/// alarm's state is the first StateValue after its name and before the next alarm.
pub fn parse_alarm_states(xml: &str) -> std::collections::HashMap<String, String> {
    const NAME: &str = "<AlarmName>";
    const STATE: &str = "<StateValue>";
    let mut states = std::collections::HashMap::new();
    let starts: Vec<usize> = xml.match_indices(NAME).map(|(i, _)| i).collect();
    for (n, start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(xml.len());
        let chunk = &xml[*start..end];
        let value = |open: &str| -> Option<String> {
            let from = chunk.find(open)? + open.len();
            let to = chunk[from..].find('<')? + from;
            Some(chunk[from..to].to_owned())
        };
        if let (Some(name), Some(state)) = (value(NAME), value(STATE)) {
            states.insert(name, state);
        }
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_alarm_states() {
        let xml = "<DescribeAlarmsResponse><DescribeAlarmsResult><MetricAlarms><member><AlarmName>a</AlarmName><StateValue>OK</StateValue></member>\
                   <member><AlarmName>b</AlarmName><Dimensions><member><Name>x</Name></member></Dimensions><StateValue>ALARM</StateValue></member>\
                   </MetricAlarms></DescribeAlarmsResult></DescribeAlarmsResponse>";
        let states = parse_alarm_states(xml);
        assert_eq!(states.get("a").map(String::as_str), Some("OK"));
        assert_eq!(states.get("b").map(String::as_str), Some("ALARM"));
    }

    #[test]
    fn reads_alias_weights() {
        let alias =
            parse_alias(&json!({"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}}}));
        assert_eq!(alias.additional, Some(("2".into(), 0.1)));
        assert_eq!(parse_alias(&json!({"FunctionVersion": "3"})).additional, None);
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(
            encode("arn:aws:lambda:us-east-1:1:function:f"),
            "arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af"
        );
    }
}

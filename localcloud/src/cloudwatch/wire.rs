//! CloudWatch's three wire protocols: the query protocol (form in, XML out) that
//! Terraform's provider speaks, smithy RPC v2 CBOR that the Rust SDK speaks, and
//! JSON 1.0. Requests decode to one JSON value; replies render from one tree.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::api::ids::request_id;
use crate::api::time::iso8601;
use crate::api::ApiError;

pub const CBOR_PATH_PREFIX: &str = "/service/GraniteServiceVersion20100801/operation/";
pub const JSON_TARGET_PREFIX: &str = "GraniteServiceVersion20100801.";
const XMLNS: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Query,
    Cbor,
    Json,
}

/// A reply tree. `Time` is seconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Time(f64),
    List(Vec<Out>),
    Map(Vec<(String, Out)>),
}

impl Out {
    pub fn map() -> Self {
        Out::Map(Vec::new())
    }

    /// Adds a field (builder style).
    pub fn with(mut self, key: &str, value: Out) -> Self {
        if let Out::Map(fields) = &mut self {
            fields.push((key.to_owned(), value));
        }
        self
    }

    pub fn with_opt(self, key: &str, value: Option<Out>) -> Self {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    pub fn str(s: impl Into<String>) -> Self {
        Out::Str(s.into())
    }
}

/// Query form -> (Action, nested input): `Dimensions.member.1.Name=x` becomes
/// `{"Dimensions": [{"Name": "x"}]}`. Values stay strings.
pub fn decode_query(form: &str) -> (Option<String>, Value) {
    let mut root = Value::Object(Map::new());
    let mut action = None;
    for pair in form.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (crate::percent::decode(key, true), crate::percent::decode(value, true));
        match key.as_str() {
            "Action" => action = Some(value),
            "Version" => {}
            _ => {
                let path: Vec<&str> = key.split('.').collect();
                insert(&mut root, &path, Value::String(value));
            }
        }
    }
    (action, root)
}

fn insert(node: &mut Value, path: &[&str], value: Value) {
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Some(object) = node.as_object_mut() else { return };
    let key = path[0].to_owned();
    if path.len() == 1 {
        object.insert(key, value);
        return;
    }
    if path[1] == "member" {
        if let Some(index) = path.get(2).and_then(|n| n.parse::<usize>().ok()).filter(|n| *n >= 1) {
            let list = object.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if !list.is_array() {
                *list = Value::Array(Vec::new());
            }
            let Some(items) = list.as_array_mut() else { return };
            while items.len() < index {
                items.push(Value::Null);
            }
            if path.len() == 3 {
                items[index - 1] = value;
            } else {
                insert(&mut items[index - 1], &path[3..], value);
            }
            return;
        }
    }
    let child = object.entry(key).or_insert_with(|| Value::Object(Map::new()));
    insert(child, &path[1..], value);
}

fn cbor_to_json(value: ciborium::Value) -> Value {
    use ciborium::Value as C;
    match value {
        C::Integer(i) => i128::from(i).try_into().map(|n: i64| Value::from(n)).unwrap_or(Value::Null),
        C::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        C::Text(s) => Value::String(s),
        C::Bool(b) => Value::Bool(b),
        C::Null => Value::Null,
        C::Bytes(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
        // Tag 1: an epoch timestamp.
        C::Tag(_, inner) => cbor_to_json(*inner),
        C::Array(items) => Value::Array(items.into_iter().map(cbor_to_json).collect()),
        C::Map(entries) => Value::Object(
            entries
                .into_iter()
                .filter_map(|(k, v)| match k {
                    C::Text(k) => Some((k, cbor_to_json(v))),
                    _ => None,
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

pub fn decode_cbor(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let value: ciborium::Value =
        ciborium::from_reader(body).map_err(|e| format!("the request body is not valid CBOR: {e}"))?;
    Ok(cbor_to_json(value))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.1}")
    } else {
        format!("{n}")
    }
}

fn to_xml(out: &Out, buf: &mut String) {
    match out {
        Out::Str(s) => buf.push_str(&xml_escape(s)),
        Out::Num(n) => buf.push_str(&fmt_num(*n)),
        Out::Int(i) => buf.push_str(&i.to_string()),
        Out::Bool(b) => buf.push_str(if *b { "true" } else { "false" }),
        Out::Time(t) => buf.push_str(&iso8601(*t)),
        Out::List(items) => {
            for item in items {
                buf.push_str("<member>");
                to_xml(item, buf);
                buf.push_str("</member>");
            }
        }
        Out::Map(fields) => {
            for (key, value) in fields {
                buf.push_str(&format!("<{key}>"));
                to_xml(value, buf);
                buf.push_str(&format!("</{key}>"));
            }
        }
    }
}

fn to_cbor(out: &Out) -> ciborium::Value {
    use ciborium::Value as C;
    match out {
        Out::Str(s) => C::Text(s.clone()),
        Out::Num(n) => C::Float(*n),
        Out::Int(i) => C::Integer((*i).into()),
        Out::Bool(b) => C::Bool(*b),
        Out::Time(t) => C::Tag(1, Box::new(C::Float(*t))),
        Out::List(items) => C::Array(items.iter().map(to_cbor).collect()),
        Out::Map(fields) => C::Map(fields.iter().map(|(k, v)| (C::Text(k.clone()), to_cbor(v))).collect()),
    }
}

fn to_json(out: &Out) -> Value {
    match out {
        Out::Str(s) => Value::String(s.clone()),
        Out::Num(n) | Out::Time(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Out::Int(i) => Value::from(*i),
        Out::Bool(b) => Value::Bool(*b),
        Out::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Out::Map(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// A rendered reply: status, headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

pub fn render(protocol: Protocol, operation: &str, result: Result<Out, ApiError>) -> Reply {
    let request_id = request_id();
    match (protocol, result) {
        (Protocol::Query, Ok(out)) => {
            let mut body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{operation}Response xmlns=\"{XMLNS}\"><{operation}Result>");
            to_xml(&out, &mut body);
            body.push_str(&format!(
                "</{operation}Result><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
            ));
            Reply { status: 200, headers: vec![("content-type", "text/xml".into())], body: Bytes::from(body) }
        }
        (Protocol::Query, Err(err)) => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                err.code,
                xml_escape(&err.message)
            );
            Reply { status: err.status, headers: vec![("content-type", "text/xml".into())], body: Bytes::from(body) }
        }
        (Protocol::Cbor, result) => {
            let (status, out, error) = match result {
                Ok(out) => (200, out, None),
                Err(err) => {
                    let out =
                        Out::map().with("__type", Out::str(err.code)).with("message", Out::str(err.message.clone()));
                    (err.status, out, Some(err.code))
                }
            };
            let mut body = Vec::new();
            let _ = ciborium::into_writer(&to_cbor(&out), &mut body);
            let mut headers =
                vec![("content-type", "application/cbor".into()), ("smithy-protocol", "rpc-v2-cbor".into())];
            if let Some(code) = error {
                headers.push(("x-amzn-query-error", format!("{code};Sender")));
            }
            Reply { status, headers, body: Bytes::from(body) }
        }
        (Protocol::Json, result) => {
            let (status, body, error) = match result {
                Ok(out) => (200, to_json(&out).to_string(), None),
                Err(err) => (err.status, err.json_body(), Some(err.code)),
            };
            let mut headers = vec![("content-type", "application/x-amz-json-1.0".into())];
            if let Some(code) = error {
                headers.push(("x-amzn-query-error", format!("{code};Sender")));
            }
            Reply { status, headers, body: Bytes::from(body) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unflattens_query_members() {
        let (action, input) = decode_query(
            "Action=PutMetricAlarm&Version=2010-08-01&AlarmName=a%20b&Dimensions.member.1.Name=FunctionName&Dimensions.member.1.Value=f&Dimensions.member.2.Name=Resource&Dimensions.member.2.Value=f%3Alive&AlarmActions.member.1=arn",
        );
        assert_eq!(action.as_deref(), Some("PutMetricAlarm"));
        assert_eq!(input["AlarmName"], "a b");
        assert_eq!(input["Dimensions"][1]["Value"], "f:live");
        assert_eq!(input["AlarmActions"][0], "arn");
    }

    #[test]
    fn cbor_round_trips_with_timestamps() {
        let out = Out::map().with("When", Out::Time(1.5)).with("Names", Out::List(vec![Out::str("a")]));
        let reply = render(Protocol::Cbor, "X", Ok(out));
        let back = decode_cbor(&reply.body).unwrap();
        assert_eq!(back["When"], 1.5);
        assert_eq!(back["Names"][0], "a");
    }

    #[test]
    fn xml_wraps_lists_in_members_and_escapes() {
        let out = Out::map().with("MetricAlarms", Out::List(vec![Out::map().with("AlarmName", Out::str("a<b"))]));
        let reply = render(Protocol::Query, "DescribeAlarms", Ok(out));
        let body = String::from_utf8(reply.body.to_vec()).unwrap();
        assert!(body.contains(
            "<DescribeAlarmsResult><MetricAlarms><member><AlarmName>a&lt;b</AlarmName></member></MetricAlarms>"
        ));
    }
}

//! CloudWatch's three wire protocols: the query protocol (form in, XML out) that
//! Terraform's provider speaks, smithy RPC v2 CBOR that the Rust SDK speaks, and
//! JSON 1.0. Requests decode to one JSON value; replies render from one tree.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::codedeploy::error::ApiError;

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

/// Seconds since the epoch -> `2026-11-23T06:40:00.000Z`.
pub fn iso8601(epoch: f64) -> String {
    let millis = (epoch * 1000.0).round() as i64;
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `2026-11-23T06:40:00Z` (fraction and offset optional) or epoch seconds -> epoch seconds.
pub fn parse_time(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            if let Ok(n) = s.parse::<f64>() {
                return Some(n);
            }
            let s = s.trim().trim_end_matches('Z');
            let (date, time) = s.split_once('T')?;
            let mut d = date.split('-').map(|p| p.parse::<i64>());
            let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
            let (time, offset) = match time.rfind(['+', '-']) {
                Some(i) if i > 0 => (&time[..i], Some(&time[i..])),
                _ => (time, None),
            };
            let mut t = time.split(':');
            let (hh, mm) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
            let ss: f64 = t.next().unwrap_or("0").parse().ok()?;
            let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
            let era = y2.div_euclid(400);
            let yoe = y2 - era * 400;
            let doy = (153 * m2 + 2) / 5 + day - 1;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            let days = era * 146_097 + doe - 719_468;
            let mut epoch = (days * 86_400 + hh * 3600 + mm * 60) as f64 + ss;
            if let Some(offset) = offset {
                let sign = if offset.starts_with('-') { -1.0 } else { 1.0 };
                let mut o = offset[1..].split(':');
                let oh: f64 = o.next()?.parse().ok()?;
                let om: f64 = o.next().unwrap_or("0").parse().ok()?;
                epoch -= sign * (oh * 3600.0 + om * 60.0);
            }
            Some(epoch)
        }
        _ => None,
    }
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
    let request_id = crate::codedeploy::uuid();
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
                Err(err) => (err.status, err.body(), Some(err.code)),
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
    fn times_round_trip() {
        let t = parse_time(&Value::String("2026-11-23T06:40:05.250Z".into())).unwrap();
        assert_eq!(iso8601(t), "2026-11-23T06:40:05.250Z");
        assert_eq!(parse_time(&Value::String("1970-01-02T00:00:00+01:00".into())), Some(82_800.0));
        assert_eq!(parse_time(&serde_json::json!(12.5)), Some(12.5));
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

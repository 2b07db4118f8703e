//! Request parameters, read with one behaviour in every service and protocol:
//! - a missing (or null, or empty-string) required field is the service's own
//!   "required" error, named by the caller (`ApplicationNameRequiredException`,
//!   `MissingParameter`, ...);
//! - a field of the wrong type is HTTP 400 `SerializationException` naming the field,
//!   as AWS's JSON protocols answer it, never silently dropped or coerced.
//!
//! JSON and CBOR bodies carry their own types ([`Encoding::Typed`]). The query
//! protocol's form fields are all text ([`Encoding::Text`]): a number or boolean is
//! parsed from its text, and an empty value is an empty list (the AWS query
//! serializers send `AlarmActions=` for an empty list).

use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JSON or CBOR: values carry their types.
    Typed,
    /// Query-protocol form fields: every scalar is text.
    Text,
}

/// A request's parameters (or one nested structure of them).
#[derive(Debug, Clone)]
pub struct Params<'a> {
    value: &'a Value,
    encoding: Encoding,
    /// How this structure is named in messages, with a trailing `.` (empty at the root).
    prefix: String,
}

impl<'a> Params<'a> {
    /// A JSON or CBOR request body.
    pub fn typed(value: &'a Value) -> Self {
        Self { value, encoding: Encoding::Typed, prefix: String::new() }
    }

    /// A query-protocol form, decoded into nested values whose scalars are strings.
    pub fn text(value: &'a Value) -> Self {
        Self { value, encoding: Encoding::Text, prefix: String::new() }
    }

    pub fn new(value: &'a Value, encoding: Encoding) -> Self {
        Self { value, encoding, prefix: String::new() }
    }

    /// The structure as it arrived.
    pub fn value(&self) -> &'a Value {
        self.value
    }

    pub fn is_object(&self) -> bool {
        self.value.is_object()
    }

    /// The field's full name in messages, such as `alarmConfiguration.alarms[0].name`.
    pub fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// The field's value, None when absent or null.
    pub fn raw(&self, field: &str) -> Option<&'a Value> {
        self.value.get(field).filter(|v| !v.is_null())
    }

    pub fn has(&self, field: &str) -> bool {
        self.raw(field).is_some()
    }

    fn wrong(&self, field: &str, expected: &str, got: &Value) -> ApiError {
        ApiError::wrong_type(&self.name(field), expected, got)
    }

    pub fn str(&self, field: &str) -> ApiResult<Option<String>> {
        match self.raw(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(field, "a string", other)),
        }
    }

    /// A required string; `missing` is the service's error code when it is absent or empty.
    pub fn required_str(&self, field: &str, missing: &'static str) -> ApiResult<String> {
        match self.str(field)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::new(missing, format!("{} is required", self.name(field)))),
        }
    }

    pub fn f64(&self, field: &str) -> ApiResult<Option<f64>> {
        match (self.encoding, self.raw(field)) {
            (_, None) => Ok(None),
            (Encoding::Typed, Some(Value::Number(n))) => Ok(n.as_f64()),
            (Encoding::Text, Some(v @ Value::String(s))) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Some)
                .ok_or_else(|| self.wrong(field, "a number", v)),
            (_, Some(other)) => Err(self.wrong(field, "a number", other)),
        }
    }

    pub fn i64(&self, field: &str) -> ApiResult<Option<i64>> {
        let whole = |v: &Value| self.wrong(field, "a whole number", v);
        match (self.encoding, self.raw(field)) {
            (_, None) => Ok(None),
            (Encoding::Typed, Some(v @ Value::Number(n))) => {
                match n.as_i64() {
                    Some(i) => Ok(Some(i)),
                    // CBOR may carry an integer as a float; a whole one is fine.
                    None => n
                        .as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| Some(f as i64))
                        .ok_or_else(|| whole(v)),
                }
            }
            (Encoding::Text, Some(v @ Value::String(s))) => s.trim().parse::<i64>().map(Some).map_err(|_| whole(v)),
            (_, Some(other)) => Err(whole(other)),
        }
    }

    pub fn bool(&self, field: &str) -> ApiResult<Option<bool>> {
        match (self.encoding, self.raw(field)) {
            (_, None) => Ok(None),
            (Encoding::Typed, Some(Value::Bool(b))) => Ok(Some(*b)),
            (Encoding::Text, Some(Value::String(s))) if s == "true" || s == "false" => Ok(Some(s == "true")),
            (_, Some(other)) => Err(self.wrong(field, "true or false", other)),
        }
    }

    /// A timestamp as epoch seconds: a number in JSON and CBOR, ISO 8601 (or epoch
    /// seconds) text in the query protocol.
    pub fn time(&self, field: &str) -> ApiResult<Option<f64>> {
        match (self.encoding, self.raw(field)) {
            (_, None) => Ok(None),
            (Encoding::Typed, Some(Value::Number(n))) => Ok(n.as_f64()),
            (Encoding::Text, Some(v @ Value::String(s))) => {
                time::parse(s).map(Some).ok_or_else(|| self.wrong(field, "a timestamp (ISO 8601)", v))
            }
            (_, Some(other)) => Err(self.wrong(field, "a timestamp", other)),
        }
    }

    /// The list's items; an absent list is empty.
    fn items(&self, field: &str, expected: &str) -> ApiResult<&'a [Value]> {
        match (self.encoding, self.raw(field)) {
            (_, None) => Ok(&[]),
            (_, Some(Value::Array(items))) => Ok(items),
            (Encoding::Text, Some(Value::String(s))) if s.is_empty() => Ok(&[]),
            (_, Some(other)) => Err(self.wrong(field, expected, other)),
        }
    }

    pub fn strings(&self, field: &str) -> ApiResult<Vec<String>> {
        self.items(field, "a list of strings")?
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(self.wrong(&format!("{field}[{i}]"), "a string", other)),
            })
            .collect()
    }

    pub fn numbers(&self, field: &str) -> ApiResult<Vec<f64>> {
        self.items(field, "a list of numbers")?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let parsed = match (self.encoding, v) {
                    (Encoding::Typed, Value::Number(n)) => n.as_f64(),
                    (Encoding::Text, Value::String(s)) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
                    _ => None,
                };
                parsed.ok_or_else(|| self.wrong(&format!("{field}[{i}]"), "a number", v))
            })
            .collect()
    }

    fn child(&self, name: String, value: &'a Value) -> Params<'a> {
        Params { value, encoding: self.encoding, prefix: format!("{name}.") }
    }

    /// A nested structure.
    pub fn object(&self, field: &str) -> ApiResult<Option<Params<'a>>> {
        match self.raw(field) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(self.child(self.name(field), v))),
            Some(other) => Err(self.wrong(field, "an object", other)),
        }
    }

    /// A list of structures.
    pub fn objects(&self, field: &str) -> ApiResult<Vec<Params<'a>>> {
        self.items(field, "a list of objects")?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let name = format!("{field}[{i}]");
                match v {
                    Value::Object(_) => Ok(self.child(self.name(&name), v)),
                    other => Err(self.wrong(&name, "an object", other)),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code<T: std::fmt::Debug>(result: ApiResult<T>) -> &'static str {
        result.expect_err("an error").code
    }

    #[test]
    fn typed_fields_of_the_wrong_type_are_serialization_errors() {
        let body = json!({"name": 5, "period": "60", "on": "true", "list": ["a", 1], "when": "2026-01-01T00:00:00Z"});
        let p = Params::typed(&body);
        assert_eq!(code(p.str("name")), "SerializationException");
        assert_eq!(code(p.i64("period")), "SerializationException");
        assert_eq!(code(p.bool("on")), "SerializationException");
        assert_eq!(code(p.time("when")), "SerializationException");
        let err = p.strings("list").unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            ("SerializationException", "list[1] must be a string, not a number")
        );
    }

    #[test]
    fn text_fields_parse_to_their_types() {
        let form = json!({"period": "60", "threshold": "1.5", "on": "false", "empty": "", "values": ["1", "2.5"], "when": "1970-01-02T00:00:00Z"});
        let p = Params::text(&form);
        assert_eq!(p.i64("period").unwrap(), Some(60));
        assert_eq!(p.f64("threshold").unwrap(), Some(1.5));
        assert_eq!(p.bool("on").unwrap(), Some(false));
        assert_eq!(p.strings("empty").unwrap(), Vec::<String>::new(), "an empty value is an empty list");
        assert_eq!(p.numbers("values").unwrap(), [1.0, 2.5]);
        assert_eq!(p.time("when").unwrap(), Some(86_400.0));
        let bad = json!({"period": "sixty", "on": "yes"});
        let p = Params::text(&bad);
        assert_eq!(code(p.i64("period")), "SerializationException");
        assert_eq!(code(p.bool("on")), "SerializationException");
    }

    #[test]
    fn required_fields_use_the_callers_code_and_nested_names_are_full() {
        let body = json!({"empty": "", "config": {"alarms": [{"name": 3}]}});
        let p = Params::typed(&body);
        assert_eq!(
            code(p.required_str("missing", "ApplicationNameRequiredException")),
            "ApplicationNameRequiredException"
        );
        assert_eq!(code(p.required_str("empty", "MissingParameter")), "MissingParameter");
        let alarms = p.object("config").unwrap().unwrap().objects("alarms").unwrap();
        let err = alarms[0].str("name").unwrap_err();
        assert_eq!(err.message, "config.alarms[0].name must be a string, not a number");
        assert_eq!(code(p.object("empty")), "SerializationException");
    }

    #[test]
    fn absent_and_null_fields_are_none() {
        let body = json!({"gone": null});
        let p = Params::typed(&body);
        assert_eq!(p.str("gone").unwrap(), None);
        assert_eq!(p.f64("absent").unwrap(), None);
        assert!(p.strings("gone").unwrap().is_empty());
        assert!(p.object("gone").unwrap().is_none());
    }
}

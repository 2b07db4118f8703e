//! The record model: an order event as it arrives (any field may be missing or
//! malformed) and as the curated partition stores it (validated, normalised, keyed).

use std::borrow::Cow;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::time::{Date, Instant};

/// A scalar as a source gives it: JSON may send `"19.99"` or `19.99`, CSV always text.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    Text(Cow<'a, str>),
    Number(f64),
    Bool(bool),
    Null,
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for FieldVisitor<'a> {
            type Value = Field<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Field::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Field::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Field::Number(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Field::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Null)
            }
        }
        deserializer.deserialize_any(FieldVisitor(std::marker::PhantomData))
    }
}

/// An order event before validation.
#[derive(Debug, Default, Deserialize)]
pub struct RawOrder<'a> {
    #[serde(borrow)]
    pub order_id: Option<Field<'a>>,
    #[serde(borrow)]
    pub customer_id: Option<Field<'a>>,
    #[serde(borrow)]
    pub occurred_at: Option<Field<'a>>,
    #[serde(borrow)]
    pub amount: Option<Field<'a>>,
    #[serde(borrow)]
    pub currency: Option<Field<'a>>,
    #[serde(borrow)]
    pub country: Option<Field<'a>>,
    #[serde(borrow)]
    pub status: Option<Field<'a>>,
    #[serde(borrow)]
    pub items: Option<Field<'a>>,
}

pub const COLUMNS: [&str; 8] =
    ["order_id", "customer_id", "occurred_at", "amount", "currency", "country", "status", "items"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Paid,
    Refunded,
    Cancelled,
}

impl Status {
    fn parse(s: &str) -> Option<Self> {
        // Case-insensitive without allocating: this runs once per record.
        let s = s.trim();
        [
            ("PENDING", Self::Pending),
            ("PAID", Self::Paid),
            ("REFUNDED", Self::Refunded),
            ("CANCELLED", Self::Cancelled),
            ("CANCELED", Self::Cancelled),
        ]
        .into_iter()
        .find_map(|(name, status)| s.eq_ignore_ascii_case(name).then_some(status))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Paid => "PAID",
            Self::Refunded => "REFUNDED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// ISO 4217 codes the business trades in.
const CURRENCIES: [&str; 12] = ["AUD", "BRL", "CAD", "CHF", "DKK", "EUR", "GBP", "JPY", "NOK", "PLN", "SEK", "USD"];

/// A validated, normalised order, borrowing its text from the raw record.
#[derive(Debug, Clone, PartialEq)]
pub struct Order<'a> {
    pub order_id: &'a str,
    pub customer_id: &'a str,
    pub occurred_at: Instant,
    /// The amount in minor units (cents).
    pub amount_minor: i64,
    pub currency: [u8; 3],
    pub country: [u8; 2],
    pub status: Status,
    pub items: u32,
}

fn text<'r>(field: &'r Option<Field<'_>>) -> Option<&'r str> {
    match field {
        Some(Field::Text(s)) => Some(s.trim()).filter(|s| !s.is_empty()),
        _ => None,
    }
}

fn identifier<'r>(field: &'r Option<Field<'_>>, name: &str, problems: &mut Vec<String>) -> Option<&'r str> {
    match field {
        None | Some(Field::Null) => problems.push(format!("{name}: missing")),
        Some(Field::Text(_)) => {
            let s = text(field)?;
            if s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')) {
                problems.push(format!("{name}: {s:?} is not 1-64 of A-Z a-z 0-9 - _ . :"));
            } else {
                return Some(s);
            }
        }
        Some(_) => problems.push(format!("{name}: must be text")),
    }
    None
}

/// Parses a decimal amount with at most two fraction digits into minor units.
fn minor_units(s: &str) -> Option<i64> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 12
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    Some(whole * 100 + cents)
}

impl<'a> RawOrder<'a> {
    /// Validates and normalises the record for the partition `date`; on failure, every
    /// problem found (one reason per field).
    pub fn normalise(&self, date: Date) -> Result<Order<'_>, Vec<String>> {
        let mut problems = Vec::new();
        let order_id = identifier(&self.order_id, "order_id", &mut problems);
        let customer_id = identifier(&self.customer_id, "customer_id", &mut problems);
        let occurred_at = match text(&self.occurred_at).map(|s| (s, Instant::parse_rfc3339(s))) {
            None => {
                problems.push("occurred_at: missing".into());
                None
            }
            Some((s, None)) => {
                problems.push(format!("occurred_at: {s:?} is not an RFC 3339 timestamp"));
                None
            }
            Some((s, Some(t))) if t.date() != date => {
                problems.push(format!("occurred_at: {s} falls on {} (UTC), outside the partition dt={date}", t.date()));
                None
            }
            Some((_, Some(t))) => Some(t),
        };
        let amount_minor = match &self.amount {
            Some(Field::Number(n)) if n.is_finite() && *n >= 0.0 => {
                let cents = (n * 100.0).round();
                if (cents / 100.0 - n).abs() > 1e-9 || cents > 1e14 {
                    problems.push(format!("amount: {n} has more than two decimals or is too large"));
                    None
                } else {
                    Some(cents as i64)
                }
            }
            Some(Field::Text(s)) => {
                let parsed = minor_units(s);
                if parsed.is_none() {
                    problems.push(format!(
                        "amount: {:?} is not a non-negative decimal with at most two decimals",
                        s.trim()
                    ));
                }
                parsed
            }
            None | Some(Field::Null) => {
                problems.push("amount: missing".into());
                None
            }
            Some(other) => {
                problems.push(format!("amount: {other:?} is not a non-negative decimal"));
                None
            }
        };
        let currency = match text(&self.currency) {
            Some(c) if c.len() == 3 && CURRENCIES.iter().any(|k| k.eq_ignore_ascii_case(c)) => {
                let b = c.as_bytes();
                Some([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase(), b[2].to_ascii_uppercase()])
            }
            Some(c) => {
                problems.push(format!("currency: {c:?} is not one of {}", CURRENCIES.join(", ")));
                None
            }
            None => {
                problems.push("currency: missing".into());
                None
            }
        };
        let country = match text(&self.country) {
            Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                let b = c.as_bytes();
                Some([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()])
            }
            Some(c) => {
                problems.push(format!("country: {c:?} is not an ISO 3166 two-letter code"));
                None
            }
            None => {
                problems.push("country: missing".into());
                None
            }
        };
        let status = match text(&self.status) {
            Some(s) => {
                let parsed = Status::parse(s);
                if parsed.is_none() {
                    problems.push(format!("status: {s:?} is not one of PENDING, PAID, REFUNDED, CANCELLED"));
                }
                parsed
            }
            None => {
                problems.push("status: missing".into());
                None
            }
        };
        let items = match &self.items {
            Some(Field::Number(n)) if n.fract() == 0.0 && (1.0..=1000.0).contains(n) => Some(*n as u32),
            Some(Field::Text(s)) if s.trim().parse::<u32>().is_ok_and(|n| (1..=1000).contains(&n)) => {
                s.trim().parse().ok()
            }
            None | Some(Field::Null) => {
                problems.push("items: missing".into());
                None
            }
            Some(other) => {
                problems.push(format!("items: {other:?} is not a whole number from 1 to 1000"));
                None
            }
        };
        match (order_id, customer_id, occurred_at, amount_minor, currency, country, status, items) {
            (
                Some(order_id),
                Some(customer_id),
                Some(occurred_at),
                Some(amount_minor),
                Some(currency),
                Some(country),
                Some(status),
                Some(items),
            ) if problems.is_empty() => {
                Ok(Order { order_id, customer_id, occurred_at, amount_minor, currency, country, status, items })
            }
            _ => Err(problems),
        }
    }
}

/// The deterministic idempotency key of an order: the same order id always gives the
/// same key, whichever file or run it arrives in.
pub fn idempotency_key(order_id: &str) -> String {
    let mut key = String::with_capacity(32);
    push_idempotency_key(order_id, &mut key);
    key
}

/// Appends the key (32 lowercase hex digits: the first 128 bits of SHA-256).
fn push_idempotency_key(order_id: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::new().chain_update(b"order:v1:").chain_update(order_id.as_bytes()).finalize();
    for b in &digest[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
}

/// Appends a non-negative integer without the formatting machinery.
fn push_uint(mut n: u64, out: &mut String) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or("0"));
}

impl Order<'_> {
    /// Appends the curated JSON line (with a trailing newline). Identifiers are
    /// restricted to characters that need no escaping, so this writes them verbatim.
    pub fn write_json_line(&self, out: &mut String) {
        out.push_str("{\"idempotency_key\":\"");
        push_idempotency_key(self.order_id, out);
        out.push_str("\",\"order_id\":\"");
        out.push_str(self.order_id);
        out.push_str("\",\"customer_id\":\"");
        out.push_str(self.customer_id);
        out.push_str("\",\"occurred_at\":\"");
        self.occurred_at.write_rfc3339(out);
        out.push_str("\",\"amount_minor\":");
        push_uint(self.amount_minor.unsigned_abs(), out);
        out.push_str(",\"currency\":\"");
        out.push_str(std::str::from_utf8(&self.currency).unwrap_or("???"));
        out.push_str("\",\"country\":\"");
        out.push_str(std::str::from_utf8(&self.country).unwrap_or("??"));
        out.push_str("\",\"status\":\"");
        out.push_str(self.status.as_str());
        out.push_str("\",\"items\":");
        push_uint(u64::from(self.items), out);
        out.push_str("}\n");
    }
}

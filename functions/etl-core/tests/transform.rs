//! The transform on small objects: good records normalised, bad ones quarantined with
//! their reasons, unreadable objects refused with a typed error.

// Test helpers unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use etl_core::{idempotency_key, transform, Date, EtlError, Format, Stats};
use serde_json::Value;

fn date() -> Date {
    Date::parse("2026-11-22").unwrap()
}

fn run(format: Format, input: &[u8]) -> Result<(Stats, Vec<Value>, Vec<Value>), EtlError> {
    let (mut out, mut quarantine) = (Vec::new(), Vec::new());
    let stats = transform(format, "raw/dt=2026-11-22/part-0001", input, date(), &mut out, &mut quarantine)?;
    let lines = |b: &[u8]| -> Vec<Value> {
        String::from_utf8(b.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    Ok((stats, lines(&out), lines(&quarantine)))
}

const GOOD: &str = r#"{"order_id":"o-1","customer_id":"c-42","occurred_at":"2026-11-22T13:45:10+01:00","amount":"19.9","currency":"eur","country":"de","status":"paid","items":2}"#;

#[test]
fn a_good_record_is_normalised() {
    let (stats, out, quarantine) = run(Format::JsonLines, format!("{GOOD}\n").as_bytes()).unwrap();
    assert_eq!(stats, Stats { records_in: 1, records_out: 1, quarantined: 0 });
    assert!(quarantine.is_empty());
    let r = &out[0];
    assert_eq!(r["occurred_at"], "2026-11-22T12:45:10Z", "UTC");
    assert_eq!(r["amount_minor"], 1990, "minor units");
    assert_eq!(
        (r["currency"].as_str(), r["country"].as_str(), r["status"].as_str()),
        (Some("EUR"), Some("DE"), Some("PAID"))
    );
    assert_eq!(r["idempotency_key"], idempotency_key("o-1"));
    assert_eq!(idempotency_key("o-1").len(), 32);
    assert_ne!(idempotency_key("o-1"), idempotency_key("o-2"));
}

#[test]
fn numbers_and_text_are_both_accepted() {
    let line = r#"{"order_id":"o-2","customer_id":"c-1","occurred_at":"2026-11-22T00:00:00Z","amount":7.5,"currency":"USD","country":"US","status":"PENDING","items":"3"}"#;
    let (_, out, _) = run(Format::JsonLines, line.as_bytes()).unwrap();
    assert_eq!((out[0]["amount_minor"].as_i64(), out[0]["items"].as_i64()), (Some(750), Some(3)));
}

#[test]
fn poison_records_are_quarantined_with_every_reason_and_never_fail_the_batch() {
    let input = format!(
        "{GOOD}\nnot json at all\n{}\n\n{}\n{GOOD}\n",
        r#"{"order_id":"o-3","customer_id":"c 1","occurred_at":"2026-11-21T23:59:59Z","amount":"-1","currency":"XXX","country":"DEU","status":"lost","items":0}"#,
        r#"{"order_id":"o-4"}"#
    );
    let (stats, out, quarantine) = run(Format::JsonLines, input.as_bytes()).unwrap();
    assert_eq!(stats, Stats { records_in: 5, records_out: 2, quarantined: 3 });
    assert_eq!(out.len(), 2);
    assert_eq!(quarantine[0]["line"], 2);
    assert!(quarantine[0]["reasons"][0].as_str().unwrap().starts_with("not a JSON object"));
    let reasons: Vec<&str> = quarantine[1]["reasons"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for field in ["customer_id", "occurred_at", "amount", "currency", "country", "status", "items"] {
        assert!(reasons.iter().any(|r| r.starts_with(field)), "a reason names {field}: {reasons:?}");
    }
    assert!(reasons.iter().any(|r| r.contains("outside the partition dt=2026-11-22")), "{reasons:?}");
    assert_eq!(quarantine[2]["reasons"].as_array().unwrap().len(), 7, "every missing field is named");
    assert_eq!(quarantine[2]["object"], "raw/dt=2026-11-22/part-0001");
}

#[test]
fn non_utf8_and_truncated_objects_fail_with_a_typed_error() {
    let mut bad = format!("{GOOD}\n").into_bytes();
    bad.extend_from_slice(b"{\"order_id\":\"\xff\xfe\"}\n");
    let err = run(Format::JsonLines, &bad).unwrap_err();
    assert_eq!(err.error_type(), "CorruptObject");
    assert!(err.to_string().contains("line 2 is not UTF-8"), "{err}");

    let truncated = format!("{GOOD}\n{}", &GOOD[..40]);
    let err = run(Format::JsonLines, truncated.as_bytes()).unwrap_err();
    assert_eq!(err.error_type(), "CorruptObject");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(!err.is_retryable());

    // A complete last record without a final newline is fine.
    let (stats, _, _) = run(Format::JsonLines, GOOD.as_bytes()).unwrap();
    assert_eq!(stats.records_out, 1);
}

#[test]
fn csv_with_quotes_and_bad_rows() {
    let input = "order_id,customer_id,occurred_at,amount,currency,country,status,items\n\
                 o-1,c-1,2026-11-22T08:00:00Z,\"1,000.00\",EUR,FR,PAID,1\n\
                 o-2,c-2,2026-11-22T08:00:00Z,1000.00,eur,fr,refunded,4\n\
                 o-3,c-3,2026-11-22T08:00:00Z\n";
    let (stats, out, quarantine) = run(Format::Csv, input.as_bytes()).unwrap();
    assert_eq!(stats, Stats { records_in: 3, records_out: 1, quarantined: 2 });
    assert_eq!(out[0]["order_id"], "o-2");
    assert_eq!(out[0]["amount_minor"], 100_000);
    assert!(quarantine[0]["reasons"][0].as_str().unwrap().starts_with("amount"), "{quarantine:?}");
    assert!(quarantine[1]["reasons"][0].as_str().unwrap().contains("expected 8 fields, found 3"));

    let err = run(Format::Csv, b"order_id,amount\no-1,1\n").unwrap_err();
    assert!(err.to_string().contains("lacks the columns customer_id, occurred_at"), "{err}");
    let err = run(
        Format::Csv,
        b"order_id,customer_id,occurred_at,amount,currency,country,status,items\no-1,\xff,x,1,EUR,FR,PAID,1\n",
    )
    .unwrap_err();
    assert_eq!(err.error_type(), "CorruptObject");
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let input = format!("{GOOD}\n{GOOD}\nbad\n");
    let once = |_: ()| {
        let (mut out, mut q) = (Vec::new(), Vec::new());
        transform(Format::JsonLines, "k", input.as_bytes(), date(), &mut out, &mut q).unwrap();
        (out, q)
    };
    assert_eq!(once(()), once(()));
}

#[test]
fn formats_come_from_the_key() {
    assert_eq!(Format::from_key("raw/dt=2026-11-22/a.JSONL"), Some(Format::JsonLines));
    assert_eq!(Format::from_key("raw/dt=2026-11-22/a.csv"), Some(Format::Csv));
    assert_eq!(Format::from_key("raw/dt=2026-11-22/a.parquet"), None);
}

#[test]
fn synthetic_data_is_deterministic_and_its_bad_records_are_quarantined() {
    let make = || etl_core::synthetic::Generator::new(7, date(), Some(10)).lines(1000);
    let input = make();
    assert_eq!(input, make(), "same seed, same data");
    let (stats, out, quarantine) = run(Format::JsonLines, input.as_bytes()).unwrap();
    assert_eq!(stats.records_in, 1000);
    assert_eq!(stats.quarantined, 100, "every tenth record is bad");
    assert_eq!(out.len(), 900);
    assert_eq!(quarantine.len(), 100);
}

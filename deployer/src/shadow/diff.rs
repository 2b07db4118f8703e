//! Production's output against the shadow run's, record by record. Curated records are
//! JSON lines keyed by `idempotency_key`; quarantined lines by the raw object and line
//! they came from, with the reasons the transform gave (`field: problem`).
//!
//! A day can hold a million records, so a record is kept as its line, borrowed from the
//! object's body, under its key; only the key is decoded. Lines that are the same bytes
//! are identical (Load writes its fields in one order); only the others are decoded
//! field by field.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::{Breach, ChangedRecord, FieldChange, Policy, ShadowDiff, Verdict};

/// One side's output for the day: the curated objects' bodies and the quarantine's.
#[derive(Debug, Default)]
pub struct Output {
    pub curated: Vec<Vec<u8>>,
    pub quarantine: Vec<Vec<u8>>,
}

fn lines(bodies: &[Vec<u8>]) -> impl Iterator<Item = Value> + '_ {
    bodies
        .iter()
        .flat_map(|b| b.split(|c| *c == b'\n'))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
}

/// The key of a curated line, decoded without the rest of the record.
#[derive(serde::Deserialize)]
struct Keyed<'a> {
    #[serde(borrow)]
    idempotency_key: Cow<'a, str>,
}

fn record_lines(bodies: &[Vec<u8>]) -> impl Iterator<Item = &[u8]> + '_ {
    bodies.iter().flat_map(|b| b.split(|c| *c == b'\n')).filter(|l| !l.iter().all(u8::is_ascii_whitespace))
}

/// Key -> the record's line.
fn curated(output: &Output) -> HashMap<Cow<'_, str>, &[u8]> {
    record_lines(&output.curated)
        .filter_map(|line| serde_json::from_slice::<Keyed>(line).ok().map(|k| (k.idempotency_key, line)))
        .collect()
}

fn fields(line: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(line) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// (object, line) -> the reasons' fields.
fn quarantined(output: &Output) -> BTreeMap<(String, u64), Vec<String>> {
    lines(&output.quarantine)
        .filter_map(|v| {
            let object = v.get("object")?.as_str()?.to_owned();
            let line = v.get("line")?.as_u64()?;
            let reasons = v
                .get("reasons")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .map(|r| r.split(':').next().unwrap_or(r).trim().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            Some(((object, line), reasons))
        })
        .collect()
}

fn percent(n: u64, of: u64) -> f64 {
    if of == 0 {
        if n == 0 {
            0.0
        } else {
            100.0
        }
    } else {
        100.0 * n as f64 / of as f64
    }
}

/// Compares the two outputs; `expected` names the fields the release changes on purpose.
pub fn compare(production: &Output, shadow: &Output, expected: &[String], policy: &Policy) -> ShadowDiff {
    let (prod, new) = (curated(production), curated(shadow));
    let mut diff = ShadowDiff::without_comparison(Verdict::Identical, "");
    diff.note = None;
    diff.production_records = prod.len() as u64;
    diff.shadow_records = new.len() as u64;
    let mut changed: Vec<ChangedRecord> = Vec::new();
    for (key, before_line) in &prod {
        let Some(after_line) = new.get(key) else {
            diff.missing += 1;
            continue;
        };
        if before_line == after_line {
            diff.identical += 1;
            continue;
        }
        let (before, after) = (fields(before_line), fields(after_line));
        let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        let changes: Vec<FieldChange> = names
            .into_iter()
            .filter(|f| before.get(*f) != after.get(*f))
            .map(|f| FieldChange {
                field: f.clone(),
                production: before.get(f).cloned().unwrap_or(Value::Null),
                shadow: after.get(f).cloned().unwrap_or(Value::Null),
            })
            .collect();
        if changes.is_empty() {
            diff.identical += 1;
        } else if changes.iter().all(|c| expected.contains(&c.field)) {
            diff.expected_changes += 1;
        } else {
            diff.changed += 1;
            for c in changes.iter().filter(|c| !expected.contains(&c.field)) {
                *diff.changed_fields.entry(c.field.clone()).or_default() += 1;
            }
            changed.push(ChangedRecord {
                idempotency_key: key.to_string(),
                order_id: before.get("order_id").and_then(Value::as_str).map(str::to_owned),
                fields: changes,
            });
            // Only the first few by key are kept, however many records changed.
            if changed.len() >= 64 + 2 * policy.examples {
                changed.sort_by(|a, b| a.idempotency_key.cmp(&b.idempotency_key));
                changed.truncate(policy.examples);
            }
        }
    }
    // The examples: the first changed records by key, whatever order they came in.
    changed.sort_by(|a, b| a.idempotency_key.cmp(&b.idempotency_key));
    changed.truncate(policy.examples);
    diff.examples = changed;
    diff.added = new.keys().filter(|k| !prod.contains_key(*k)).count() as u64;
    let (prod_q, new_q) = (quarantined(production), quarantined(shadow));
    for (line, reasons) in new_q.iter().filter(|(line, _)| !prod_q.contains_key(*line)) {
        let _ = line;
        diff.newly_quarantined += 1;
        for r in reasons {
            *diff.quarantine_reasons.entry(r.clone()).or_default() += 1;
        }
    }
    let base = diff.production_records;
    for (measure, records, max_percent) in [
        ("changed", diff.changed, policy.max_changed_percent),
        ("missing", diff.missing, policy.max_missing_percent),
        ("newly_quarantined", diff.newly_quarantined, policy.max_newly_quarantined_percent),
    ] {
        let p = percent(records, base);
        if records > 0 && p > max_percent {
            diff.breaches.push(Breach { measure: measure.into(), records, percent: p, max_percent });
        }
    }
    diff.verdict = if !diff.breaches.is_empty() {
        Verdict::Fail
    } else if diff.changed + diff.expected_changes + diff.missing + diff.added + diff.newly_quarantined == 0 {
        Verdict::Identical
    } else {
        Verdict::WithinPolicy
    };
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, amount: u64, status: &str) -> String {
        format!(
            "{{\"idempotency_key\":\"{key}\",\"order_id\":\"o-{key}\",\"amount_minor\":{amount},\"currency\":\"EUR\",\"status\":\"{status}\"}}\n"
        )
    }

    fn output(records: &[String], quarantine: &[(&str, u64, &str)]) -> Output {
        let q: String = quarantine
            .iter()
            .map(|(object, line, reason)| {
                format!("{}\n", serde_json::json!({"object": object, "line": line, "reasons": [reason], "record": "x"}))
            })
            .collect();
        // Two objects, as a run of two batches writes them.
        let (a, b) = records.split_at(records.len() / 2);
        Output { curated: vec![a.concat().into_bytes(), b.concat().into_bytes()], quarantine: vec![q.into_bytes()] }
    }

    fn production() -> Vec<String> {
        (0..10).map(|i| record(&format!("k{i}"), 1000 + i, "paid")).collect()
    }

    #[test]
    fn the_same_records_in_another_order_are_identical() {
        let mut shuffled = production();
        shuffled.reverse();
        let d = compare(
            &output(&production(), &[("raw/a.csv", 3, "amount: bad")]),
            &output(&shuffled, &[("raw/a.csv", 3, "amount: bad")]),
            &[],
            &Policy::default(),
        );
        assert_eq!((d.verdict, d.identical, d.production_records, d.changed), (Verdict::Identical, 10, 10, 0));
        assert!(d.summary().ends_with(": identical"), "{}", d.summary());
    }

    #[test]
    fn a_quiet_change_of_amounts_fails_with_the_records_side_by_side() {
        let mut shadow = production();
        // Rounded to whole units: three records differ in amount_minor only.
        for (i, r) in shadow.iter_mut().enumerate().take(3) {
            *r = record(&format!("k{i}"), 1000, "paid");
        }
        let d = compare(&output(&production(), &[]), &output(&shadow, &[]), &[], &Policy::default());
        assert_eq!((d.verdict, d.changed, d.identical), (Verdict::Fail, 2, 8), "k0 already had 1000");
        assert_eq!(d.changed_fields, BTreeMap::from([("amount_minor".to_owned(), 2)]));
        assert_eq!(d.breaches, vec![Breach { measure: "changed".into(), records: 2, percent: 20.0, max_percent: 0.0 }]);
        let example = &d.examples[0];
        assert_eq!((example.idempotency_key.as_str(), example.order_id.as_deref()), ("k1", Some("o-k1")));
        assert_eq!(
            example.fields,
            vec![FieldChange { field: "amount_minor".into(), production: 1001.into(), shadow: 1000.into() }]
        );
        assert!(d.summary().contains("8 of 10 records identical, 2 changed (amount_minor 2)"), "{}", d.summary());
    }

    #[test]
    fn a_change_the_release_expects_is_allowed_and_counted_apart() {
        let shadow: Vec<String> = (0..10).map(|i| record(&format!("k{i}"), 2000 + i, "paid")).collect();
        let d =
            compare(&output(&production(), &[]), &output(&shadow, &[]), &["amount_minor".into()], &Policy::default());
        assert_eq!((d.verdict, d.changed, d.expected_changes), (Verdict::WithinPolicy, 0, 10));
        // Another field changing too is still a change.
        let shadow: Vec<String> = (0..10).map(|i| record(&format!("k{i}"), 2000 + i, "open")).collect();
        let d =
            compare(&output(&production(), &[]), &output(&shadow, &[]), &["amount_minor".into()], &Policy::default());
        assert_eq!((d.verdict, d.changed), (Verdict::Fail, 10));
        assert_eq!(d.changed_fields, BTreeMap::from([("status".to_owned(), 10)]), "only the unexpected field counts");
    }

    #[test]
    fn records_quarantined_by_the_new_release_are_missing_and_newly_quarantined() {
        let shadow: Vec<String> = production().into_iter().skip(1).collect();
        let d = compare(
            &output(&production(), &[]),
            &output(&shadow, &[("raw/a.csv", 1, "amount: 10.001 has more than two decimals")]),
            &[],
            &Policy::default(),
        );
        assert_eq!((d.verdict, d.missing, d.newly_quarantined), (Verdict::Fail, 1, 1));
        assert_eq!(d.quarantine_reasons, BTreeMap::from([("amount".to_owned(), 1)]));
        let measures: Vec<&str> = d.breaches.iter().map(|b| b.measure.as_str()).collect();
        assert_eq!(measures, ["missing", "newly_quarantined"]);
        // A policy that allows 10 % lets one in ten go.
        let lenient = Policy { max_missing_percent: 10.0, max_newly_quarantined_percent: 10.0, ..Policy::default() };
        let d = compare(&output(&production(), &[]), &output(&shadow, &[("raw/a.csv", 1, "amount: x")]), &[], &lenient);
        assert_eq!(d.verdict, Verdict::WithinPolicy);
    }

    #[test]
    fn unparsable_lines_are_skipped_and_an_empty_day_against_output_is_a_breach() {
        let mut noisy = output(&production(), &[]);
        noisy.curated.push(b"not json\n\n".to_vec());
        let d = compare(&output(&production(), &[]), &noisy, &[], &Policy::default());
        assert_eq!(d.verdict, Verdict::Identical);
        let d = compare(&Output::default(), &output(&production(), &[]), &[], &Policy::default());
        assert_eq!((d.added, d.verdict), (10, Verdict::WithinPolicy), "added records are shown, not refused");
    }
}

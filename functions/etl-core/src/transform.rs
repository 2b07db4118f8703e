//! The transform of one batch object: stream records in, write the curated lines and
//! the quarantined ones out. Memory stays bounded by the longest record, whatever the
//! object's size; a poison record is quarantined with its reasons and never fails the
//! batch, while an object that cannot be read as records (not UTF-8, truncated) fails
//! it with a typed error.

use std::borrow::Cow;
use std::io::{BufRead, Write};

use crate::error::EtlError;
use crate::record::{Field, RawOrder, COLUMNS};
use crate::time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Csv,
}

impl Format {
    /// From the object key's extension: `.jsonl` / `.ndjson` / `.json`, or `.csv`.
    pub fn from_key(key: &str) -> Option<Self> {
        let lower = key.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") || lower.ends_with(".json") {
            Some(Self::JsonLines)
        } else if lower.ends_with(".csv") {
            Some(Self::Csv)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub records_in: u64,
    pub records_out: u64,
    pub quarantined: u64,
}

fn io_error(object: &str, what: &str, err: &std::io::Error) -> EtlError {
    EtlError::Retryable(format!("{object}: {what}: {err}"))
}

struct Sinks<'o, W: Write, Q: Write> {
    object: &'o str,
    out: W,
    quarantine: Q,
    line: String,
    stats: Stats,
}

impl<W: Write, Q: Write> Sinks<'_, W, Q> {
    /// `original` renders the record as it arrived; it is called only for a record
    /// that goes to quarantine, so good records cost nothing extra.
    fn record<'s>(
        &mut self,
        raw: &RawOrder<'_>,
        date: Date,
        line_no: u64,
        original: impl FnOnce() -> Cow<'s, str>,
    ) -> Result<(), EtlError> {
        self.stats.records_in += 1;
        match raw.normalise(date) {
            Ok(order) => {
                self.line.clear();
                order.write_json_line(&mut self.line);
                self.out.write_all(self.line.as_bytes()).map_err(|e| io_error(self.object, "writing output", &e))?;
                self.stats.records_out += 1;
            }
            Err(reasons) => self.quarantine(line_no, &reasons, &original())?,
        }
        Ok(())
    }

    fn quarantine(&mut self, line_no: u64, reasons: &[String], original: &str) -> Result<(), EtlError> {
        let entry =
            serde_json::json!({ "object": self.object, "line": line_no, "reasons": reasons, "record": original });
        serde_json::to_writer(&mut self.quarantine, &entry)
            .map_err(|e| EtlError::Retryable(format!("{}: writing quarantine: {e}", self.object)))?;
        self.quarantine.write_all(b"\n").map_err(|e| io_error(self.object, "writing quarantine", &e))?;
        self.stats.quarantined += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<Stats, EtlError> {
        self.out.flush().map_err(|e| io_error(self.object, "flushing output", &e))?;
        self.quarantine.flush().map_err(|e| io_error(self.object, "flushing quarantine", &e))?;
        Ok(self.stats)
    }
}

/// Transforms `input` (the object `object`, in `format`) for partition `date`.
pub fn transform<R: BufRead, W: Write, Q: Write>(
    format: Format,
    object: &str,
    input: R,
    date: Date,
    out: W,
    quarantine: Q,
) -> Result<Stats, EtlError> {
    let sinks = Sinks { object, out, quarantine, line: String::with_capacity(256), stats: Stats::default() };
    match format {
        Format::JsonLines => json_lines(input, date, sinks),
        Format::Csv => csv(input, date, sinks),
    }
}

fn corrupt(object: &str, reason: String) -> EtlError {
    EtlError::CorruptObject { object: object.to_owned(), reason }
}

fn json_lines<R: BufRead, W: Write, Q: Write>(
    mut input: R,
    date: Date,
    mut sinks: Sinks<'_, W, Q>,
) -> Result<Stats, EtlError> {
    let mut buffer = Vec::with_capacity(512);
    let mut line_no = 0u64;
    loop {
        buffer.clear();
        let read = input.read_until(b'\n', &mut buffer).map_err(|e| io_error(sinks.object, "reading", &e))?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let complete = buffer.last() == Some(&b'\n');
        let text = std::str::from_utf8(&buffer)
            .map_err(|e| corrupt(sinks.object, format!("line {line_no} is not UTF-8 (byte {})", e.valid_up_to())))?;
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<RawOrder<'_>>(text) {
            Ok(raw) => sinks.record(&raw, date, line_no, || Cow::Borrowed(text))?,
            // The last line, cut off mid-record: the object was truncated.
            Err(e) if !complete && e.is_eof() => {
                return Err(corrupt(sinks.object, format!("truncated: line {line_no} ends in the middle of a record")));
            }
            Err(e) => {
                sinks.stats.records_in += 1;
                sinks.quarantine(line_no, &[format!("not a JSON object of order fields: {e}")], text)?;
            }
        }
    }
    sinks.finish()
}

fn csv<R: BufRead, W: Write, Q: Write>(input: R, date: Date, mut sinks: Sinks<'_, W, Q>) -> Result<Stats, EtlError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(input);
    let headers =
        reader.byte_headers().map_err(|e| corrupt(sinks.object, format!("unreadable CSV header: {e}")))?.clone();
    std::str::from_utf8(headers.as_slice()).map_err(|_| corrupt(sinks.object, "the CSV header is not UTF-8".into()))?;
    let index = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name.as_bytes()));
    let positions: Vec<Option<usize>> = COLUMNS.iter().map(|c| index(c)).collect();
    let missing: Vec<&str> = COLUMNS.iter().zip(&positions).filter(|(_, p)| p.is_none()).map(|(c, _)| *c).collect();
    if !missing.is_empty() {
        return Err(corrupt(sinks.object, format!("the CSV header lacks the columns {}", missing.join(", "))));
    }
    let mut record = csv::ByteRecord::new();
    loop {
        let more =
            reader.read_byte_record(&mut record).map_err(|e| corrupt(sinks.object, format!("unreadable CSV: {e}")))?;
        if !more {
            break;
        }
        let line_no = record.position().map_or(0, csv::Position::line);
        let mut fields: Vec<&str> = Vec::with_capacity(record.len());
        for field in record.iter() {
            fields.push(
                std::str::from_utf8(field)
                    .map_err(|_| corrupt(sinks.object, format!("line {line_no} is not UTF-8")))?,
            );
        }
        if fields.len() != headers.len() {
            sinks.stats.records_in += 1;
            sinks.quarantine(
                line_no,
                &[format!("expected {} fields, found {}", headers.len(), fields.len())],
                &fields.join(","),
            )?;
            continue;
        }
        let get = |i: usize| -> Option<Field<'_>> {
            let value = positions[i].map(|p| fields[p])?;
            if value.trim().is_empty() {
                Some(Field::Null)
            } else {
                Some(Field::Text(value.into()))
            }
        };
        let raw = RawOrder {
            order_id: get(0),
            customer_id: get(1),
            occurred_at: get(2),
            amount: get(3),
            currency: get(4),
            country: get(5),
            status: get(6),
            items: get(7),
        };
        sinks.record(&raw, date, line_no, || Cow::Owned(fields.join(",")))?;
    }
    sinks.finish()
}

//! Realistic order data for tests and benchmarks: deterministic for a seed, with an
//! optional share of bad records, as JSON Lines, generated as a stream of any size.

use std::fmt::Write as _;
use std::io::Read;

use crate::time::Date;

const CURRENCIES: [&str; 6] = ["EUR", "usd", "GBP", "sek", "CHF", "jpy"];
const COUNTRIES: [&str; 8] = ["DE", "fr", "GB", "se", "CH", "JP", "us", "NL"];
const STATUSES: [&str; 5] = ["PAID", "paid", "PENDING", "REFUNDED", "Cancelled"];
const OFFSETS: [&str; 4] = ["Z", "+00:00", "+00:00", "Z"];

/// Generates order lines; every `bad_every`-th record (if set) is malformed in one of
/// several ways.
pub struct Generator {
    state: u64,
    date: Date,
    serial: u64,
    bad_every: Option<u64>,
}

impl Generator {
    pub fn new(seed: u64, date: Date, bad_every: Option<u64>) -> Self {
        Self { state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, date, serial: 0, bad_every }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*: fast, deterministic, good enough for test data.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    /// Appends one record and its newline. Returns whether it is a good record.
    pub fn write_line(&mut self, out: &mut String) -> bool {
        self.serial += 1;
        let serial = self.serial;
        let bad = self.bad_every.is_some_and(|n| serial.is_multiple_of(n));
        let secs = self.next() % 86_400;
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        let cents = self.next() % 50_000 + 1;
        let customer = self.next() % 100_000;
        let items = self.next() % 9 + 1;
        let (currency, country, status, offset) =
            (self.pick(&CURRENCIES), self.pick(&COUNTRIES), self.pick(&STATUSES), self.pick(&OFFSETS));
        if bad {
            match (serial / self.bad_every.unwrap_or(1)) % 4 {
                0 => out.push_str("{\"order_id\":\"broken"),
                1 => {
                    let _ = write!(out, "{{\"order_id\":\"o-{serial:09}\",\"customer_id\":\"c-{customer}\",\"occurred_at\":\"not-a-time\",\"amount\":\"{}.{:02}\",\"currency\":\"{currency}\",\"country\":\"{country}\",\"status\":\"{status}\",\"items\":{items}}}", cents / 100, cents % 100);
                }
                2 => {
                    let _ = write!(out, "{{\"order_id\":\"o-{serial:09}\",\"customer_id\":\"c-{customer}\",\"occurred_at\":\"{}T{h:02}:{m:02}:{s:02}Z\",\"amount\":\"-3\",\"currency\":\"XYZ\",\"country\":\"{country}\",\"status\":\"{status}\",\"items\":{items}}}", self.date);
                }
                _ => {
                    let _ = write!(
                        out,
                        "{{\"order_id\":\"o-{serial:09}\",\"occurred_at\":\"{}T{h:02}:{m:02}:{s:02}Z\"}}",
                        self.date
                    );
                }
            }
            out.push('\n');
            return false;
        }
        let _ = writeln!(
            out,
            "{{\"order_id\":\"o-{serial:09}\",\"customer_id\":\"c-{customer}\",\"occurred_at\":\"{}T{h:02}:{m:02}:{s:02}{offset}\",\"amount\":\"{}.{:02}\",\"currency\":\"{currency}\",\"country\":\"{country}\",\"status\":\"{status}\",\"items\":{items}}}",
            self.date,
            cents / 100,
            cents % 100
        );
        true
    }

    /// `n` records as one JSON Lines text.
    pub fn lines(&mut self, n: usize) -> String {
        let mut out = String::with_capacity(n * 200);
        for _ in 0..n {
            self.write_line(&mut out);
        }
        out
    }
}

/// A reader that produces about `limit` bytes of records without holding them.
pub struct Stream {
    generator: Generator,
    remaining: u64,
    buffer: String,
    offset: usize,
}

impl Stream {
    pub fn new(generator: Generator, limit: u64) -> Self {
        Self { generator, remaining: limit, buffer: String::new(), offset: 0 }
    }
}

impl Read for Stream {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.offset >= self.buffer.len() {
            if self.remaining == 0 {
                return Ok(0);
            }
            self.buffer.clear();
            self.offset = 0;
            while self.buffer.len() < 64 * 1024 {
                self.generator.write_line(&mut self.buffer);
            }
            self.remaining = self.remaining.saturating_sub(self.buffer.len() as u64);
        }
        let n = out.len().min(self.buffer.len() - self.offset);
        out[..n].copy_from_slice(&self.buffer.as_bytes()[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

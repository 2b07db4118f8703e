//! Cloud-wait accounting: the wall time during which at least one cloud call (or a
//! pause between polls) was in flight. Calls overlap (a release polls every function at
//! once), so summing their durations would count the same second many times; the union
//! of their intervals is what the deployer did not spend on its own work.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
struct Span {
    in_flight: usize,
    since: Option<Instant>,
    total: Duration,
}

/// Shared by every adapter of one command run; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CloudMeter(Arc<Mutex<Span>>);

impl CloudMeter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Awaits `f`, counting its time.
    pub async fn time<F: Future>(&self, f: F) -> F::Output {
        self.enter();
        let _leave = Leave(self);
        f.await
    }

    fn enter(&self) {
        let mut span = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if span.in_flight == 0 {
            span.since = Some(Instant::now());
        }
        span.in_flight += 1;
    }

    fn leave(&self) {
        let mut span = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        span.in_flight = span.in_flight.saturating_sub(1);
        if span.in_flight == 0 {
            if let Some(since) = span.since.take() {
                span.total += since.elapsed();
            }
        }
    }

    /// The time counted so far (an interval still open counts up to now).
    pub fn waited(&self) -> Duration {
        let span = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        span.total + span.since.map_or(Duration::ZERO, |s| s.elapsed())
    }
}

/// Closes the interval however the future ends (finished, failed or dropped).
struct Leave<'a>(&'a CloudMeter);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn overlapping_calls_count_once_and_gaps_not_at_all() {
        let meter = CloudMeter::new();
        let call = |ms| {
            let meter = meter.clone();
            async move { meter.time(tokio::time::sleep(Duration::from_millis(ms))).await }
        };
        // Two calls of 100 ms and 60 ms side by side: 100 ms of waiting.
        tokio::join!(call(100), call(60));
        assert_eq!(meter.waited(), Duration::from_millis(100));
        // 50 ms of the deployer's own work, uncounted; then one more call.
        tokio::time::sleep(Duration::from_millis(50)).await;
        call(30).await;
        assert_eq!(meter.waited(), Duration::from_millis(130));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_call_closes_its_interval() {
        let meter = CloudMeter::new();
        let slow = meter.time(tokio::time::sleep(Duration::from_secs(10)));
        let _ = tokio::time::timeout(Duration::from_millis(20), slow).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(meter.waited(), Duration::from_millis(20));
    }
}

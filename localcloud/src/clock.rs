//! Compressed time: one setting (`LOCALCLOUD_TIME_SCALE`) divides CodeDeploy
//! intervals, the hook time limit and metric periods together.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    scale: f64,
}

impl Clock {
    pub fn new(scale: f64) -> Self {
        Self { scale: if scale.is_finite() && scale >= 1.0 { scale } else { 1.0 } }
    }

    /// From `LOCALCLOUD_TIME_SCALE` (default 1: real time).
    pub fn from_env() -> Self {
        Self::new(std::env::var("LOCALCLOUD_TIME_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0))
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// How long `cloud_time` takes on this machine.
    pub fn real(&self, cloud_time: Duration) -> Duration {
        cloud_time.div_f64(self.scale)
    }

    /// Wall-clock seconds since the epoch, as AWS timestamps.
    pub fn now_epoch() -> f64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_minutes_at_scale_60_is_five_seconds() {
        assert_eq!(Clock::new(60.0).real(Duration::from_secs(300)), Duration::from_secs(5));
        assert_eq!(
            Clock::new(0.0).real(Duration::from_secs(3)),
            Duration::from_secs(3),
            "nonsense scales mean real time"
        );
    }
}

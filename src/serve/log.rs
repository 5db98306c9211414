//! Where `serve` logs, and the throttle that keeps an event repeating in a loop (failed
//! accepts, refused connections) from flooding the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// A sink for log lines.
pub type Log = Arc<dyn Fn(String) + Send + Sync>;

/// How often a throttled event may be logged.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Logs the first of a run of like events, then at most one line per interval, which says how
/// many were left out since the last one.
pub(crate) struct Throttle {
    interval: Duration,
    last: Option<Instant>,
    left_out: u64,
}

impl Throttle {
    pub(crate) fn new(interval: Duration) -> Self {
        Throttle {
            interval,
            last: None,
            left_out: 0,
        }
    }

    /// Logs `line()` unless a line went out less than an interval ago.
    pub(crate) fn event(&mut self, log: &Log, line: impl FnOnce() -> String) {
        self.event_at(Instant::now(), log, line)
    }

    fn event_at(&mut self, now: Instant, log: &Log, line: impl FnOnce() -> String) {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.interval)
        {
            self.left_out += 1;
            return;
        }
        let mut line = line();
        if self.left_out > 0 {
            line.push_str(&format!(
                " ({} more like this since the last such line)",
                self.left_out
            ));
        }
        self.left_out = 0;
        self.last = Some(now);
        log(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn throttle_logs_the_first_then_one_line_per_interval_with_the_count_left_out() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let log: Log = Arc::new(move |l| sink.lock().unwrap().push(l));
        let mut t = Throttle::new(Duration::from_secs(10));
        let start = Instant::now();
        for ms in 0..1000 {
            t.event_at(start + Duration::from_millis(ms), &log, || {
                "accept failed".into()
            });
        }
        t.event_at(start + Duration::from_secs(10), &log, || {
            "accept failed".into()
        });
        let lines = lines.lock().unwrap();
        assert_eq!(
            *lines,
            [
                "accept failed",
                "accept failed (999 more like this since the last such line)"
            ]
        );
    }
}

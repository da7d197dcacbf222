//! Percentiles of a series of durations, in milliseconds.

use std::time::Duration;

use serde_json::{Value, json};

/// The `p`-th percentile (nearest rank) of `sorted`, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    millis(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The median, p90, p99 and count of `samples`.
pub fn summary(mut samples: Vec<Duration>) -> Value {
    samples.sort();
    json!({
        "n": samples.len(),
        "p50_ms": percentile(&samples, 50.0),
        "p90_ms": percentile(&samples, 90.0),
        "p99_ms": percentile(&samples, 99.0),
    })
}

/// The median of `samples`, in milliseconds.
pub fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    percentile(&samples, 50.0)
}

//! How long a transient failure waits: exponential in the attempts, with jitter so that
//! invoices failing together do not come back together, never sooner than the provider asked.

use std::time::Duration;

/// The wait after the `attempt`-th failure (1 for the first): between half and all of
/// `base × 2^(attempt−1)`, capped at `max`, at least `retry_after` and one second.
pub fn delay(
    attempt: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let full = base.saturating_mul(1 << exponent).min(max);
    let jittered = full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    jittered
        .max(retry_after.unwrap_or_default())
        .max(Duration::from_secs(1))
}

/// A uniform number in [0, 1] from fresh randomness.
pub fn jitter() -> f64 {
    (ulid::Ulid::generate().random() & 0xFFFF) as f64 / f64::from(0xFFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(10);
    const MAX: Duration = Duration::from_secs(300);

    #[test]
    fn waits_double_per_attempt_within_their_jitter_and_cap() {
        for attempt in 1..=10 {
            let full = (BASE * 2u32.pow(attempt - 1)).min(MAX);
            let low = delay(attempt, BASE, MAX, None, 0.0);
            let high = delay(attempt, BASE, MAX, None, 1.0);
            assert_eq!(low, full / 2, "attempt {attempt}");
            assert_eq!(high, full, "attempt {attempt}");
        }
        assert_eq!(delay(50, BASE, MAX, None, 1.0), MAX);
    }

    #[test]
    fn the_providers_retry_after_and_one_second_are_floors() {
        assert_eq!(
            delay(1, BASE, MAX, Some(Duration::from_secs(60)), 0.0),
            Duration::from_secs(60)
        );
        assert_eq!(delay(1, Duration::ZERO, MAX, None, 0.5), Duration::from_secs(1));
        for _ in 0..100 {
            let value = jitter();
            assert!((0.0..=1.0).contains(&value));
        }
    }
}

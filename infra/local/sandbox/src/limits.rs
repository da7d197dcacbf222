//! Factus's rate limit (`limite-de-request.md`: 80 requests a minute per user), with the semantics
//! of Laravel's throttle, which Factus runs on: a 60-second window opens at the first request
//! after the previous one closed; a request over the limit is refused (429) and not counted;
//! answers carry `X-RateLimit-Limit` and `X-RateLimit-Remaining`, a refusal `Retry-After` (the
//! seconds left in the window) and `X-RateLimit-Reset` (when it closes, in epoch seconds).

use std::time::{Duration, Instant};

/// How long a window lasts.
pub const WINDOW: Duration = Duration::from_secs(60);

/// One user's window.
#[derive(Debug, Default)]
pub struct Window {
    opened: Option<Instant>,
    hits: u32,
}

/// What the limiter says of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Served; `remaining` more fit in the window.
    Allowed { remaining: u32 },
    /// Refused; the window closes in `retry_after` seconds.
    Limited { retry_after: u64 },
}

impl Window {
    /// Counts a request made at `now` against `limit` requests a window.
    pub fn hit(&mut self, now: Instant, limit: u32) -> Verdict {
        if let Some(opened) = self.opened
            && now.duration_since(opened) >= WINDOW
        {
            self.opened = None;
            self.hits = 0;
        }
        if let Some(opened) = self.opened
            && self.hits >= limit
        {
            let left = WINDOW.saturating_sub(now.duration_since(opened));
            let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            return Verdict::Limited {
                retry_after: seconds.max(1),
            };
        }
        self.opened.get_or_insert(now);
        self.hits += 1;
        Verdict::Allowed {
            remaining: limit.saturating_sub(self.hits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_opens_at_the_first_request_and_refusals_do_not_count() {
        let start = Instant::now();
        let later = start + Duration::from_secs(75);
        let steps = [
            (start, Verdict::Allowed { remaining: 2 }),
            (start + Duration::from_secs(10), Verdict::Allowed { remaining: 1 }),
            (start + Duration::from_secs(20), Verdict::Allowed { remaining: 0 }),
            (
                start + Duration::from_millis(30_500),
                Verdict::Limited { retry_after: 30 },
            ),
            (
                start + Duration::from_secs(59),
                Verdict::Limited { retry_after: 1 },
            ),
            // The window that opened at `start` closes at 60 s; the next opens at the next request.
            (later, Verdict::Allowed { remaining: 2 }),
            (later + Duration::from_secs(50), Verdict::Allowed { remaining: 1 }),
            (later + Duration::from_secs(59), Verdict::Allowed { remaining: 0 }),
            (
                later + Duration::from_secs(59),
                Verdict::Limited { retry_after: 1 },
            ),
            (later + Duration::from_secs(60), Verdict::Allowed { remaining: 2 }),
        ];
        let mut window = Window::default();
        for (at, expected) in steps {
            assert_eq!(window.hit(at, 3), expected, "at {:?}", at - start);
        }
    }
}

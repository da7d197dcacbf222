//! The pace of one provider account: every call spends from a budget shared by every function
//! instance (Factus allows 80 requests a minute per user, `limite-de-request.md`), kept in
//! DynamoDB as the account's next free slot ([`crate::store::Store::reserve_span`]). Calls are
//! spaced at 95 % of the limit less one, so that no 60-second window of Factus's sees more than
//! the limit even with a second of jitter. Nine tenths of that pace go to new submissions and one
//! tenth to the calls an answer needs at once (deleting a rejected bill, looking a reference up,
//! settling a blocked account, a token), which no lot of submissions can crowd out. A caller
//! reserves the slots of the work it can do now and waits for each; nobody reserves further
//! ahead, so a lot of 10,000 invoices does not promise the account's next two hours away from
//! the invoice that comes after it: when a lane is busy beyond that, work goes back to the queue
//! for about as long as the calls already promised take. Factus's `X-RateLimit-*` headers
//! correct the budget: a lower limit than configured is adopted, and an exhausted window
//! (someone else spends the account too) or a 429 holds every call until the provider says.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::clock;
use crate::store::{AccountState, PaceCell, Reservation, Store};
pub use crate::store::{Block, Lane};

const WINDOW_MS: i64 = 60_000;

/// The interval between two calls when `limit` calls a minute are allowed.
pub fn interval_ms(limit: u32) -> i64 {
    let effective = (i64::from(limit) * 95 / 100 - 1).max(1);
    (WINDOW_MS + effective - 1) / effective
}

/// The interval between two calls of a lane: nine tenths of the pace for submissions, a tenth
/// for urgent calls (their rates add up to the account's).
pub fn lane_interval_ms(limit: u32, lane: Lane) -> i64 {
    let interval = interval_ms(limit);
    match lane {
        Lane::Submissions => (interval * 10 + 8) / 9,
        Lane::Urgent => interval * 10,
    }
}

/// A call's wait: not now, come back after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paced(pub Duration);

pub struct Pacer {
    store: Store,
    configured_limit: u32,
    /// The provider's `X-RateLimit-Limit`, when lower than configured.
    learned_limit: AtomicU32,
    /// The last `tat` seen of each lane, to guess whether it is busy.
    last_tat: [AtomicI64; 2],
    /// What the last reservation of this container saw of the account.
    state: Mutex<AccountState>,
}

impl Pacer {
    pub fn new(store: Store, limit_per_minute: u32) -> Self {
        Self {
            store,
            configured_limit: limit_per_minute.max(1),
            learned_limit: AtomicU32::new(u32::MAX),
            last_tat: [AtomicI64::new(0), AtomicI64::new(0)],
            state: Mutex::new(AccountState::default()),
        }
    }

    /// The interval between two calls of a lane now.
    pub fn interval_ms(&self, lane: Lane) -> i64 {
        lane_interval_ms(
            self.configured_limit
                .min(self.learned_limit.load(Ordering::Relaxed)),
            lane,
        )
    }

    fn last_tat(&self, lane: Lane) -> &AtomicI64 {
        &self.last_tat[usize::from(lane == Lane::Urgent)]
    }

    /// Reserves `count` consecutive slots of a lane of `account`, the first at the answer, each
    /// next one [`Self::interval_ms`] later, if the first comes no later than `latest_start_ms`.
    /// A lane busy beyond that is `Err(Paced)`: come back after the calls promised (and a random
    /// share more, so that the waiting do not all come back at once).
    pub async fn reserve(
        &self,
        account: &str,
        lane: Lane,
        count: u32,
        latest_start_ms: i64,
    ) -> anyhow::Result<Result<Slots, Paced>> {
        let interval = self.interval_ms(lane);
        let now = clock::epoch_ms(clock::now());
        let known = self.last_tat(lane).load(Ordering::Relaxed);
        if known > latest_start_ms.max(now) {
            // Known busy past the horizon already (a lane's `tat` only moves on): no need to ask.
            let backlog = u64::try_from(known - now).unwrap_or(0);
            return Ok(Err(Paced(Duration::from_millis(backlog + spread(backlog)))));
        }
        let busy = known > now;
        let span = interval * i64::from(count.max(1));
        let reservation = self
            .store
            .reserve_span(
                &PaceCell::provider(account, lane),
                now,
                latest_start_ms.max(now),
                span,
                busy,
            )
            .await?;
        let (result, state, tat) = match reservation {
            Reservation::Reserved { start_ms, state } => (
                Ok(Slots {
                    from_ms: start_ms,
                    interval_ms: interval,
                }),
                state,
                start_ms + span,
            ),
            Reservation::Busy { free_at_ms, state } => {
                let backlog = u64::try_from(free_at_ms - now).unwrap_or(0);
                (
                    Err(Paced(Duration::from_millis(backlog + spread(backlog)))),
                    state,
                    free_at_ms,
                )
            }
        };
        self.last_tat(lane).store(tat, Ordering::Relaxed);
        if let Ok(mut seen) = self.state.lock() {
            *seen = state;
        }
        Ok(result)
    }

    /// Reads the budget item into this container's view of the account.
    pub async fn refresh(&self, account: &str) -> anyhow::Result<()> {
        let (state, tats) = self.store.read_budget(account).await?;
        for (lane, tat) in [Lane::Submissions, Lane::Urgent].into_iter().zip(tats) {
            self.last_tat(lane).fetch_max(tat, Ordering::Relaxed);
        }
        if let Ok(mut seen) = self.state.lock() {
            *seen = state;
        }
        Ok(())
    }

    /// The deletions owed, as the last reservation of this container saw them.
    pub fn uncleared(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|state| state.uncleared.clone())
            .unwrap_or_default()
    }

    pub async fn owe_deletion(&self, account: &str, reference: &str, owed: bool) -> anyhow::Result<()> {
        self.store.mark_uncleared(account, reference, owed).await?;
        if let Ok(mut state) = self.state.lock() {
            state.uncleared.retain(|r| r != reference);
            if owed {
                state.uncleared.push(reference.to_owned());
            }
        }
        Ok(())
    }

    /// Whether the account is blocked by a pending bill, as this container last saw it, and how
    /// long to wait before looking again: no more than `recheck` (the block may end sooner),
    /// with a random share more, so that the waiting do not all come back at once.
    pub fn blocked_for(&self, recheck: Duration) -> Option<Duration> {
        let until = self.state.lock().ok()?.blocked_until?;
        let left = u64::try_from(until - clock::epoch_ms(clock::now()))
            .ok()
            .filter(|left| *left > 0)?;
        let wait = left.min(u64::try_from(recheck.as_millis()).unwrap_or(u64::MAX));
        Some(Duration::from_millis(wait + spread(wait)))
    }

    /// Marks the account blocked for `duration` as `mode` says; `true` when it was marked (for
    /// [`Block::Take`]: this caller settles the block).
    pub async fn block(&self, account: &str, mode: Block, duration: Duration) -> anyhow::Result<bool> {
        let now = clock::epoch_ms(clock::now());
        let until = now + i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2);
        let applied = self.store.block_account(account, mode, now, until).await?;
        if applied && let Ok(mut state) = self.state.lock() {
            state.blocked_until = Some(until);
        }
        Ok(applied)
    }

    /// The account's block is settled.
    pub async fn unblock(&self, account: &str) -> anyhow::Result<()> {
        self.store.unblock_account(account).await?;
        if let Ok(mut state) = self.state.lock() {
            state.blocked_until = None;
        }
        Ok(())
    }

    /// Reads the provider's rate-limit headers of an answer (and its status) into the budget.
    pub async fn observe(&self, account: &str, status: reqwest::StatusCode, headers: &HeaderMap) {
        let number = |name: &str| -> Option<i64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        if let Some(limit) = number("x-ratelimit-limit").and_then(|l| u32::try_from(l).ok())
            && limit < self.configured_limit
            && limit < self.learned_limit.swap(limit, Ordering::Relaxed)
        {
            tracing::warn!(
                limit,
                configured = self.configured_limit,
                "the provider allows fewer requests a minute than configured: pacing to its limit"
            );
        }
        let now = clock::epoch_ms(clock::now());
        let retry_after = number("retry-after").map(|seconds| now + seconds * 1000);
        let reset = number("x-ratelimit-reset").map(|reset| {
            // Seconds from now, or an epoch timestamp (the docs allow either).
            if reset > 1_000_000_000 {
                reset * 1000
            } else {
                now + reset * 1000
            }
        });
        let exhausted = number("x-ratelimit-remaining").is_some_and(|remaining| remaining <= 0);
        let hold = if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Some(retry_after.or(reset).unwrap_or(now + WINDOW_MS))
        } else if exhausted {
            Some(reset.unwrap_or(now + WINDOW_MS))
        } else {
            None
        };
        if let Some(until) = hold {
            tracing::warn!(
                hold_ms = until - now,
                "the provider's window is spent: no call of the account until it resets"
            );
            if let Err(error) = self.store.hold_calls_until(account, until).await {
                tracing::error!(cause = format!("{error:#}"), "could not hold the account's calls");
            }
            for lane in [Lane::Submissions, Lane::Urgent] {
                self.last_tat(lane).fetch_max(until, Ordering::Relaxed);
            }
        }
    }
}

/// A random share of `range` milliseconds, to spread those who wait.
fn spread(range: u64) -> u64 {
    fastrand::u64(0..=range)
}

/// Reserved slots: the first at `from_ms`, then one every `interval_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slots {
    pub from_ms: i64,
    pub interval_ms: i64,
}

/// Waits until `slot_ms` if it comes no later than `latest_ms`; else says how long to wait.
pub async fn wait_for(slot_ms: i64, latest_ms: i64) -> Result<(), Paced> {
    let now = clock::epoch_ms(clock::now());
    if slot_ms > latest_ms {
        return Err(Paced(Duration::from_millis(
            u64::try_from(slot_ms - now).unwrap_or(0),
        )));
    }
    if slot_ms > now {
        tokio::time::sleep(Duration::from_millis(u64::try_from(slot_ms - now).unwrap_or(0))).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_keeps_every_window_under_the_limit() {
        // 80 a minute: 75 slots, one every 800 ms; 1,200: 1,139, one every 53 ms.
        assert_eq!(interval_ms(80), 800);
        assert_eq!(interval_ms(1200), 53);
        assert_eq!(interval_ms(1), 60_000);
        for limit in [2u32, 10, 80, 500, 1200, 6000] {
            let interval = interval_ms(limit);
            // The calls of any 61 seconds (a window and a second of jitter) stay within the limit.
            let calls = 61_000 / interval + 1;
            assert!(calls <= i64::from(limit), "{limit}: {calls} calls");
        }
    }

    #[test]
    fn the_lanes_share_the_pace() {
        for limit in [80u32, 1500, 60_000] {
            let whole = 60_000.0 / interval_ms(limit) as f64;
            let lanes: f64 = [Lane::Submissions, Lane::Urgent]
                .iter()
                .map(|lane| 60_000.0 / lane_interval_ms(limit, *lane) as f64)
                .sum();
            assert!(lanes <= whole, "{limit}: {lanes} > {whole}");
        }
        assert_eq!(lane_interval_ms(80, Lane::Submissions), 889);
        assert_eq!(lane_interval_ms(80, Lane::Urgent), 8_000);
    }
}

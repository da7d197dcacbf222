//! Login guesses per email (known or not, so that a lockout does not reveal an account): a guess
//! is counted, conditionally, before its password is checked, so that five guesses within 15
//! minutes are all an email gets however many arrive at once; the sixth is refused, without a
//! check, for 15 minutes after the fifth. A successful login deletes the count. The item expires
//! with the table's TTL.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{Credentials, Store, applied, key, keys, record};

pub const MAX_GUESSES: u32 = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;
pub const LOCK_SECONDS: i64 = 15 * 60;
/// Counting races a reset of an expired window at most this often before the guess is refused.
const COUNT_TRIES: usize = 3;

/// The counted guesses of one email (an attribute missing reads as zero).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginAttempts {
    pub guesses: u32,
    pub window_started: i64,
    /// When the last guess was counted: the fifth starts the lock.
    pub last_guess_at: i64,
}

impl LoginAttempts {
    /// Seconds until the lock lifts, when locked at `now`.
    pub fn locked_for(&self, now: i64) -> Option<i64> {
        let until = self.last_guess_at + LOCK_SECONDS;
        (self.guesses >= MAX_GUESSES && until > now).then_some(until - now)
    }
}

/// Whether a login may check its password.
#[derive(Debug, PartialEq, Eq)]
pub enum Guess {
    /// Counted: the password may be checked.
    Counted,
    /// The email is locked for this many seconds; nothing was counted.
    Locked(i64),
}

impl Store {
    /// Counts a guess at `email`'s password at `now`, unless the email is locked.
    pub async fn count_login_guess(&self, email: &str, now: i64) -> anyhow::Result<Guess> {
        for _ in 0..COUNT_TRIES {
            if self.add_guess(email, now).await? {
                return Ok(Guess::Counted);
            }
            // Locked, or the window is over and this guess starts a new one.
            let current = self.get(keys::login(email), keys::LOGIN.to_owned(), true).await?;
            let Some(current) = current.map(record::<LoginAttempts>).transpose()? else {
                continue;
            };
            if let Some(seconds) = current.locked_for(now) {
                return Ok(Guess::Locked(seconds));
            }
            if self.restart_window(email, &current, now).await? {
                return Ok(Guess::Counted);
            }
        }
        // Others keep resetting the count at the same moment: refuse this guess for a second.
        Ok(Guess::Locked(1))
    }

    /// Adds a guess to a window that is open and not full; `false` when there is none.
    async fn add_guess(&self, email: &str, now: i64) -> anyhow::Result<bool> {
        let added = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::login(email), keys::LOGIN.to_owned())))
            .update_expression(
                "SET window_started = if_not_exists(window_started, :now), last_guess_at = :now, \
                 expires_at = :expires ADD guesses :one",
            )
            .condition_expression(
                "attribute_not_exists(PK) OR (window_started > :window_start AND guesses < :max)",
            )
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":window_start", number(now - WINDOW_SECONDS))
            .expression_attribute_values(":expires", number(expiry(now)))
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":max", number(i64::from(MAX_GUESSES)))
            .send()
            .await;
        applied(added)
    }

    /// Replaces `current` (its window over, its lock lifted) by a window of this one guess;
    /// `false` when someone else changed it first.
    async fn restart_window(&self, email: &str, current: &LoginAttempts, now: i64) -> anyhow::Result<bool> {
        let fresh = LoginAttempts {
            guesses: 1,
            window_started: now,
            last_guess_at: now,
        };
        let mut item = super::item(&fresh, keys::login(email), keys::LOGIN.to_owned())?;
        item.insert("expires_at".to_owned(), number(expiry(now)));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "(attribute_not_exists(window_started) OR window_started = :started) \
                 AND (attribute_not_exists(guesses) OR guesses = :guesses)",
            )
            .expression_attribute_values(":started", number(current.window_started))
            .expression_attribute_values(":guesses", number(i64::from(current.guesses)))
            .send()
            .await;
        applied(put)
    }

    /// The credentials of an email, if someone registered it.
    pub async fn credentials(&self, email: &str) -> anyhow::Result<Option<Credentials>> {
        self.get_record(keys::email(email), keys::EMAIL.to_owned(), true)
            .await
    }

    pub(crate) fn delete_attempts(&self, email: &str) -> anyhow::Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::login(email), keys::LOGIN.to_owned())))
                    .build()?,
            )
            .build())
    }
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// When a count started at `now` may be deleted: after its window and a lock that follows it.
fn expiry(now: i64) -> i64 {
    now + WINDOW_SECONDS + LOCK_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_guess_locks_until_fifteen_minutes_after_it() {
        let attempts = LoginAttempts {
            guesses: 5,
            window_started: 0,
            last_guess_at: 100,
        };
        assert_eq!(attempts.locked_for(100), Some(900));
        assert_eq!(attempts.locked_for(999), Some(1));
        assert_eq!(attempts.locked_for(1000), None);
        let four = LoginAttempts {
            guesses: 4,
            ..attempts
        };
        assert_eq!(four.locked_for(100), None);
    }
}

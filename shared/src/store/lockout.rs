//! Failed logins per email (known or not, so that a lockout does not reveal an account): five
//! within 15 minutes lock the email for 15 minutes. The counter expires with the table's TTL.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{Credentials, Item, Store, key, keys, record};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;
pub const LOCK_SECONDS: i64 = 15 * 60;

/// The failed attempts of one email.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAttempts {
    pub failures: u32,
    pub window_started: i64,
    pub locked_until: Option<i64>,
}

impl LoginAttempts {
    /// Seconds until the lock lifts, when locked at `now`.
    pub fn locked_for(&self, now: i64) -> Option<i64> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }
}

impl Store {
    /// The credentials and failed attempts of an email, in one round trip.
    pub async fn login_records(
        &self,
        email: &str,
    ) -> anyhow::Result<(Option<Credentials>, Option<LoginAttempts>)> {
        let wanted = KeysAndAttributes::builder()
            .keys(key(keys::email(email), keys::EMAIL.to_owned()))
            .keys(key(keys::login(email), keys::LOGIN.to_owned()))
            .consistent_read(true)
            .build()?;
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.table, wanted)
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        let mut credentials = None;
        let mut attempts = None;
        for item in output
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default()
        {
            match item.get("SK").and_then(|sk| sk.as_s().ok()).map(String::as_str) {
                Some(keys::EMAIL) => credentials = Some(record(item)?),
                Some(keys::LOGIN) => attempts = Some(record(item)?),
                _ => {}
            }
        }
        Ok((credentials, attempts))
    }

    /// Counts a failed login at `now` and answers the attempts after it (locked at the fifth).
    pub async fn record_failed_login(&self, email: &str, now: i64) -> anyhow::Result<LoginAttempts> {
        let expires = AttributeValue::N((now + WINDOW_SECONDS + LOCK_SECONDS).to_string());
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::login(email), keys::LOGIN.to_owned())))
            .update_expression("SET window_started = if_not_exists(window_started, :now), expires_at = :expires ADD failures :one")
            .condition_expression("attribute_not_exists(PK) OR window_started > :window_start")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":window_start", AttributeValue::N((now - WINDOW_SECONDS).to_string()))
            .expression_attribute_values(":expires", expires.clone())
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let attempts: LoginAttempts = match counted {
            Ok(output) => record(output.attributes.unwrap_or_default())?,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // The window is over: this failure starts a new one.
                let fresh = LoginAttempts {
                    failures: 1,
                    window_started: now,
                    locked_until: None,
                };
                let mut item: Item = super::item(&fresh, keys::login(email), keys::LOGIN.to_owned())?;
                item.insert("expires_at".to_owned(), expires);
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .map_err(aws_sdk_dynamodb::Error::from)?;
                fresh
            }
            Err(error) => return Err(aws_sdk_dynamodb::Error::from(error).into()),
        };
        if attempts.failures < MAX_FAILURES || attempts.locked_for(now).is_some() {
            return Ok(attempts);
        }
        let locked_until = now + LOCK_SECONDS;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::login(email), keys::LOGIN.to_owned())))
            .update_expression("SET locked_until = :until")
            .expression_attribute_values(":until", AttributeValue::N(locked_until.to_string()))
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        Ok(LoginAttempts {
            locked_until: Some(locked_until),
            ..attempts
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_counts_down_then_lifts() {
        let attempts = LoginAttempts {
            failures: 5,
            window_started: 0,
            locked_until: Some(900),
        };
        assert_eq!(attempts.locked_for(100), Some(800));
        assert_eq!(attempts.locked_for(900), None);
        assert_eq!(LoginAttempts::default().locked_for(0), None);
    }
}

//! Refresh-token families ("sessions"): one per login. Each refresh rotates the family's current
//! token; presenting an older one revokes the family, except a retry of the token just rotated
//! within a few seconds. Families expire with the table's TTL.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{Store, applied, item, key, keys};
use crate::auth::Role;
use crate::auth::tokens::{REFRESH_TTL_SECONDS, RefreshToken};

/// How long after a rotation the rotated token may come again as a client's retry.
pub const RETRY_GRACE_SECONDS: i64 = 10;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub family: String,
    pub organization_id: String,
    pub user_id: String,
    pub role: Role,
    /// The refresh token that may be used next.
    pub current_jti: String,
    pub current_issued_at: i64,
    /// The token rotated away last, and when: a retry of it within the grace is not theft.
    pub previous_jti: Option<String>,
    pub rotated_at: Option<i64>,
    pub revoked: bool,
    /// Epoch seconds; DynamoDB deletes the family after its last refresh token expires.
    pub expires_at: i64,
}

impl Session {
    /// A new family for a login at `now`, with its first refresh token.
    pub fn start(user_id: &str, org_id: &str, role: Role, now: i64) -> Self {
        Self {
            family: crate::ids::new_id(),
            organization_id: org_id.to_owned(),
            user_id: user_id.to_owned(),
            role,
            current_jti: crate::ids::new_id(),
            current_issued_at: now,
            previous_jti: None,
            rotated_at: None,
            revoked: false,
            expires_at: now + REFRESH_TTL_SECONDS,
        }
    }

    /// The refresh token that may be used next.
    pub fn refresh_token(&self) -> RefreshToken {
        RefreshToken {
            family: self.family.clone(),
            jti: self.current_jti.clone(),
            issued_at: self.current_issued_at,
        }
    }

    /// Whether presenting `jti` at `now` is a retry of the refresh that just rotated it away.
    pub fn is_retry_of(&self, jti: &str, now: i64) -> bool {
        !self.revoked
            && self.previous_jti.as_deref() == Some(jti)
            && self.rotated_at.is_some_and(|at| now - at <= RETRY_GRACE_SECONDS)
    }
}

impl Store {
    pub(crate) fn put_session(&self, session: &Session) -> anyhow::Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item(
                        session,
                        keys::org(&session.organization_id),
                        keys::session(&session.family),
                    )?))
                    .build()?,
            )
            .build())
    }

    /// Starts a family at login; clears the email's counted guesses in the same transaction.
    pub async fn start_session(&self, session: &Session, email: &str) -> anyhow::Result<()> {
        let actions = vec![self.put_session(session)?, self.delete_attempts(email)?];
        self.transact(actions)
            .await
            .map_err(|refusal| refusal.into_error("starting a session"))
    }

    /// A family, read consistently (a rotation a moment ago must be seen).
    pub async fn get_session(&self, org_id: &str, family: &str) -> anyhow::Result<Option<Session>> {
        self.get_record(keys::org(org_id), keys::session(family), true)
            .await
    }

    /// Makes `next_jti` the family's current token if `presented_jti` still is; `false` when
    /// another request rotated first or the family was revoked.
    pub async fn rotate_session(
        &self,
        session: &Session,
        presented_jti: &str,
        next_jti: &str,
        now: i64,
        expires_at: i64,
    ) -> anyhow::Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::org(&session.organization_id),
                keys::session(&session.family),
            )))
            .update_expression(
                "SET previous_jti = current_jti, current_jti = :next, current_issued_at = :now, \
                 rotated_at = :now, expires_at = :expires",
            )
            .condition_expression("current_jti = :presented AND revoked = :false")
            .expression_attribute_values(":next", AttributeValue::S(next_jti.to_owned()))
            .expression_attribute_values(":presented", AttributeValue::S(presented_jti.to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        applied(result)
    }

    /// Revokes a family: none of its refresh tokens works any more.
    pub async fn revoke_session(&self, org_id: &str, family: &str) -> anyhow::Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org(org_id), keys::session(family))))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        // Gone already (expired): nothing is left to revoke.
        applied(result).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_just_rotated_away_may_come_again_and_only_briefly() {
        let mut session = Session::start("u", "o", Role::Viewer, 1_000);
        let first = session.current_jti.clone();
        assert!(
            !session.is_retry_of(&first, 1_000),
            "the current token is not a retry"
        );
        session.previous_jti = Some(first.clone());
        session.current_jti = "next".to_owned();
        session.rotated_at = Some(1_000);
        assert!(session.is_retry_of(&first, 1_000 + RETRY_GRACE_SECONDS));
        assert!(!session.is_retry_of(&first, 1_001 + RETRY_GRACE_SECONDS));
        assert!(!session.is_retry_of("older", 1_001));
        session.revoked = true;
        assert!(!session.is_retry_of(&first, 1_001));
    }
}

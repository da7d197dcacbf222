//! Idempotency records (`IDEM#<scope>` under the organization): what a request with an
//! `Idempotency-Key` answered, kept 24 hours, so that a retry gets the same answer.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{Store, keys, record};
use crate::invoices::SubmissionState;

/// What a replay answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Replay {
    /// The body itself, for small answers.
    Body { body: String },
    /// An invoice as it was when answered: its document never changes, so its id and the state
    /// it had are enough to answer it again, however large it is.
    Invoice {
        invoice_id: String,
        state: SubmissionState,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Digest of the concrete path and the client's key.
    pub scope: String,
    /// Digest of method, path, content type and body: another body under the same key is an error.
    pub fingerprint: String,
    pub status: u16,
    pub replay: Replay,
    /// Epoch seconds; expired records are replaced and, later, deleted by TTL.
    pub expires_at: i64,
}

impl Store {
    /// The put of a record, refused while an unexpired record holds the scope.
    pub(crate) fn put_idempotency(
        &self,
        org_id: &str,
        record: &IdempotencyRecord,
    ) -> anyhow::Result<TransactWriteItem> {
        let item = super::item(record, keys::org(org_id), keys::idempotency(&record.scope))?;
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(PK) OR expires_at < :now")
                    .expression_attribute_values(
                        ":now",
                        AttributeValue::N(crate::clock::now().unix_timestamp().to_string()),
                    )
                    .build()?,
            )
            .build())
    }

    /// The unexpired record of a scope (read consistently: a twin may have just written it).
    pub async fn get_idempotency(
        &self,
        org_id: &str,
        scope: &str,
    ) -> anyhow::Result<Option<IdempotencyRecord>> {
        let item = self
            .get(keys::org(org_id), keys::idempotency(scope), true)
            .await?;
        let now = crate::clock::now().unix_timestamp();
        Ok(item
            .map(record::<IdempotencyRecord>)
            .transpose()?
            .filter(|r| r.expires_at >= now))
    }
}

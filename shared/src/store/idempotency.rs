//! Idempotency records (`IDEM#<scope>` under the organization): what a request with an
//! `Idempotency-Key` answered, kept 24 hours, so that a retry gets the same answer. A request
//! that is one transaction (an invoice) writes its record in that transaction; one that is not
//! (a batch) first takes the key with an in-progress record that has a lease, so that a twin
//! arriving meanwhile is told to wait, and a crashed request's key frees itself.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{Item, Store, applied, key, keys, record};
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
        state: Box<SubmissionState>,
    },
    /// Nothing yet: the first request is in progress.
    Pending,
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
    /// While the first request runs: until when (epoch ms) it holds the key.
    #[serde(default)]
    pub in_progress_until: Option<i64>,
}

impl Store {
    fn idempotency_put(&self, org_id: &str, record: &IdempotencyRecord) -> anyhow::Result<Put> {
        let item: Item = super::item(record, keys::org(org_id), keys::idempotency(&record.scope))?;
        let now = crate::clock::now();
        Ok(Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR expires_at < :now OR in_progress_until < :now_ms",
            )
            .expression_attribute_values(":now", AttributeValue::N(now.unix_timestamp().to_string()))
            .expression_attribute_values(
                ":now_ms",
                AttributeValue::N(crate::clock::epoch_ms(now).to_string()),
            )
            .build()?)
    }

    /// The put of a record, refused while an unexpired record (or a live in-progress one) holds
    /// the scope.
    pub(crate) fn put_idempotency(
        &self,
        org_id: &str,
        record: &IdempotencyRecord,
    ) -> anyhow::Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .put(self.idempotency_put(org_id, record)?)
            .build())
    }

    /// Takes a key with an in-progress record; `false` when another request holds it or
    /// answered it already.
    pub async fn begin_idempotent(&self, org_id: &str, record: &IdempotencyRecord) -> anyhow::Result<bool> {
        let put = self.idempotency_put(org_id, record)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        applied(result)
    }

    /// Replaces the in-progress record with the answer to replay.
    pub async fn complete_idempotent(&self, org_id: &str, record: &IdempotencyRecord) -> anyhow::Result<()> {
        let item = super::item(record, keys::org(org_id), keys::idempotency(&record.scope))?;
        self.put(item).await
    }

    /// Frees a key whose request did not produce an answer worth replaying.
    pub async fn abandon_idempotent(&self, org_id: &str, scope: &str) -> anyhow::Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org(org_id), keys::idempotency(scope))))
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        Ok(())
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

//! Batches in the recovery index (GSI3), the reconciler's side. A batch enters it when its
//! ingest starts, due at the ingest's deadline, and its invoices do not (they enter it when a
//! worker claims them): an ingest that dies half-way leaves invoices nothing submits, and a batch
//! the reconciler then fails and takes back. A recorded batch is due again later, when the
//! reconciler queues its invoices whose chunk message was lost, and completes it, with counters
//! recounted from its invoices, once nothing is pending: a batch never stays `processing` with
//! nothing left to do.

use super::batches::{StoredInvoice, stored_keys};
use super::change::{Change, n, s};
use super::{BatchRecord, PageKey, Store, keys};
use crate::invoices::Status;

/// One invoice of a batch, as the reconciler sees it.
#[derive(Clone, Debug)]
pub struct Member {
    pub stored: StoredInvoice,
    pub status: Status,
    /// Queued and in no message the reconciler knows of: never claimed, not in the recovery
    /// index (its chunk message may have been lost).
    pub unclaimed: bool,
}

/// A batch's invoices, counted by where they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub total: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub failed: u64,
}

impl Tally {
    pub fn count(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Accepted | Status::Annulled => self.accepted += 1,
            Status::Rejected => self.rejected += 1,
            Status::Failed => self.failed += 1,
            Status::Queued | Status::Submitting => {}
        }
    }

    pub fn pending(&self) -> u64 {
        self.total - self.accepted - self.rejected - self.failed
    }
}

impl Store {
    /// A page of a batch's invoices (GSI2, one shard after the other), with only what recovery
    /// needs of each.
    pub async fn batch_members(
        &self,
        org_id: &str,
        batch_id: &str,
        after: Option<&PageKey>,
    ) -> anyhow::Result<(Vec<Member>, Option<PageKey>)> {
        let (shard, start) = super::shard_and_start(after);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :pk")
            .expression_attribute_values(":pk", s(keys::by_batch(org_id, batch_id, shard)))
            .projection_expression("PK, SK, GSI2PK, GSI2SK, reference_code, #status, GSI3PK")
            .expression_attribute_names("#status", "status")
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        let text =
            |item: &super::Item, name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned();
        let members = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                let id = text(item, "SK")?.strip_prefix(keys::INVOICE_PREFIX)?.to_owned();
                let status = Status::parse(&text(item, "status")?)?;
                Some(Member {
                    stored: StoredInvoice {
                        id,
                        reference_code: text(item, "reference_code")?,
                    },
                    status,
                    unclaimed: status == Status::Queued && !item.contains_key("GSI3PK"),
                })
            })
            .collect();
        Ok((
            members,
            super::next_shard_page(shard, output.last_evaluated_key.as_ref()),
        ))
    }

    /// Fails a batch whose ingest did not finish; `false` when it finished first.
    pub async fn fail_ingest(
        &self,
        org_id: &str,
        batch_id: &str,
        reason: &str,
        now: &str,
    ) -> anyhow::Result<bool> {
        let change = Change::new(
            keys::org(org_id),
            keys::batch(batch_id),
            "SET #status = :failed, failure_reason = :reason, updated_at = :now, completed_at = :now",
        )
        .condition("#status = :ingesting")
        .name("#status", "status")
        .value(":failed", s("failed"))
        .value(":ingesting", s("ingesting"))
        .value(":reason", s(reason))
        .value(":now", s(now));
        self.apply(change).await
    }

    /// Moves a batch's recovery to `due_ms`, or takes it out of the recovery index (`None`).
    pub async fn reschedule_batch(
        &self,
        org_id: &str,
        batch_id: &str,
        due_ms: Option<i64>,
    ) -> anyhow::Result<()> {
        let change = match due_ms {
            Some(due) => Change::new(keys::org(org_id), keys::batch(batch_id), "SET GSI3SK = :due")
                .value(":due", s(keys::recovery_due(due, org_id, batch_id))),
            None => Change::new(keys::org(org_id), keys::batch(batch_id), "REMOVE GSI3PK, GSI3SK"),
        };
        self.apply(change.condition("attribute_exists(PK)"))
            .await
            .map(|_| ())
    }

    /// Sets a processing batch's counters to what its invoices say when none is pending and they
    /// are all there (a counter move lost cannot leave it `processing`), then completes it. The
    /// write holds only if the counters are still those of `batch` (a move since, such as a
    /// retry, wins). Answers the batch as it is now.
    pub async fn recount_and_complete(
        &self,
        batch: &BatchRecord,
        tally: &Tally,
        now: &str,
    ) -> anyhow::Result<BatchRecord> {
        let mut batch = batch.clone();
        let counted = (tally.accepted, tally.rejected, tally.failed);
        let recorded = (batch.accepted, batch.rejected, batch.failed);
        let recount = tally.pending() == 0
            && tally.total == batch.total
            && counted != recorded
            && batch.status == super::BatchStatus::Processing;
        if recount {
            let number = |count: u64| n(i64::try_from(count).unwrap_or(i64::MAX));
            let done = tally.accepted + tally.rejected + tally.failed;
            let change = Change::new(
                keys::org(&batch.organization_id),
                keys::batch(&batch.id),
                "SET accepted = :accepted, rejected = :rejected, failed = :failed, done = :done",
            )
            .condition(
                "#status = :processing AND accepted = :was_accepted AND rejected = :was_rejected \
                 AND failed = :was_failed",
            )
            .name("#status", "status")
            .value(":processing", s("processing"))
            .value(":accepted", number(tally.accepted))
            .value(":rejected", number(tally.rejected))
            .value(":failed", number(tally.failed))
            .value(":done", number(done))
            .value(":was_accepted", number(batch.accepted))
            .value(":was_rejected", number(batch.rejected))
            .value(":was_failed", number(batch.failed));
            if self.apply(change).await? {
                tracing::warn!(batch_id = %batch.id, "a batch's counters were recounted from its invoices");
                (batch.accepted, batch.rejected, batch.failed) = counted;
                batch.done = done;
            }
        }
        self.complete_if_done(batch, now).await
    }

    /// Deletes invoices of a failed batch with their reference codes.
    pub async fn take_back(&self, org_id: &str, invoices: &[StoredInvoice]) -> anyhow::Result<()> {
        self.delete_items(stored_keys(org_id, invoices).collect()).await
    }
}

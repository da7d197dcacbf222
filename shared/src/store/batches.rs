//! Batches (lotes) in the table: the batch item and its counters, its invoices stored in
//! conditional transactions of many at once, its invalid inputs, and its completion, written
//! exactly once each time its pending invoices drain to zero.
//!
//! The counters are a hot item under a large batch, so they move once per group of invoices
//! (`ADD`), in the same transaction as those invoices' terminal states. `done` (accepted +
//! rejected + failed) exists because a condition can compare attributes but not add them: the
//! batch completes when `done = total`.

use std::time::Duration;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, ReturnValue, WriteRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::change::{Change, n, s};
use super::events::EventRecord;
use super::invoices::invoice_item;
use super::submission::{Guard, Terminal, terminal_change, terminal_event};
use super::units::{item_size, write_units};
use super::{Item, PageKey, Refusal, Store, item, key, keys, record};
use super::{PaceCell, Reservation};
use crate::domain::batch::InvalidInput;
use crate::invoices::{Invoice, Status};
use crate::webhooks::EventType;

/// Invoices per storing transaction: each takes two actions (itself and its reference code)
/// of DynamoDB's hundred.
pub const STORE_GROUP: usize = 50;

/// Write units a batch's writes may put on one partition key a second: half of DynamoDB's
/// 1,000. A group lands at once (50 invoices of 2 KB are 200 units), so a second may see the
/// pace and a group's burst; the rest is room for what else the organization writes meanwhile
/// (single invoices, the worker).
pub const BATCH_UNITS_PER_KEY_PER_SECOND: u64 = 500;

/// Why a group of a batch's invoices was not stored.
#[derive(Debug, PartialEq, Eq)]
pub enum GroupRefusal {
    /// The invoices (by position in the group) whose reference code is taken.
    Taken(Vec<usize>),
    /// The organization's batch writes are booked past the ingest's time (other lots being
    /// stored at once) until then (epoch ms).
    Busy { free_at_ms: i64 },
    /// The store failed.
    Failed,
}

/// What a batch keeps of an invoice it stored: enough to queue it, or to take it back.
#[derive(Clone, Debug)]
pub struct StoredInvoice {
    pub id: String,
    pub reference_code: String,
}

/// The keys of stored invoices and of their reference codes.
pub(crate) fn stored_keys<'a>(
    org_id: &'a str,
    invoices: &'a [StoredInvoice],
) -> impl Iterator<Item = Item> + 'a {
    invoices.iter().flat_map(move |invoice| {
        [
            key(
                keys::invoice_partition(org_id, &invoice.id),
                keys::invoice(&invoice.id),
            ),
            key(
                keys::reference_partition(org_id, &invoice.reference_code),
                keys::reference(&invoice.reference_code),
            ),
        ]
    })
}

impl StoredInvoice {
    pub fn of(invoice: &Invoice) -> Self {
        Self {
            id: invoice.id.clone(),
            reference_code: invoice.document.input.reference_code.as_str().to_owned(),
        }
    }
}
/// DynamoDB's most actions in a transaction: a group's terminal writes, their events' items,
/// and the move of the counters (49 invoices with events of one item each).
const TRANSACTION_ACTIONS: usize = 100;
/// The events' bytes per transaction. An event's data (the invoice's view) is larger than the
/// invoice's stored document, so the invoices a group updates weigh less than its events: 1.8 MB
/// of events keeps the whole within DynamoDB's 4 MB a transaction.
const FINISH_GROUP_EVENT_BYTES: usize = 1_800_000;
const BATCH_WRITE_LIMIT: usize = 25;
const BATCH_GET_LIMIT: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Ingesting,
    Processing,
    Completed,
    CompletedWithErrors,
    /// Its ingest failed or timed out half-way: nothing of it is submitted.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub id: String,
    pub organization_id: String,
    pub status: BatchStatus,
    /// Invoices stored.
    pub total: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub failed: u64,
    /// accepted + rejected + failed.
    pub done: u64,
    pub invalid_count: u64,
    pub created_at: String,
    pub completed_at: Option<String>,
    /// Why a `failed` batch failed.
    #[serde(default)]
    pub failure_reason: Option<String>,
}

impl BatchRecord {
    pub fn new(id: &str, organization_id: &str, created_at: &str) -> Self {
        Self {
            id: id.to_owned(),
            organization_id: organization_id.to_owned(),
            status: BatchStatus::Ingesting,
            total: 0,
            accepted: 0,
            rejected: 0,
            failed: 0,
            done: 0,
            invalid_count: 0,
            created_at: created_at.to_owned(),
            completed_at: None,
            failure_reason: None,
        }
    }

    /// When its pending invoices should all have ended, at the provider account's pace of one
    /// call every `interval_ms` (one call per invoice): an estimate while it is processing.
    pub fn estimated_completion(&self, now: time::OffsetDateTime, interval_ms: i64) -> Option<String> {
        let pending = self.total.saturating_sub(self.done);
        if self.status != BatchStatus::Processing || pending == 0 {
            return None;
        }
        let wait = i64::try_from(pending)
            .unwrap_or(i64::MAX / 2)
            .saturating_mul(interval_ms);
        Some(crate::clock::rfc3339(now + time::Duration::milliseconds(wait)))
    }

    /// The batch as the API shows it; `interval_ms` is the provider account's pace.
    pub fn view(&self, interval_ms: i64) -> Value {
        json!({
            "id": self.id,
            "status": self.status,
            "total": self.total,
            "pending": self.total.saturating_sub(self.done),
            "accepted": self.accepted,
            "rejected": self.rejected,
            "failed": self.failed,
            "invalid_count": self.invalid_count,
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "failure_reason": self.failure_reason,
            "estimated_completion_at": self.estimated_completion(crate::clock::now(), interval_ms),
        })
    }
}

/// `members` in groups whose writes fit one transaction ([`TRANSACTION_ACTIONS`]) and whose
/// events' data stay within [`FINISH_GROUP_EVENT_BYTES`] (a group holds one at least).
fn groups(events: &[Option<EventRecord>], members: &[usize]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let (mut actions, mut bytes) = (0, 0);
    for &index in members {
        let event = events[index].as_ref();
        let needs = 1 + event.map_or(0, EventRecord::items);
        let size = event.map_or(0, |event| event.data.len());
        match groups.last_mut() {
            Some(group)
                if actions + needs < TRANSACTION_ACTIONS && bytes + size <= FINISH_GROUP_EVENT_BYTES =>
            {
                group.push(index);
                actions += needs;
                bytes += size;
            }
            _ => {
                groups.push(vec![index]);
                (actions, bytes) = (needs, size);
            }
        }
    }
    groups
}

/// Moves of a batch's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub accepted: i64,
    pub rejected: i64,
    pub failed: i64,
}

impl Counts {
    /// One invoice reaching `status`.
    pub fn of(status: Status) -> Self {
        match status {
            Status::Accepted | Status::Annulled => Self {
                accepted: 1,
                ..Self::default()
            },
            Status::Rejected => Self {
                rejected: 1,
                ..Self::default()
            },
            Status::Failed => Self {
                failed: 1,
                ..Self::default()
            },
            Status::Queued | Status::Submitting => Self::default(),
        }
    }

    fn add(&mut self, other: Counts) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.failed += other.failed;
    }

    fn done(&self) -> i64 {
        self.accepted + self.rejected + self.failed
    }
}

/// The counters' move, as one write. Taking a failed or rejected invoice back (a retry) also makes the
/// batch `processing` again.
pub(crate) fn counts_change(org_id: &str, batch_id: &str, counts: &Counts, now: &str) -> Change {
    let reopens = counts.failed < 0 || counts.rejected < 0;
    let expression = if reopens {
        "ADD accepted :accepted, rejected :rejected, failed :failed, done :done \
         SET updated_at = :now, #status = :processing REMOVE completed_at"
    } else {
        "ADD accepted :accepted, rejected :rejected, failed :failed, done :done SET updated_at = :now"
    };
    // A late move must not re-create a batch that was discarded.
    let change = Change::new(keys::org(org_id), keys::batch(batch_id), expression)
        .condition("attribute_exists(PK)")
        .value(":accepted", n(counts.accepted))
        .value(":rejected", n(counts.rejected))
        .value(":failed", n(counts.failed))
        .value(":done", n(counts.done()))
        .value(":now", s(now));
    if reopens {
        change
            .name("#status", "status")
            .value(":processing", s("processing"))
    } else {
        change
    }
}

/// A decided terminal state waiting to be written, with the lease that allows it.
#[derive(Clone, Debug)]
pub struct Decided {
    pub invoice: Invoice,
    pub lease: String,
    pub terminal: Terminal,
}

/// What became of a decided terminal write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Yes,
    /// The lease was lost: another worker ends the invoice.
    LeaseLost,
    /// The write failed: the invoice stays claimed until its lease expires.
    Failed,
}

impl Store {
    /// Records a batch that starts its ingest, in the recovery index at `deadline_ms`: should
    /// the ingest not finish by then, the reconciler fails the batch and takes back what it
    /// stored.
    pub async fn create_batch(&self, batch: &BatchRecord, deadline_ms: i64) -> anyhow::Result<()> {
        let org = &batch.organization_id;
        let mut item = item(batch, keys::org(org), keys::batch(&batch.id))?;
        item.insert("GSI3PK".to_owned(), s(keys::recovery_shard(&batch.id)));
        item.insert(
            "GSI3SK".to_owned(),
            s(keys::recovery_due(deadline_ms, org, &batch.id)),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        Ok(())
    }

    /// Stores up to [`STORE_GROUP`] invoices of one shard with their reference codes'
    /// uniqueness items, all or nothing. They are not in the recovery index: until their batch
    /// is recorded, nothing submits them.
    ///
    /// The group first waits for its shard's turn in the organization's batch write pace (see
    /// [`BATCH_UNITS_PER_KEY_PER_SECOND`]), starting no later than `pace_until_ms`: a lot is
    /// stored as fast as its partition keys allow, never faster.
    pub async fn store_invoices(
        &self,
        shard: u32,
        invoices: &[Invoice],
        pace_until_ms: i64,
    ) -> Result<(), GroupRefusal> {
        let mut actions = Vec::with_capacity(invoices.len() * 2);
        let mut units = 0;
        for invoice in invoices {
            let reference = item(
                &json!({"invoice_id": invoice.id}),
                keys::reference_partition(
                    &invoice.organization_id,
                    invoice.document.input.reference_code.as_str(),
                ),
                keys::reference(invoice.document.input.reference_code.as_str()),
            );
            let built = invoice_item(invoice, None)
                .and_then(|item| {
                    units += 2 * write_units(item_size(&item));
                    self.put_if_absent(item)
                })
                .and_then(|invoice| Ok((invoice, self.put_if_absent(reference?)?)));
            match built {
                Ok((invoice, reference)) => actions.extend([invoice, reference]),
                Err(error) => {
                    tracing::error!(
                        cause = format!("{error:#}"),
                        "an invoice could not be written as an item"
                    );
                    return Err(GroupRefusal::Failed);
                }
            }
        }
        if let Some(first) = invoices.first() {
            self.pace_batch_writes(&first.organization_id, shard, units, pace_until_ms)
                .await?;
        }
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(Refusal::Conditions(failed)) => Err(GroupRefusal::Taken(
                failed.into_iter().map(|action| action / 2).collect(),
            )),
            Err(Refusal::Failed(error)) => {
                tracing::warn!(cause = format!("{error:#}"), "storing a group of invoices failed");
                Err(GroupRefusal::Failed)
            }
        }
    }

    /// Waits until the organization's batch writes may put `units` more write units on each of
    /// a shard's keys: the invoice items' (twice, for the transaction), and the status and
    /// batch index entries' (each a whole item).
    async fn pace_batch_writes(
        &self,
        org_id: &str,
        shard: u32,
        units: u64,
        pace_until_ms: i64,
    ) -> Result<(), GroupRefusal> {
        let span_ms =
            i64::try_from((units * 1000).div_ceil(BATCH_UNITS_PER_KEY_PER_SECOND)).unwrap_or(i64::MAX / 2);
        let now = crate::clock::epoch_ms(crate::clock::now());
        let cell = PaceCell::batch_writes(org_id, shard);
        let reservation = self
            .reserve_span(&cell, now, pace_until_ms.max(now), span_ms, true)
            .await;
        match reservation {
            Ok(Reservation::Reserved { start_ms, .. }) => {
                let wait = u64::try_from(start_ms - now).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                Ok(())
            }
            Ok(Reservation::Busy { free_at_ms, .. }) => Err(GroupRefusal::Busy { free_at_ms }),
            Err(error) => {
                tracing::warn!(
                    cause = format!("{error:#}"),
                    "a group of invoices could not be paced"
                );
                Err(GroupRefusal::Failed)
            }
        }
    }

    /// The end of ingestion: the batch's total is known and it starts processing, due in the
    /// recovery index at `recover_at_ms` (when the reconciler queues what was never queued).
    /// Refused when the ingest's deadline passed and the reconciler failed the batch first.
    pub async fn finish_ingest(
        &self,
        org_id: &str,
        batch_id: &str,
        total: u64,
        invalid_count: u64,
        now: &str,
        recover_at_ms: i64,
    ) -> anyhow::Result<BatchRecord> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org(org_id), keys::batch(batch_id))))
            .update_expression(
                "SET #total = :total, invalid_count = :invalid, #status = :processing, updated_at = :now, \
                 GSI3SK = :due",
            )
            .condition_expression("#status = :ingesting")
            .expression_attribute_names("#total", "total")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":total", n(i64::try_from(total)?))
            .expression_attribute_values(":invalid", n(i64::try_from(invalid_count)?))
            .expression_attribute_values(":processing", s("processing"))
            .expression_attribute_values(":ingesting", s("ingesting"))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":due", s(keys::recovery_due(recover_at_ms, org_id, batch_id)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        let batch: BatchRecord = record(output.attributes.unwrap_or_default())?;
        self.complete_if_done(batch, now).await
    }

    /// Completes a processing batch whose invoices are all done; the condition makes it happen
    /// once however many workers see it. Answers the batch as it is now.
    pub(crate) async fn complete_if_done(
        &self,
        batch: BatchRecord,
        now: &str,
    ) -> anyhow::Result<BatchRecord> {
        if batch.status != BatchStatus::Processing || batch.done < batch.total {
            return Ok(batch);
        }
        let status = if batch.rejected + batch.failed == 0 {
            "completed"
        } else {
            "completed_with_errors"
        };
        let change = Change::new(
            keys::org(&batch.organization_id),
            keys::batch(&batch.id),
            "SET #status = :final, completed_at = :now",
        )
        .condition("#status = :processing AND done = #total")
        .name("#status", "status")
        .name("#total", "total")
        .value(":final", s(status))
        .value(":processing", s("processing"))
        .value(":now", s(now));
        let mut completed = batch.clone();
        completed.status = if status == "completed" {
            BatchStatus::Completed
        } else {
            BatchStatus::CompletedWithErrors
        };
        completed.completed_at = Some(now.to_owned());
        let at = crate::clock::parse_rfc3339(now).unwrap_or_else(crate::clock::now);
        let event = EventRecord::new(
            &batch.organization_id,
            EventType::BatchCompleted,
            &completed.view(0),
            at,
        );
        let mut actions = vec![change.into_action(&self.table)?];
        actions.extend(self.event_actions(&event)?);
        match self.transact(actions).await {
            Ok(()) => {
                tracing::info!(batch_id = %batch.id, status, "the batch completed");
                self.announce([&event]).await;
            }
            Err(refusal) if refusal.at(0) => {}
            Err(refusal) => return Err(refusal.into_error("completing a batch")),
        }
        self.get_batch(&batch.organization_id, &batch.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the batch {} vanished", batch.id))
    }

    /// Completes the batch if its invoices are all done (after its counters moved).
    pub async fn complete_batch_if_done(
        &self,
        org_id: &str,
        batch_id: &str,
        now: &str,
    ) -> anyhow::Result<()> {
        let item = self.get(keys::org(org_id), keys::batch(batch_id), true).await?;
        if let Some(batch) = item.map(record::<BatchRecord>).transpose()? {
            self.complete_if_done(batch, now).await?;
        }
        Ok(())
    }

    /// Writes decided terminal states: invoices of a batch in transactions of many with one move
    /// of their batch's counters, falling back to one transaction per invoice when a lease was
    /// lost; other invoices one by one. Answers what happened to each, in order.
    pub async fn write_decisions(&self, decided: &[Decided], now: &str) -> Vec<Written> {
        let mut written = vec![Written::Failed; decided.len()];
        let mut by_batch: Vec<(String, Vec<usize>)> = Vec::new();
        for (index, decision) in decided.iter().enumerate() {
            match &decision.invoice.batch_id {
                None => {
                    let alone = self.finish_invoice(
                        &decision.invoice,
                        Guard::Lease(&decision.lease),
                        &decision.terminal,
                        now,
                    );
                    written[index] = match alone.await {
                        Ok(true) => Written::Yes,
                        Ok(false) => Written::LeaseLost,
                        Err(_) => Written::Failed,
                    };
                }
                Some(batch) => match by_batch.iter_mut().find(|(b, _)| b == batch) {
                    Some((_, members)) => members.push(index),
                    None => by_batch.push((batch.clone(), vec![index])),
                },
            }
        }
        // Each event made once: its size groups the writes, its items are written.
        let mut events: Vec<Option<EventRecord>> = vec![None; decided.len()];
        for index in by_batch.iter().flat_map(|(_, members)| members) {
            let decision = &decided[*index];
            events[*index] = terminal_event(&decision.invoice, &decision.terminal, now);
        }
        for (batch, members) in by_batch {
            for group in groups(&events, &members) {
                let group = group.as_slice();
                let together = self.write_group(&batch, decided, &events, group, now).await;
                match together {
                    Ok(()) => group.iter().for_each(|index| written[*index] = Written::Yes),
                    Err(_) => {
                        for index in group {
                            let alone = self.write_group(&batch, decided, &events, &[*index], now).await;
                            written[*index] = alone.map_or_else(|outcome| outcome, |()| Written::Yes);
                        }
                    }
                }
            }
            let org = decided.iter().find_map(|d| {
                (d.invoice.batch_id.as_deref() == Some(&batch)).then(|| d.invoice.organization_id.clone())
            });
            if let Some(org) = org
                && let Err(error) = self.complete_batch_if_done(&org, &batch, now).await
            {
                tracing::warn!(cause = format!("{error:#}"), batch_id = %batch, "checking the batch's completion failed");
            }
        }
        written
    }

    /// One transaction: the terminal writes of `group`, their events, and one move of the
    /// batch's counters.
    async fn write_group(
        &self,
        batch: &str,
        decided: &[Decided],
        events: &[Option<EventRecord>],
        group: &[usize],
        now: &str,
    ) -> Result<(), Written> {
        let mut counts = Counts::default();
        let mut actions = Vec::with_capacity(group.len() * 2 + 1);
        let mut announced = Vec::with_capacity(group.len());
        let mut org = String::new();
        for index in group {
            let decision = &decided[*index];
            counts.add(Counts::of(decision.terminal.status()));
            org.clone_from(&decision.invoice.organization_id);
            let change = terminal_change(
                &decision.invoice,
                Guard::Lease(&decision.lease),
                &decision.terminal,
                now,
            );
            actions.push(change.into_action(&self.table).map_err(|_| Written::Failed)?);
            if let Some(event) = &events[*index] {
                actions.extend(self.event_actions(event).map_err(|_| Written::Failed)?);
                announced.push(event);
            }
        }
        actions.push(
            counts_change(&org, batch, &counts, now)
                .into_action(&self.table)
                .map_err(|_| Written::Failed)?,
        );
        match self.transact(actions).await {
            Ok(()) => {
                self.announce(announced).await;
                Ok(())
            }
            Err(Refusal::Conditions(_)) => Err(Written::LeaseLost),
            Err(Refusal::Failed(error)) => {
                tracing::warn!(cause = format!("{error:#}"), "a group of terminal writes failed");
                Err(Written::Failed)
            }
        }
    }

    /// The reference codes of `codes` an organization uses already, with their invoices (100
    /// per call): what an all-or-nothing batch checks before storing anything.
    pub async fn existing_references(
        &self,
        org_id: &str,
        codes: &[&str],
    ) -> anyhow::Result<HashMap<String, String>> {
        let mut found = HashMap::new();
        for chunk in codes.chunks(BATCH_GET_LIMIT) {
            let mut wanted = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|code| key(keys::reference_partition(org_id, code), keys::reference(code)))
                            .collect(),
                    ))
                    .build()?,
            );
            for attempt in 0..8u32 {
                let Some(request) = wanted.take() else { break };
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(aws_sdk_dynamodb::Error::from)?;
                for item in output
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let code = item
                        .get("SK")
                        .and_then(|sk| sk.as_s().ok())
                        .and_then(|sk| sk.strip_prefix("REF#"));
                    let invoice = item.get("invoice_id").and_then(|id| id.as_s().ok());
                    if let (Some(code), Some(invoice)) = (code, invoice) {
                        found.insert(code.to_owned(), invoice.clone());
                    }
                }
                wanted = output
                    .unprocessed_keys
                    .and_then(|mut left| left.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if wanted.is_some() {
                    anyhow::ensure!(attempt < 7, "DynamoDB kept leaving reference codes unread");
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        Ok(found)
    }

    /// Undoes a batch that must store nothing: its invoices, their reference codes, its
    /// `recorded_errors` error records, and the batch last, so that a discard cut short leaves the
    /// batch for the reconciler to finish.
    pub async fn discard_batch(
        &self,
        org_id: &str,
        batch_id: &str,
        invoices: &[StoredInvoice],
        recorded_errors: usize,
    ) -> anyhow::Result<()> {
        let mut keys_to_delete: Vec<Item> = stored_keys(org_id, invoices).collect();
        keys_to_delete.extend(
            (0..recorded_errors)
                .map(|sequence| key(keys::org(org_id), keys::batch_error(batch_id, sequence))),
        );
        keys_to_delete.push(key(keys::org(org_id), keys::batch(batch_id)));
        self.delete_items(keys_to_delete).await
    }

    /// Deletes the items of `keys`, in order.
    pub(crate) async fn delete_items(&self, keys: Vec<Item>) -> anyhow::Result<()> {
        let requests = keys
            .into_iter()
            .map(|key| {
                Ok(WriteRequest::builder()
                    .delete_request(DeleteRequest::builder().set_key(Some(key)).build()?)
                    .build())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.write_batch(requests).await
    }

    /// `BatchWriteItem`s of 25, in order, retrying what DynamoDB leaves unprocessed, with backoff.
    async fn write_batch(&self, requests: Vec<WriteRequest>) -> anyhow::Result<()> {
        for chunk in requests.chunks(BATCH_WRITE_LIMIT) {
            let mut pending = chunk.to_vec();
            for attempt in 0..8u32 {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(aws_sdk_dynamodb::Error::from)?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                anyhow::ensure!(attempt < 7, "DynamoDB kept leaving writes unprocessed");
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(())
    }

    /// Keeps a batch's invalid inputs, 25 per call, retrying what DynamoDB leaves unprocessed.
    pub async fn put_batch_errors(
        &self,
        org_id: &str,
        batch_id: &str,
        invalid: &[InvalidInput],
    ) -> anyhow::Result<()> {
        let requests = invalid
            .iter()
            .enumerate()
            .map(|(sequence, entry)| {
                let item: Item = item(entry, keys::org(org_id), keys::batch_error(batch_id, sequence))?;
                Ok(WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                    .build())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.write_batch(requests).await
    }

    pub async fn get_batch(&self, org_id: &str, batch_id: &str) -> anyhow::Result<Option<BatchRecord>> {
        self.get_record(keys::org(org_id), keys::batch(batch_id), true)
            .await
    }

    /// A page of an organization's batches, newest first.
    pub async fn list_batches(
        &self,
        org_id: &str,
        limit: u32,
        after: Option<&PageKey>,
    ) -> anyhow::Result<(Vec<BatchRecord>, Option<PageKey>)> {
        self.query_prefix(org_id, keys::BATCH_PREFIX, false, limit, after)
            .await
    }

    /// A page of a batch's invalid inputs, in input order.
    pub async fn list_batch_errors(
        &self,
        org_id: &str,
        batch_id: &str,
        limit: u32,
        after: Option<&PageKey>,
    ) -> anyhow::Result<(Vec<InvalidInput>, Option<PageKey>)> {
        self.query_prefix(org_id, &keys::batch_errors_prefix(batch_id), true, limit, after)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_processing_batch_ends_at_the_providers_pace_and_an_ended_one_has_no_estimate() {
        let now = time::OffsetDateTime::from_unix_timestamp(1_796_040_000).unwrap();
        let mut batch = BatchRecord::new("b", "o", "2026-11-30T12:00:00Z");
        batch.status = BatchStatus::Processing;
        batch.total = 10_000;
        batch.done = 1_000;
        // 9,000 invoices at Factus's 80 a minute (one call every 800 ms): two hours.
        assert_eq!(
            batch.estimated_completion(now, 800).as_deref(),
            Some("2026-11-30T14:00:00Z")
        );
        batch.done = batch.total;
        assert_eq!(batch.estimated_completion(now, 800), None);
        batch.status = BatchStatus::Ingesting;
        batch.done = 0;
        assert_eq!(batch.estimated_completion(now, 800), None);
    }
}

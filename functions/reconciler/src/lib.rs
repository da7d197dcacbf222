//! The recovery path, on a schedule, over the sparse, sharded recovery index (GSI3), so the cost
//! is the number of entries waiting, not the size of the table:
//!
//! - an invoice stored but never queued (the send failed after the write, or the function died
//!   between), or left `submitting` by a worker whose lease expired, is queued again; duplicate
//!   messages are harmless: the worker claims an invoice before it works on it;
//! - a batch is failed when its ingest died, or has its lost chunks queued again and is
//!   completed when nothing is pending ([`batches`]);
//! - a connected organization whose numbering ranges are due to be checked (once an hour) has
//!   the check queued for the worker, which reads them on the account's pace and makes the next
//!   one due; should the check not happen, it is queued again like a lost invoice;
//! - a webhook event not fanned out is announced again, and a pending delivery a minute past
//!   its next attempt is queued again (its message was lost; a duplicate loses its claim).

mod batches;

use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use shared::clock;
use shared::invoices::Kind;
use shared::queue::{DeliveryMessage, EventMessage, RangesCheckMessage, SubmissionMessage, WebhookMessage};
use shared::services::Services;
use shared::store::keys::RECOVERY_SHARDS;
use shared::store::{Recovering, RecoveryEntry};

/// How many entries one shard gives per run; the next run takes the rest.
const PER_SHARD: u32 = 200;

/// The time a run keeps for itself after its last step (or its whole budget without a deadline).
const RUN_MARGIN_MS: i64 = 2_000;
const RUN_WITHOUT_DEADLINE_MS: i64 = 8_000;

pub async fn handle(services: &Services, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let now = clock::now();
    let now_ms = clock::epoch_ms(now);
    let stop_ms =
        clock::deadline_ms(&event.context).unwrap_or(now_ms + RUN_WITHOUT_DEADLINE_MS) - RUN_MARGIN_MS;
    let next_due_ms = clock::epoch_ms(now + services.recover_after);
    let queue = services.queue()?;
    let mut requeued = 0usize;
    let mut due_batches = Vec::new();
    // Invoices first, every shard: a large batch's recovery never holds them up.
    for shard in 0..RECOVERY_SHARDS {
        let (batches, invoices): (Vec<_>, Vec<_>) = services
            .store
            .due_for_recovery(shard, now_ms, PER_SHARD)
            .await?
            .into_iter()
            .partition(|entry| entry.kind == Recovering::Batch);
        due_batches.extend(batches);
        let (webhooks, invoices): (Vec<_>, Vec<_>) = invoices
            .into_iter()
            .partition(|entry| matches!(entry.kind, Recovering::Event | Recovering::Delivery));
        requeued += webhooks_again(services, &webhooks, next_due_ms).await?;
        if invoices.is_empty() {
            continue;
        }
        let messages: Vec<SubmissionMessage> = invoices.iter().map(message_of).collect();
        let unsent = queue.send_all(&messages).await?;
        for (entry, message) in invoices.iter().zip(&messages) {
            if unsent.contains(message) {
                continue;
            }
            services.store.postpone_recovery(entry, next_due_ms).await?;
            requeued += 1;
        }
        if !unsent.is_empty() {
            tracing::warn!(
                shard,
                unsent = unsent.len(),
                "some invoices could not be queued; the next run retries them"
            );
        }
    }
    let mut batches_seen = 0usize;
    for batch in &due_batches {
        if clock::epoch_ms(clock::now()) >= stop_ms {
            break;
        }
        batches_seen += 1;
        match batches::recover(services, batch, stop_ms).await {
            Ok(queued) => requeued += queued,
            Err(error) => tracing::error!(
                batch_id = %batch.id,
                cause = format!("{error:#}"),
                "a batch could not be recovered; the next run tries again"
            ),
        }
    }
    if requeued > 0 || batches_seen > 0 {
        tracing::info!(requeued, batches_seen, "recovery ran");
    }
    Ok(json!({ "requeued": requeued, "batches": batches_seen }))
}

/// Announces again the events whose fan-out did not happen (their announcement was lost, or the
/// fan-out failed) and queues again the deliveries whose message is late; answers how many.
async fn webhooks_again(
    services: &Services,
    entries: &[RecoveryEntry],
    next_due_ms: i64,
) -> anyhow::Result<usize> {
    if entries.is_empty() {
        return Ok(0);
    }
    let queue = services.webhooks_queue()?;
    let messages: Vec<WebhookMessage> = entries.iter().map(webhook_message_of).collect();
    let unsent = queue.send_all(&messages).await?;
    let mut announced = 0;
    for (entry, message) in entries.iter().zip(&messages) {
        if !unsent.contains(message) {
            services.store.postpone_recovery(entry, next_due_ms).await?;
            announced += 1;
        }
    }
    Ok(announced)
}

/// The message of a webhook entry: an event's announcement, or a delivery's (taken as it is).
fn webhook_message_of(entry: &RecoveryEntry) -> WebhookMessage {
    match entry.id.split_once('#') {
        Some((webhook_id, event_id)) if entry.kind == Recovering::Delivery => {
            WebhookMessage::Delivery(DeliveryMessage {
                org_id: entry.org_id.clone(),
                webhook_id: webhook_id.to_owned(),
                event_id: event_id.to_owned(),
                version: None,
            })
        }
        _ => WebhookMessage::Event(EventMessage {
            org_id: entry.org_id.clone(),
            event_id: entry.id.clone(),
        }),
    }
}

/// The message that does what an entry (not a batch's) waits for.
fn message_of(entry: &RecoveryEntry) -> SubmissionMessage {
    match entry.kind {
        Recovering::NumberingRanges => SubmissionMessage::RangesCheck(RangesCheckMessage {
            numbering_ranges_of: entry.org_id.clone(),
        }),
        Recovering::CreditNote => SubmissionMessage::single(Kind::CreditNote, &entry.org_id, &entry.id),
        Recovering::Invoice | Recovering::Batch | Recovering::Event | Recovering::Delivery => {
            SubmissionMessage::single(Kind::Invoice, &entry.org_id, &entry.id)
        }
    }
}

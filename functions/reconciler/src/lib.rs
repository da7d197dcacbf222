//! The recovery path, on a schedule: an invoice stored but never queued (the send failed after
//! the write, or the function died between), or left `submitting` by a worker whose lease
//! expired, is queued again. It reads the sparse, sharded recovery index (GSI3), so the cost is
//! the number of invoices waiting, not the size of the table. Duplicate messages are harmless:
//! the worker claims an invoice before it works on it.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use shared::clock;
use shared::queue::{InvoiceMessage, SubmissionMessage};
use shared::services::Services;
use shared::store::keys::RECOVERY_SHARDS;

/// How many invoices one shard gives per run; the next run takes the rest.
const PER_SHARD: u32 = 200;

pub async fn handle(services: &Services, _event: LambdaEvent<Value>) -> Result<Value, Error> {
    let now = clock::now();
    let now_ms = clock::epoch_ms(now);
    let next_due_ms = clock::epoch_ms(now + services.recover_after);
    let queue = services.queue()?;
    let mut requeued = 0usize;
    for shard in 0..RECOVERY_SHARDS {
        let due = services.store.due_for_recovery(shard, now_ms, PER_SHARD).await?;
        if due.is_empty() {
            continue;
        }
        let messages: Vec<SubmissionMessage> = due
            .iter()
            .map(|entry| SubmissionMessage::Invoice(InvoiceMessage::new(&entry.org_id, &entry.invoice_id)))
            .collect();
        let unsent = queue.send_all(&messages).await?;
        for (entry, message) in due.iter().zip(&messages) {
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
    if requeued > 0 {
        tracing::info!(requeued, "invoices queued again");
    }
    Ok(json!({ "requeued": requeued }))
}

//! Batches due in the recovery index. One whose ingest did not finish by its deadline is failed,
//! and what it stored is taken back, over as many runs as that takes: nothing of it is ever
//! submitted. One being processed has its invoices that no worker ever claimed (their chunk
//! message was lost) queued again, and is completed, its counters recounted from its invoices,
//! once none is pending; then it leaves the index. It comes due again at its estimated end, so a
//! lot that takes hours at the provider's pace is read a few times, not every run.

use std::time::Duration;

use shared::clock;
use shared::queue::ChunkMessage;
use shared::services::Services;
use shared::store::{BatchRecord, BatchStatus, RecoveryEntry, StoredInvoice, Tally};

/// What a failed batch says.
const INGEST_DID_NOT_FINISH: &str =
    "the upload could not be stored completely in time: nothing of it was submitted; send it again";

/// Works one batch of the recovery index until `stop_ms`; answers how many of its invoices were
/// queued again.
pub async fn recover(services: &Services, entry: &RecoveryEntry, stop_ms: i64) -> anyhow::Result<usize> {
    let (org, id) = (entry.org_id.as_str(), entry.id.as_str());
    let Some(batch) = services.store.get_batch(org, id).await? else {
        return Ok(0);
    };
    let now = clock::now();
    let again = clock::epoch_ms(now + services.recover_after);
    let mut requeued = 0;
    let next_due = match batch.status {
        BatchStatus::Ingesting => {
            if services
                .store
                .fail_ingest(org, id, INGEST_DID_NOT_FINISH, &clock::rfc3339(now))
                .await?
            {
                tracing::warn!(
                    batch_id = id,
                    "a batch's ingest did not finish: it failed, and what it stored is taken back"
                );
                take_back(services, org, id, stop_ms).await?.then_some(again)
            } else {
                // Its ingest finished meanwhile, and set when the batch is due.
                return Ok(0);
            }
        }
        // Due until a pass finds nothing of it left (the index it is read through lags).
        BatchStatus::Failed => take_back(services, org, id, stop_ms).await?.then_some(again),
        BatchStatus::Processing => {
            let Some((tally, unclaimed)) = survey(services, org, id, stop_ms).await? else {
                return Ok(0);
            };
            requeued = queue_again(services, org, id, &unclaimed).await?;
            let batch = services
                .store
                .recount_and_complete(&batch, &tally, &clock::rfc3339(now))
                .await?;
            next_check(services, &batch, &tally, requeued)
        }
        BatchStatus::Completed | BatchStatus::CompletedWithErrors => None,
    };
    services.store.reschedule_batch(org, id, next_due).await?;
    Ok(requeued)
}

/// When a processing batch is read again: at its estimated end, or soon if some of its invoices
/// were just queued again.
fn next_check(services: &Services, batch: &BatchRecord, tally: &Tally, requeued: usize) -> Option<i64> {
    if batch.status != BatchStatus::Processing {
        return None;
    }
    let pace = u64::try_from(services.provider_interval_ms).unwrap_or(0);
    let estimate = Duration::from_millis(tally.pending().saturating_mul(pace));
    let wait = if requeued > 0 {
        services.recover_after
    } else {
        services.recover_after.max(estimate)
    };
    Some(clock::epoch_ms(clock::now() + wait))
}

/// Queues chunks of the invoices no worker claimed; answers how many were sent.
async fn queue_again(
    services: &Services,
    org: &str,
    id: &str,
    unclaimed: &[String],
) -> anyhow::Result<usize> {
    if unclaimed.is_empty() {
        return Ok(0);
    }
    let messages = ChunkMessage::all(org, id, unclaimed);
    let unsent = services.queue()?.send_all(&messages).await?;
    let sent = messages
        .iter()
        .filter(|message| !unsent.contains(message))
        .map(|message| message.documents().len())
        .sum();
    tracing::warn!(
        batch_id = id,
        unclaimed = unclaimed.len(),
        sent,
        "a batch's invoices no worker claimed are queued again"
    );
    Ok(sent)
}

/// A batch's invoices counted, and those no worker ever claimed; `None` when `stop_ms` came
/// first.
async fn survey(
    services: &Services,
    org: &str,
    id: &str,
    stop_ms: i64,
) -> anyhow::Result<Option<(Tally, Vec<String>)>> {
    let mut tally = Tally::default();
    let mut unclaimed = Vec::new();
    let mut after = None;
    loop {
        if clock::epoch_ms(clock::now()) >= stop_ms {
            return Ok(None);
        }
        let (members, next) = services.store.batch_members(org, id, after.as_ref()).await?;
        for member in members {
            tally.count(member.status);
            if member.unclaimed {
                unclaimed.push(member.stored.id);
            }
        }
        match next {
            Some(next) => after = Some(next),
            None => return Ok(Some((tally, unclaimed))),
        }
    }
}

/// Deletes the invoices of a failed batch, with their reference codes, until `stop_ms`; `true`
/// when some were found (the batch is read again later, until a pass finds none).
async fn take_back(services: &Services, org: &str, id: &str, stop_ms: i64) -> anyhow::Result<bool> {
    let mut found = false;
    let mut after = None;
    while clock::epoch_ms(clock::now()) < stop_ms {
        let (members, next) = services.store.batch_members(org, id, after.as_ref()).await?;
        found |= !members.is_empty();
        let stored: Vec<StoredInvoice> = members.into_iter().map(|member| member.stored).collect();
        services.store.take_back(org, &stored).await?;
        match next {
            Some(next) => after = Some(next),
            None => return Ok(found),
        }
    }
    Ok(true)
}

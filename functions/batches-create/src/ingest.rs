//! Storing and queueing a batch, all or recorded. In order: the batch, `ingesting`, in the
//! recovery index at the ingest's deadline; its invalid inputs (bounded); its valid invoices in
//! conditional transactions of 50 with their reference codes' uniqueness items, several at once
//! (a code already used in the organization makes that invoice invalid, and the rest of its group
//! is stored again), outside the recovery index, so nothing submits them yet; then the batch,
//! `processing`: only now are they released, one chunk message per 50, ten messages per
//! `SendMessageBatch`. Should anything fail or time out before the batch is recorded, what was
//! stored is taken back here, or, if this function dies, by the reconciler once the deadline
//! passes: nothing of the batch is ever submitted. A chunk whose message is lost is queued again
//! by the reconciler.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use serde_json::Value;
use shared::auth::Caller;
use shared::clock;
use shared::domain::batch::{InputError, InvalidInput, Parsed, Position};
use shared::http::ApiError;
use shared::invoices::Invoice;
use shared::queue::ChunkMessage;
use shared::services::Services;
use shared::store::{BatchRecord, STORE_GROUP, StoredInvoice};

use crate::{accepted, describe, every_problem};

/// Groups stored at once.
const CONCURRENT_GROUPS: usize = 8;
/// Tries of a group that fails for reasons of the store (throttling) rather than its content.
const GROUP_TRIES: u32 = 4;

/// What became of one group.
#[derive(Default)]
struct GroupOutcome {
    stored: Vec<StoredInvoice>,
    /// Invoices whose reference code the organization uses already, with the invoice using it.
    taken: Vec<(Position, String, String)>,
    lost: Vec<Position>,
}

pub(crate) async fn ingest(
    services: &Services,
    caller: &Caller,
    parsed: Parsed,
    all_or_nothing: bool,
    deadline_ms: i64,
) -> Result<Value, ApiError> {
    let Parsed { valid, mut invalid } = parsed;
    if valid.is_empty() || (all_or_nothing && !invalid.is_empty()) {
        return Err(every_problem(&invalid));
    }
    let now = clock::now();
    let created_at = clock::rfc3339(now);
    let batch = BatchRecord::new(&shared::ids::new_id(), &caller.org_id, &created_at);
    tracing::Span::current().record("batch_id", batch.id.as_str());
    if all_or_nothing {
        let codes: Vec<&str> = valid
            .iter()
            .map(|(_, input)| input.reference_code.as_str())
            .collect();
        let used = services.store.existing_references(&caller.org_id, &codes).await?;
        if !used.is_empty() {
            for (position, input) in &valid {
                let code = input.reference_code.as_str();
                if let Some(existing) = used.get(code) {
                    invalid.push(taken_entry(*position, code, existing));
                }
            }
            invalid.sort();
            return Err(every_problem(&invalid));
        }
    }
    services.store.create_batch(&batch, deadline_ms).await?;
    // Takes back what was stored; cut short, it leaves the batch `ingesting` for the reconciler.
    let discard = |stored: Vec<StoredInvoice>, recorded_errors: usize| {
        let batch_id = batch.id.clone();
        async move {
            let discarded = services
                .store
                .discard_batch(&caller.org_id, &batch_id, &stored, recorded_errors)
                .await;
            if let Err(error) = discarded {
                tracing::error!(
                    cause = format!("{error:#}"),
                    "a batch could not be taken back: the reconciler will, after its deadline"
                );
            }
        }
    };
    let valid_count = valid.len();
    let stored = match store_all(services, caller, &batch.id, &created_at, valid).await {
        Ok((stored, taken)) => {
            for entry in taken {
                invalid.push(entry);
            }
            stored
        }
        Err((stored, lost)) => {
            // A store that keeps failing: nothing is kept.
            discard(stored, 0).await;
            tracing::error!(
                at = describe(lost),
                "a batch could not be stored: nothing was kept"
            );
            return Err(ApiError::Unavailable {
                failing: Vec::new(),
                retry_after_seconds: 5,
            });
        }
    };
    invalid.sort();
    if stored.is_empty() || (all_or_nothing && stored.len() < valid_count) {
        // Every code was taken, or one was taken between the check and the write.
        discard(stored, 0).await;
        return Err(every_problem(&invalid));
    }
    let recorded_errors = invalid.recorded().len();
    if let Err(error) = services
        .store
        .put_batch_errors(&caller.org_id, &batch.id, invalid.recorded())
        .await
    {
        discard(stored, recorded_errors).await;
        return Err(error.into());
    }
    let now = clock::now();
    let pace = Duration::from_millis(u64::try_from(services.provider_interval_ms).unwrap_or(0));
    let expected = pace.saturating_mul(u32::try_from(stored.len()).unwrap_or(u32::MAX));
    let recover_at = clock::epoch_ms(now + services.recover_after.max(expected));
    let finished = services
        .store
        .finish_ingest(
            &caller.org_id,
            &batch.id,
            stored.len() as u64,
            invalid.count() as u64,
            &clock::rfc3339(now),
            recover_at,
        )
        .await;
    let batch = match finished {
        Ok(batch) => batch,
        Err(error) => {
            discard(stored, recorded_errors).await;
            return Err(error.into());
        }
    };
    if !queue(services, &caller.org_id, &batch.id, &stored).await {
        // The reconciler queues what was not sent, soon rather than at the batch's estimated end.
        let soon = clock::epoch_ms(clock::now() + services.recover_after);
        if let Err(error) = services
            .store
            .reschedule_batch(&caller.org_id, &batch.id, Some(soon))
            .await
        {
            tracing::error!(
                cause = format!("{error:#}"),
                "the batch's recovery could not be brought forward"
            );
        }
    }
    tracing::info!(
        total = batch.total,
        invalid = invalid.count(),
        "batch stored and queued"
    );
    Ok(accepted(&batch, &invalid))
}

/// Stores the valid invoices, groups at once: those stored and the entries of those whose code
/// is taken, or, when a group cannot be stored, those stored and where the first lost one was.
async fn store_all(
    services: &Services,
    caller: &Caller,
    batch_id: &str,
    created_at: &str,
    valid: Vec<(Position, shared::domain::invoice::InvoiceInput)>,
) -> Result<(Vec<StoredInvoice>, Vec<InvalidInput>), (Vec<StoredInvoice>, Position)> {
    // A group's invoices are made when it is stored, and only their keys are kept: holding
    // 10,000 whole invoices at once was most of a batch's peak memory.
    let mut inputs = valid.into_iter();
    let groups = std::iter::from_fn(|| {
        let group: Vec<(Position, Invoice)> = inputs
            .by_ref()
            .take(STORE_GROUP)
            .map(|(position, input)| {
                let invoice = Invoice::new(&caller.org_id, Some(batch_id), input, created_at);
                (position, invoice)
            })
            .collect();
        (!group.is_empty()).then_some(group)
    });
    let outcomes: Vec<GroupOutcome> = stream::iter(groups)
        .map(|group| store(services, group))
        .buffer_unordered(CONCURRENT_GROUPS)
        .collect()
        .await;
    let mut stored = Vec::new();
    let mut taken = Vec::new();
    let mut lost = None;
    for outcome in outcomes {
        stored.extend(outcome.stored);
        taken.extend(
            outcome
                .taken
                .iter()
                .map(|(position, code, existing)| taken_entry(*position, code, existing)),
        );
        lost = lost.or(outcome.lost.first().copied());
    }
    match lost {
        None => Ok((stored, taken)),
        Some(position) => Err((stored, position)),
    }
}

/// The invalid entry of an invoice whose reference code `code` the organization uses already.
fn taken_entry(position: Position, code: &str, existing: &str) -> InvalidInput {
    let line = match position {
        Position::Line(line) => Some(line),
        Position::Index(_) => None,
    };
    let error = InputError {
        field: "reference_code".to_owned(),
        line,
        message: format!("{code} is already used by invoice {existing}"),
    };
    InvalidInput::at(position, Some(code.to_owned()), vec![error])
}

/// Releases the stored invoices: chunk messages of up to 50, ten messages per call; `false` when
/// some could not be sent (the reconciler queues them when the batch comes due).
async fn queue(services: &Services, org_id: &str, batch_id: &str, stored: &[StoredInvoice]) -> bool {
    let ids: Vec<String> = stored.iter().map(|invoice| invoice.id.clone()).collect();
    let messages = ChunkMessage::all(org_id, batch_id, &ids);
    let sent = match services.queue() {
        Ok(queue) => queue.send_all(&messages).await,
        Err(error) => Err(error),
    };
    match sent {
        Ok(unsent) if unsent.is_empty() => true,
        Ok(unsent) => {
            tracing::error!(
                unsent = unsent.len(),
                "chunks are stored but not queued: the reconciler will queue them"
            );
            false
        }
        Err(error) => {
            tracing::error!(
                cause = format!("{error:#}"),
                "the batch is stored but not queued: the reconciler will queue it"
            );
            false
        }
    }
}

/// Stores one group, without the invoices whose reference code is taken.
async fn store(services: &Services, mut group: Vec<(Position, Invoice)>) -> GroupOutcome {
    let mut outcome = GroupOutcome::default();
    let mut tries = 0;
    while !group.is_empty() {
        let invoices: Vec<Invoice> = group.iter().map(|(_, invoice)| invoice.clone()).collect();
        match services.store.store_invoices(&invoices).await {
            Ok(()) => break,
            Err(taken) if !taken.is_empty() => {
                let mut remaining = Vec::new();
                for (index, (position, invoice)) in group.into_iter().enumerate() {
                    if taken.contains(&index) {
                        let org = invoice.organization_id.as_str();
                        let code = invoice.document.input.reference_code.as_str().to_owned();
                        let existing = services
                            .store
                            .invoice_of_reference(org, &code)
                            .await
                            .ok()
                            .flatten()
                            .unwrap_or_default();
                        outcome.taken.push((position, code, existing));
                    } else {
                        remaining.push((position, invoice));
                    }
                }
                group = remaining;
            }
            Err(_) => {
                tries += 1;
                if tries >= GROUP_TRIES {
                    outcome.lost = group.into_iter().map(|(position, _)| position).collect();
                    return outcome;
                }
                tokio::time::sleep(Duration::from_millis(100 << tries)).await;
            }
        }
    }
    outcome.stored = group
        .iter()
        .map(|(_, invoice)| StoredInvoice::of(invoice))
        .collect();
    outcome
}

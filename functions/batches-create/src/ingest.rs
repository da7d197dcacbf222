//! Storing and queueing a batch's valid invoices in bulk: conditional transactions of 50
//! invoices with their reference codes' uniqueness items, several at once (a code already used
//! in the organization makes that invoice invalid, and the rest of its group is stored again),
//! then one chunk message per 50 stored invoices, ten messages per `SendMessageBatch`. The batch
//! is `ingesting` until every valid invoice is stored and queued; a chunk whose message is lost
//! is covered by the recovery path.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use serde_json::Value;
use shared::auth::Caller;
use shared::clock;
use shared::domain::batch::{InputError, InvalidInput, Parsed, Position};
use shared::http::ApiError;
use shared::invoices::Invoice;
use shared::queue::{ChunkMessage, SubmissionMessage};
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
            let taken = valid
                .iter()
                .filter_map(|(position, input)| {
                    let code = input.reference_code.as_str();
                    used.get(code)
                        .map(|existing| taken_entry(*position, code, existing))
                })
                .collect::<Vec<_>>();
            return Err(every_problem(&taken));
        }
    }
    services.store.create_batch(&batch).await?;
    let recover_at = clock::epoch_ms(now + services.recover_after);
    // A group's invoices are made when it is stored, and only their keys are kept: holding
    // 10,000 whole invoices at once was most of a batch's peak memory.
    let mut inputs = valid.into_iter();
    let groups = std::iter::from_fn(|| {
        let group: Vec<(Position, Invoice)> = inputs
            .by_ref()
            .take(STORE_GROUP)
            .map(|(position, input)| {
                let invoice = Invoice::new(&caller.org_id, Some(&batch.id), input, &created_at);
                (position, invoice)
            })
            .collect();
        (!group.is_empty()).then_some(group)
    });
    let outcomes: Vec<GroupOutcome> = stream::iter(groups)
        .map(|group| store(services, group, recover_at))
        .buffer_unordered(CONCURRENT_GROUPS)
        .collect()
        .await;

    let mut stored = Vec::new();
    let mut lost = Vec::new();
    for outcome in outcomes {
        stored.extend(outcome.stored);
        invalid.extend(
            outcome
                .taken
                .iter()
                .map(|(position, code, existing)| taken_entry(*position, code, existing)),
        );
        lost.extend(outcome.lost);
    }
    if !lost.is_empty() || (all_or_nothing && !invalid.is_empty()) {
        // A store that keeps failing, or a code taken between the check and the write.
        services
            .store
            .discard_batch(&caller.org_id, &batch.id, &stored)
            .await?;
        if let Some(position) = lost.first() {
            tracing::error!(
                at = describe(*position),
                lost = lost.len(),
                "a batch could not be stored: nothing was kept"
            );
            return Err(ApiError::Unavailable {
                failing: Vec::new(),
                retry_after_seconds: 5,
            });
        }
        invalid.sort_by_key(|entry| (entry.index, entry.line));
        return Err(every_problem(&invalid));
    }
    invalid.sort_by_key(|entry| (entry.index, entry.line));
    queue(services, &caller.org_id, &batch.id, &stored).await;
    if stored.is_empty() {
        services
            .store
            .discard_batch(&caller.org_id, &batch.id, &stored)
            .await?;
        return Err(every_problem(&invalid));
    }
    services
        .store
        .put_batch_errors(&caller.org_id, &batch.id, &invalid)
        .await?;
    let now = clock::rfc3339(clock::now());
    let batch = services
        .store
        .finish_ingest(
            &caller.org_id,
            &batch.id,
            stored.len() as u64,
            invalid.len() as u64,
            &now,
        )
        .await?;
    tracing::info!(
        total = batch.total,
        invalid = invalid.len(),
        "batch stored and queued"
    );
    Ok(accepted(&batch, &invalid))
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

/// Queues the stored invoices as chunk messages of one group each, ten messages per call. What
/// cannot be sent stays `queued` in the table, where the reconciler finds it.
async fn queue(services: &Services, org_id: &str, batch_id: &str, stored: &[StoredInvoice]) {
    let messages: Vec<SubmissionMessage> = stored
        .chunks(STORE_GROUP)
        .map(|group| {
            SubmissionMessage::Chunk(ChunkMessage {
                org_id: org_id.to_owned(),
                batch_id: batch_id.to_owned(),
                invoice_ids: group.iter().map(|invoice| invoice.id.clone()).collect(),
            })
        })
        .collect();
    let sent = match services.queue() {
        Ok(queue) => queue.send_all(&messages).await,
        Err(error) => Err(error),
    };
    match sent {
        Ok(unsent) if unsent.is_empty() => {}
        Ok(unsent) => tracing::error!(
            unsent = unsent.len(),
            "chunks are stored but not queued: the reconciler will queue them"
        ),
        Err(error) => tracing::error!(
            cause = format!("{error:#}"),
            "the batch is stored but not queued: the reconciler will queue it"
        ),
    }
}

/// Stores one group, without the invoices whose reference code is taken.
async fn store(services: &Services, mut group: Vec<(Position, Invoice)>, recover_at: i64) -> GroupOutcome {
    let mut outcome = GroupOutcome::default();
    let mut tries = 0;
    while !group.is_empty() {
        let invoices: Vec<Invoice> = group.iter().map(|(_, invoice)| invoice.clone()).collect();
        match services.store.store_invoices(&invoices, recover_at).await {
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

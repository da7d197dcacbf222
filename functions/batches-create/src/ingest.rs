//! Storing and queueing a batch, all or recorded. In order: the batch, `ingesting`, in the
//! recovery index at the ingest's deadline; its invalid inputs (bounded); its valid invoices in
//! conditional transactions of up to 50 of one shard with their reference codes' uniqueness
//! items, several at once, each at its shard's pace (a code already used in the organization
//! makes that invoice invalid, and the rest of its group is stored again), outside the recovery
//! index, so nothing submits them yet; then the batch,
//! `processing`: only now are they released, one chunk message per 50, ten messages per
//! `SendMessageBatch`. Should anything fail or time out before the batch is recorded, what was
//! stored is taken back here, or, if this function dies, by the reconciler once the deadline
//! passes: nothing of the batch is ever submitted. A chunk whose message is lost is queued again
//! by the reconciler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::{StreamExt, stream};
use serde_json::Value;
use shared::auth::Caller;
use shared::clock;
use shared::domain::batch::{InvalidInput, Parsed, Position};
use shared::http::ApiError;
use shared::invoices::Invoice;
use shared::queue::ChunkMessage;
use shared::services::Services;
use shared::store::{BatchRecord, GroupRefusal, STORE_GROUP, StoredInvoice, keys};

use crate::{accepted, describe, every_problem};

/// Groups stored at once: as many as there are shards.
const CONCURRENT_GROUPS: usize = keys::SHARDS as usize;
/// How long before the ingest's deadline (the function's own plus 5 s) its groups stop waiting
/// for the write pace: what is left records the batch.
const PACE_STOPS_BEFORE_DEADLINE_MS: i64 = 10_000;
/// Tries of a group that fails for reasons of the store (throttling) rather than its content.
const GROUP_TRIES: u32 = 4;

/// What became of one group.
#[derive(Default)]
struct GroupOutcome {
    stored: Vec<StoredInvoice>,
    /// Invoices whose reference code the organization uses already, with the invoice using it.
    taken: Vec<(Position, String, String)>,
    lost: Vec<Position>,
    /// When the organization's batch writes, booked by other lots, are free again (epoch ms).
    busy_until: Option<i64>,
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
    let pace_until_ms = deadline_ms - PACE_STOPS_BEFORE_DEADLINE_MS;
    let stored = match store_all(services, caller, &batch.id, &created_at, valid, pace_until_ms).await {
        Ok((stored, taken)) => {
            for entry in taken {
                invalid.push(entry);
            }
            stored
        }
        Err((stored, lost, busy_until)) => {
            // A store that keeps failing, or other lots booking the organization's writes past
            // this one's time: nothing is kept.
            discard(stored, 0).await;
            tracing::error!(
                at = describe(lost),
                busy_until,
                "a batch could not be stored: nothing was kept"
            );
            let busy_for = busy_until.map_or(0, |until| (until - clock::epoch_ms(clock::now())) / 1000 + 1);
            return Err(ApiError::Unavailable {
                failing: Vec::new(),
                retry_after_seconds: u64::try_from(busy_for).unwrap_or(0).max(5),
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

/// What [`store_all`] could not store: what it stored, where the first lost invoice was, and
/// until when other lots booked the organization's writes, if that was why.
type Lost = (Vec<StoredInvoice>, Position, Option<i64>);

/// Stores the valid invoices, several groups of one shard each at once: those stored and the
/// entries of those whose code is taken, or, when a group cannot be stored, what was lost.
async fn store_all(
    services: &Services,
    caller: &Caller,
    batch_id: &str,
    created_at: &str,
    valid: Vec<(Position, shared::domain::invoice::InvoiceInput)>,
    pace_until_ms: i64,
) -> Result<(Vec<StoredInvoice>, Vec<InvalidInput>), Lost> {
    // A group's invoices are made when it is stored, and only their keys are kept: holding
    // 10,000 whole invoices at once was most of a batch's peak memory. Each group is made in one
    // shard (its invoices' ids say so), the next group in the next shard, from a shard of the
    // batch's own (small lots do not all begin on one). Once a group is lost, the lot is: no
    // group starts after that.
    let given_up = AtomicBool::new(false);
    let given_up = &given_up;
    let mut inputs = valid.into_iter();
    let first = keys::invoice_shard(batch_id) as usize;
    let mut shards = (0..keys::SHARDS).cycle().skip(first);
    let groups = std::iter::from_fn(move || {
        if given_up.load(Ordering::Relaxed) {
            return None;
        }
        let shard = shards.next()?;
        let group: Vec<(Position, Invoice)> = inputs
            .by_ref()
            .take(STORE_GROUP)
            .map(|(position, input)| {
                let id = keys::new_invoice_id(shard);
                (
                    position,
                    Invoice::new(id, &caller.org_id, Some(batch_id), input, created_at),
                )
            })
            .collect();
        (!group.is_empty()).then_some((shard, group))
    });
    let outcomes: Vec<GroupOutcome> = stream::iter(groups)
        .map(|(shard, group)| async move {
            let outcome = store(services, shard, group, pace_until_ms).await;
            if !outcome.lost.is_empty() {
                given_up.store(true, Ordering::Relaxed);
            }
            outcome
        })
        .buffer_unordered(CONCURRENT_GROUPS)
        .collect()
        .await;
    let mut stored = Vec::new();
    let mut taken = Vec::new();
    let mut lost = None;
    let mut busy_until = None;
    for outcome in outcomes {
        stored.extend(outcome.stored);
        taken.extend(
            outcome
                .taken
                .iter()
                .map(|(position, code, existing)| taken_entry(*position, code, existing)),
        );
        lost = lost.or(outcome.lost.first().copied());
        busy_until = busy_until.max(outcome.busy_until);
    }
    match lost {
        None => Ok((stored, taken)),
        Some(position) => Err((stored, position, busy_until)),
    }
}

/// The invalid entry of an invoice whose reference code `code` the organization uses already.
fn taken_entry(position: Position, code: &str, existing: &str) -> InvalidInput {
    let message = format!("{code} is already used by invoice {existing}");
    InvalidInput::of_field(position, code, "reference_code", message)
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

/// Stores one group of one shard, without the invoices whose reference code is taken.
async fn store(
    services: &Services,
    shard: u32,
    mut group: Vec<(Position, Invoice)>,
    pace_until_ms: i64,
) -> GroupOutcome {
    let mut outcome = GroupOutcome::default();
    let mut tries = 0;
    while !group.is_empty() {
        let invoices: Vec<Invoice> = group.iter().map(|(_, invoice)| invoice.clone()).collect();
        match services
            .store
            .store_invoices(shard, &invoices, pace_until_ms)
            .await
        {
            Ok(()) => break,
            Err(GroupRefusal::Busy { free_at_ms }) => {
                outcome.lost = group.into_iter().map(|(position, _)| position).collect();
                outcome.busy_until = Some(free_at_ms);
                return outcome;
            }
            Err(GroupRefusal::Taken(taken)) if !taken.is_empty() => {
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

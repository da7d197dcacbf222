//! `POST /v1/invoices/{id}/credit-notes`: credits an accepted invoice, in whole or in part.
//! The request is checked (lines, quantities, amounts) against what the invoice's live notes left
//! uncredited, and the note stored `queued` with its reference code's uniqueness item, its entry
//! on the invoice (and, with an `Idempotency-Key`, the record that replays this answer) in one
//! transaction, conditional on the invoice's notes being as they were read: a note stored at the
//! same moment makes this one read the invoice again and be checked against it. Then it is
//! queued, and submitted as invoices are.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::clock;
use shared::credit_notes::CreditRefused;
use shared::domain::credit::CreditRequest;
use shared::http::{ApiError, HandlerResult, Request, path_param, read_json};
use shared::idempotency::{IdempotencyKey, replay, replay_if_recorded};
use shared::services::Services;
use shared::store::{CreateCreditNoteError, Replay};
use shared::validation::Problems;

const MAX_BODY_BYTES: usize = 256 * 1024;
/// Reads of the invoice when other notes of it are stored at the same moment.
const TRIES: usize = 5;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Issue).await?;
    let invoice_id = path_param(&request, "id")?;
    if !shared::ids::is_id(&invoice_id) {
        return Err(ApiError::NotFound);
    }
    let key = IdempotencyKey::of(&request)?;
    let body = read_json(&request, MAX_BODY_BYTES)?;
    let mut problems = Problems::new();
    let parsed = CreditRequest::parse(&body, &mut problems);
    let wanted = problems
        .finish(parsed)?
        .ok_or_else(|| anyhow::anyhow!("a credit note failed to parse without a reason"))?;
    // A repeated request is answered as the first was, however much is left to credit now.
    if let Some(first) = replay_if_recorded(&services.store, &caller.org_id, key.as_ref()).await? {
        return Ok(first);
    }
    let numbering_range_id = services
        .credit_note_range(&caller.org_id, wanted.numbering_range_id)
        .await?;
    let now = clock::now();
    let recover_at_ms = clock::epoch_ms(now + services.recover_after);
    let note_id = shared::ids::new_id();
    tracing::Span::current().record("invoice_id", invoice_id.as_str());
    for _ in 0..TRIES {
        let (invoice, version) = services
            .store
            .get_invoice_for_credit(&caller.org_id, &invoice_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let note = invoice
            .credit(
                note_id.clone(),
                wanted.clone(),
                numbering_range_id,
                &clock::rfc3339(now),
            )
            .map_err(refusal)?;
        let view = note.credit_note_view();
        let record = key.as_ref().map(|key| {
            let replay = Replay::Body {
                body: view.to_string(),
            };
            key.record(StatusCode::ACCEPTED, replay, now.unix_timestamp())
        });
        match services
            .store
            .create_credit_note(&invoice, version, &note, recover_at_ms, record.as_ref())
            .await
        {
            Ok(()) => {
                services.queue_for_submission(&note).await?;
                return Ok(shared::http::json(StatusCode::ACCEPTED, &view));
            }
            Err(CreateCreditNoteError::InvoiceChanged) => {}
            Err(CreateCreditNoteError::IdempotencyKeyUsed) => {
                let key = key.ok_or_else(|| anyhow::anyhow!("an idempotency conflict without a key"))?;
                return replay(&services.store, &caller.org_id, &key).await;
            }
            Err(CreateCreditNoteError::DuplicateReference {
                reference_code,
                existing_id,
            }) => {
                return Err(ApiError::DuplicateReference {
                    reference_code,
                    existing_id,
                    holder: "credit note",
                });
            }
            Err(CreateCreditNoteError::Store(cause)) => return Err(cause.into()),
        }
    }
    Err(ApiError::InvalidState(
        "other credit notes of this invoice were being stored at the same moment: send it again".to_owned(),
    ))
}

fn refusal(refused: CreditRefused) -> ApiError {
    match refused {
        CreditRefused::NotAccepted(status) => ApiError::InvalidState(format!(
            "the invoice is {}: only an accepted invoice can be credited",
            status.as_str()
        )),
        CreditRefused::NotNow(reason) => ApiError::InvalidState(reason),
        CreditRefused::Invalid(errors) => ApiError::Validation(errors),
    }
}

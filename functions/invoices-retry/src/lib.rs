//! `POST /v1/invoices/{id}/retry`: sends an invoice back to `queued` and queues it. A `failed`
//! invoice goes as it is (no body). A `rejected` one goes only corrected: the body is the whole
//! invoice again, validated as `POST /v1/invoices` validates one, with the same reference code,
//! once Factus holds no rejected bill of it. Any other state is 409 `INVALID_STATE`.
//! Accepts an `Idempotency-Key`.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::clock;
use shared::http::{ApiError, HandlerResult, Request, body_bytes, path_param, read_json};
use shared::idempotency::{IdempotencyKey, replay, replay_if_recorded};
use shared::invoices::{Invoice, Status};
use shared::services::Services;
use shared::store::{Replay, RetryError};
use shared::validation::FieldError;

const MAX_BODY_BYTES: usize = 1024 * 1024;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Issue).await?;
    let id = path_param(&request, "id")?;
    if !shared::ids::is_id(&id) {
        return Err(ApiError::NotFound);
    }
    tracing::Span::current().record("invoice_id", id.as_str());
    let key = IdempotencyKey::of(&request)?;
    let invoice = services
        .store
        .get_invoice(&caller.org_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let was = invoice.state.status;
    let corrected = !body_bytes(&request).is_empty();
    let refusal = match (was, corrected) {
        (Status::Failed, false) | (Status::Rejected, true) => None,
        (Status::Failed, true) => Some("a failed invoice is retried as it is: send no body".to_owned()),
        (Status::Rejected, false) => Some(
            "DIAN rejected this invoice: retry it with its corrected body (the whole invoice, same reference code)"
                .to_owned(),
        ),
        (other, _) => Some(format!(
            "only a failed or a rejected invoice can be retried; this one is {}",
            other.as_str()
        )),
    };
    if let Some(refusal) = refusal {
        // A retry of a retry that went through answers what the first one answered.
        if let Some(first) = replay_if_recorded(&services.store, &caller.org_id, key.as_ref()).await? {
            return Ok(first);
        }
        return Err(ApiError::InvalidState(refusal));
    }
    let now = clock::now();
    let invoice = if corrected {
        correction(services, &invoice, &request).await?
    } else {
        let mut again = invoice;
        again.state.status = Status::Queued;
        again.state.updated_at = clock::rfc3339(now);
        again
    };
    let record = key.as_ref().map(|key| {
        let replay = Replay::Invoice {
            invoice_id: invoice.id.clone(),
            state: Box::new(invoice.state.clone()),
        };
        key.record(StatusCode::ACCEPTED, replay, now.unix_timestamp())
    });
    let recover_at_ms = clock::epoch_ms(now + services.recover_after);
    match services
        .store
        .requeue_invoice(&invoice, was, recover_at_ms, record.as_ref())
        .await
    {
        Ok(()) => {}
        Err(RetryError::IdempotencyKeyUsed) => {
            let key = key.ok_or_else(|| anyhow::anyhow!("an idempotency conflict without a key"))?;
            return replay(&services.store, &caller.org_id, &key).await;
        }
        Err(RetryError::StateChanged) => {
            return Err(ApiError::InvalidState(format!(
                "the invoice is no longer {}, or its rejected bill is not yet deleted at Factus: read it, and try again",
                was.as_str()
            )));
        }
        Err(RetryError::Store(cause)) => return Err(cause.into()),
    }
    services.queue_for_submission(&invoice).await?;
    tracing::info!(corrected, "an invoice was sent back to the queue");
    Ok(shared::http::json(StatusCode::ACCEPTED, &invoice.view()))
}

/// The rejected `invoice` as its correction in `request` makes it: a new invoice in all but its
/// id, its batch and when it was first created; the same reference code, and no rejected bill
/// of it left at Factus.
async fn correction(services: &Services, invoice: &Invoice, request: &Request) -> Result<Invoice, ApiError> {
    let input = services
        .invoice_input(&invoice.organization_id, &read_json(request, MAX_BODY_BYTES)?)
        .await?;
    let reference = invoice.document.input.reference_code.as_str();
    if input.reference_code.as_str() != reference {
        return Err(ApiError::Validation(vec![FieldError::new(
            "reference_code",
            format!("must stay {reference}: a correction is the same invoice"),
        )]));
    }
    // `null`: Factus kept no bill of it (its own validation refused it).
    if invoice.state.provider_cleared == Some(false) {
        return Err(ApiError::InvalidState(
            "the rejected bill is still at Factus, waiting to be deleted: try again in a minute".to_owned(),
        ));
    }
    let mut corrected = Invoice::new(
        invoice.id.clone(),
        &invoice.organization_id,
        invoice.batch_id.as_deref(),
        input,
        &clock::rfc3339(clock::now()),
    );
    corrected.created_at.clone_from(&invoice.created_at);
    Ok(corrected)
}

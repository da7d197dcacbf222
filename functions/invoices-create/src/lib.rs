//! `POST /v1/invoices`: validates an invoice, computes its totals, and stores it `queued` with
//! its reference code's uniqueness item (and, with an `Idempotency-Key`, the record that replays
//! this answer) in one transaction; then queues it for submission. Three round trips (the first
//! reads the organization: no Factus account serving it is a 409; its default numbering range is
//! the invoice's unless it names one, which must be one of the account's, a fourth round trip).
//! If the message cannot be sent, the invoice stays `queued` and the reconciler queues it again.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::clock;
use shared::http::{ApiError, HandlerResult, Request, read_json};
use shared::idempotency::{IdempotencyKey, replay};
use shared::invoices::Invoice;
use shared::services::Services;
use shared::store::{CreateInvoiceError, Replay};

/// 500 items of long names and codes stay well under this.
const MAX_BODY_BYTES: usize = 1024 * 1024;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Issue).await?;
    let key = IdempotencyKey::of(&request)?;
    let body = read_json(&request, MAX_BODY_BYTES)?;
    let input = services.invoice_input(&caller.org_id, &body).await?;

    let now = clock::now();
    let invoice = Invoice::new(
        shared::ids::new_id(),
        &caller.org_id,
        None,
        input,
        &clock::rfc3339(now),
    );
    tracing::Span::current().record("invoice_id", invoice.id.as_str());
    let recover_at_ms = clock::epoch_ms(now + services.recover_after);
    let record = key.as_ref().map(|key| {
        let replay = Replay::Invoice {
            invoice_id: invoice.id.clone(),
            state: Box::new(invoice.state.clone()),
        };
        key.record(StatusCode::ACCEPTED, replay, now.unix_timestamp())
    });
    match services
        .store
        .create_invoice(&invoice, recover_at_ms, record.as_ref())
        .await
    {
        Ok(()) => {}
        Err(CreateInvoiceError::IdempotencyKeyUsed) => {
            let key = key.ok_or_else(|| anyhow::anyhow!("an idempotency conflict without a key"))?;
            return replay(&services.store, &caller.org_id, &key).await;
        }
        Err(CreateInvoiceError::DuplicateReference {
            reference_code,
            existing_id,
        }) => {
            return Err(ApiError::DuplicateReference {
                reference_code,
                existing_id,
                holder: "invoice",
            });
        }
        Err(CreateInvoiceError::Store(cause)) => return Err(cause.into()),
    }
    services.queue_for_submission(&invoice).await?;
    Ok(shared::http::json(StatusCode::ACCEPTED, &invoice.view()))
}

//! `POST /v1/invoices/{id}/retry`: sends a `failed` invoice back to `queued` and queues it
//! (409 `INVALID_STATE` from any other state). Accepts an `Idempotency-Key`.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::clock;
use shared::http::{ApiError, HandlerResult, Request, path_param};
use shared::idempotency::{IdempotencyKey, replay};
use shared::invoices::Status;
use shared::services::Services;
use shared::store::{Replay, RetryError};

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Issue).await?;
    let id = path_param(&request, "id")?;
    if !shared::ids::is_id(&id) {
        return Err(ApiError::NotFound);
    }
    tracing::Span::current().record("invoice_id", id.as_str());
    let key = IdempotencyKey::of(&request)?;
    let mut invoice = services
        .store
        .get_invoice(&caller.org_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if invoice.state.status != Status::Failed {
        // A retry of a retry that went through answers what the first one answered.
        if let Some(key) = &key
            && services
                .store
                .get_idempotency(&caller.org_id, &key.scope)
                .await?
                .is_some()
        {
            return replay(&services.store, &caller.org_id, key).await;
        }
        return Err(ApiError::InvalidState(format!(
            "only a failed invoice can be retried; this one is {}",
            invoice.state.status.as_str()
        )));
    }
    let now = clock::now();
    invoice.state.status = Status::Queued;
    invoice.state.updated_at = clock::rfc3339(now);
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
        .requeue_failed_invoice(&invoice, recover_at_ms, record.as_ref())
        .await
    {
        Ok(()) => {}
        Err(RetryError::IdempotencyKeyUsed) => {
            let key = key.ok_or_else(|| anyhow::anyhow!("an idempotency conflict without a key"))?;
            return replay(&services.store, &caller.org_id, &key).await;
        }
        Err(RetryError::NoLongerFailed) => {
            return Err(ApiError::InvalidState(
                "the invoice is not failed any more".to_owned(),
            ));
        }
        Err(RetryError::Store(cause)) => return Err(cause.into()),
    }
    services.queue_for_submission(&invoice).await?;
    tracing::info!("a failed invoice was sent back to the queue");
    Ok(shared::http::json(StatusCode::ACCEPTED, &invoice.view()))
}

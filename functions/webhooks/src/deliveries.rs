//! An endpoint's deliveries: `GET /v1/webhooks/{id}/deliveries?status=&limit=&cursor=` (newest
//! first), `POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver` (the delivery starts
//! again: pending, its attempts at zero, due now and retried for another day), and `POST /v1/webhooks/{id}/test`, a `webhook.test` event
//! delivered to this endpoint only, whatever it subscribes to.

use lambda_http::http::StatusCode;
use serde_json::json;
use shared::auth::Caller;
use shared::clock;
use shared::http::{ApiError, HandlerResult, Query, Request, path_param};
use shared::pagination::{self, Page, Scope};
use shared::queue::WebhookMessage;
use shared::store::{Delivery, DeliveryStatus, EventRecord};
use shared::validation::FieldError;
use shared::webhooks::EventType;

use crate::{Webhooks, endpoint_of};

pub async fn list(state: &Webhooks, caller: &Caller, request: &Request) -> HandlerResult {
    let endpoint = endpoint_of(state, caller, request).await?;
    let query = Query::read(request, &["status", "limit", "cursor"])?;
    let status = match query.get("status") {
        None => None,
        Some(text) => Some(DeliveryStatus::parse(text).ok_or_else(|| {
            ApiError::InvalidQuery(vec![FieldError::new(
                "status",
                "must be one of pending, delivered, failed",
            )])
        })?),
    };
    let limit = query.integer("limit", 1, 100, 25)?;
    let scope = Scope {
        org_id: caller.org_id.clone(),
        route: "GET /v1/webhooks/{id}/deliveries",
        filters: vec![
            ("webhook_id", endpoint.id.clone()),
            ("status", query.get("status").unwrap_or_default().to_owned()),
        ],
    };
    let keyring = state.services.keyring();
    let after = match query.get("cursor") {
        Some(cursor) => Some(pagination::decode(keyring, &scope, cursor).await?),
        None => None,
    };
    let (deliveries, last) = state
        .services
        .store
        .list_deliveries(&caller.org_id, &endpoint.id, status, limit, after.as_ref())
        .await?;
    let next_cursor = pagination::encode(keyring, &scope, last).await?;
    let data = deliveries.iter().map(Delivery::view).collect();
    Ok(shared::http::json(StatusCode::OK, &Page { data, next_cursor }))
}

pub async fn redeliver(state: &Webhooks, caller: &Caller, request: &Request) -> HandlerResult {
    let endpoint = endpoint_of(state, caller, request).await?;
    let delivery_id = path_param(request, "delivery_id")?;
    let mut delivery = state
        .services
        .store
        .get_delivery(&caller.org_id, &endpoint.id, &delivery_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let now = clock::now();
    if delivery
        .claimed_until_ms
        .is_some_and(|until| until > clock::epoch_ms(now))
    {
        return Err(ApiError::InvalidState(
            "an attempt of the delivery is under way: redeliver it once that ends (within a minute)"
                .to_owned(),
        ));
    }
    delivery.status = DeliveryStatus::Pending;
    delivery.attempts = 0;
    delivery.last_status_code = None;
    delivery.last_error = None;
    delivery.delivered_at = None;
    delivery.next_attempt_at_ms = Some(clock::epoch_ms(now));
    delivery.started_at_ms = clock::epoch_ms(now);
    delivery.updated_at = clock::rfc3339(now);
    // Whatever message of it is still queued is stale from here on.
    if !state.services.store.replace_delivery(&mut delivery).await? {
        return Err(ApiError::InvalidState(
            "an attempt of the delivery began meanwhile: redeliver it once that ends (within a minute)"
                .to_owned(),
        ));
    }
    send(state, &delivery).await?;
    Ok(shared::http::json(StatusCode::ACCEPTED, &delivery.view()))
}

pub async fn test(state: &Webhooks, caller: &Caller, request: &Request) -> HandlerResult {
    let endpoint = endpoint_of(state, caller, request).await?;
    let now = clock::now();
    let data = json!({"webhook_id": endpoint.id, "message": "a test event from invoicer"});
    let event = EventRecord::new(&caller.org_id, EventType::WebhookTest, &data, now);
    let store = &state.services.store;
    store.put_event(&event).await?;
    let delivery = Delivery::new(&event, &endpoint.id, now);
    store.create_delivery(&delivery).await?;
    send(state, &delivery).await?;
    Ok(shared::http::json(StatusCode::ACCEPTED, &delivery.view()))
}

async fn send(state: &Webhooks, delivery: &Delivery) -> anyhow::Result<()> {
    let message = WebhookMessage::Delivery(delivery.message());
    state.services.webhooks_queue()?.send(&message, 0).await
}

//! `GET /v1/batches?limit=&cursor=`: the caller's organization's batches, newest first.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::http::{HandlerResult, Query, Request};
use shared::pagination::{self, Page, Scope};
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Read).await?;
    let query = Query::read(&request, &["limit", "cursor"])?;
    let limit = query.integer("limit", 1, 100, 25)?;
    let scope = Scope {
        org_id: caller.org_id.clone(),
        route: "GET /v1/batches",
        filters: Vec::new(),
    };
    let after = match query.get("cursor") {
        Some(cursor) => Some(pagination::decode(services.keyring(), &scope, cursor).await?),
        None => None,
    };
    let (batches, last) = services
        .store
        .list_batches(&caller.org_id, limit, after.as_ref())
        .await?;
    let next_cursor = pagination::encode(services.keyring(), &scope, last).await?;
    let data = batches
        .iter()
        .map(|batch| batch.view(services.provider_interval_ms))
        .collect();
    Ok(shared::http::json(StatusCode::OK, &Page { data, next_cursor }))
}

//! `GET /v1/batches/{id}/errors?limit=&cursor=`: a batch's invalid inputs, in input order, each
//! with its index (JSON) or line (CSV) and every problem it has.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::http::{ApiError, HandlerResult, Query, Request, path_param};
use shared::pagination::{self, Page, Scope};
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Read).await?;
    let id = path_param(&request, "id")?;
    if !shared::ids::is_id(&id) || services.store.get_batch(&caller.org_id, &id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let query = Query::read(&request, &["limit", "cursor"])?;
    let limit = query.integer("limit", 1, 100, 25)?;
    let scope = Scope {
        org_id: caller.org_id.clone(),
        route: "GET /v1/batches/{id}/errors",
        filters: vec![("batch_id", id.clone())],
    };
    let after = match query.get("cursor") {
        Some(cursor) => Some(pagination::decode(services.keyring(), &scope, cursor).await?),
        None => None,
    };
    let (errors, last) = services
        .store
        .list_batch_errors(&caller.org_id, &id, limit, after.as_ref())
        .await?;
    let next_cursor = pagination::encode(services.keyring(), &scope, last).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        &Page {
            data: errors,
            next_cursor,
        },
    ))
}

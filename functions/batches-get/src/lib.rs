//! `GET /v1/batches/{id}`: a batch with its counters (`pending` derived from them); another
//! organization's batch is a 404 like a missing one.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::http::{ApiError, HandlerResult, Request, path_param};
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Read).await?;
    let id = path_param(&request, "id")?;
    if !shared::ids::is_id(&id) {
        return Err(ApiError::NotFound);
    }
    let batch = services
        .store
        .get_batch(&caller.org_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(shared::http::json(
        StatusCode::OK,
        &batch.view(services.provider_interval_ms),
    ))
}

//! `GET /v1/organization` (any role): the caller's organization, with what may be shown of its
//! Factus account.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::http::{ApiError, HandlerResult, Request};
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Read).await?;
    let organization = services
        .store
        .get_organization(&caller.org_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(shared::http::json(
        StatusCode::OK,
        &shared::organization::view(&organization),
    ))
}

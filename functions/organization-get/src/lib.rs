//! `GET /v1/organization` (any role): the caller's organization, with what may be shown of its
//! Factus account and the warnings of its numbering ranges as last read
//! (`GET /v1/organization/numbering-ranges` reads them).

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
    let ranges = services.store.get_ranges(&caller.org_id).await?;
    let shown = shared::organization::view(&organization, ranges.as_ref());
    Ok(shared::http::json(StatusCode::OK, &shown))
}

//! `GET /v1/users/me`: the caller, as the API shows a user.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::http::{ApiError, HandlerResult, Request};
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Read).await?;
    let user = services
        .store
        .get_user(&caller.org_id, &caller.user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(shared::http::json(StatusCode::OK, &user))
}

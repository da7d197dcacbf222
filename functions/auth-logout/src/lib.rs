//! `POST /v1/auth/logout`: revokes the family of the refresh token presented. Access tokens
//! already issued live until they expire (15 minutes).

use lambda_http::http::StatusCode;
use shared::auth::TokenType;
use shared::http::{ApiError, HandlerResult, Request};
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let token = shared::auth::tokens::refresh_token_in(&request)?;
    let claims = services.tokens.verify(&token, TokenType::Refresh).await?;
    let family = claims.fam.as_deref().ok_or(ApiError::Unauthenticated)?;
    services.store.revoke_session(&claims.org, family).await?;
    Ok(shared::http::empty(StatusCode::NO_CONTENT))
}

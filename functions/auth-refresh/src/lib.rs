//! `POST /v1/auth/refresh`: a refresh token for a new pair. Refresh tokens rotate: the one
//! presented is used up. Presenting a used one again revokes its whole family (the later tokens
//! of that login stop working too), unless it comes again within a few seconds of its use, which
//! is a client retrying, not a thief: the retry gets the same new refresh token.

use lambda_http::http::StatusCode;
use shared::auth::TokenType;
use shared::auth::tokens::{REFRESH_TTL_SECONDS, RefreshToken};
use shared::clock;
use shared::http::{ApiError, HandlerResult, Request};
use shared::services::Services;
use shared::store::Session;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let token = shared::auth::tokens::refresh_token_in(&request)?;
    let claims = services.tokens.verify(&token, TokenType::Refresh).await?;
    let family = claims.fam.as_deref().ok_or(ApiError::Unauthenticated)?;
    let session = services
        .store
        .get_session(&claims.org, family)
        .await?
        .filter(|s| !s.revoked && s.user_id == claims.sub)
        .ok_or(ApiError::Unauthenticated)?;
    let now = clock::now().unix_timestamp();
    let next = if session.current_jti == claims.jti {
        let next_jti = shared::ids::new_id();
        let rotated = services
            .store
            .rotate_session(&session, &claims.jti, &next_jti, now, now + REFRESH_TTL_SECONDS)
            .await?;
        if rotated {
            Some(RefreshToken {
                family: family.to_owned(),
                jti: next_jti,
                issued_at: now,
            })
        } else {
            // A concurrent request rotated this very token first: this one is its retry.
            retry_of(
                services.store.get_session(&claims.org, family).await?,
                &claims.jti,
                now,
            )
        }
    } else {
        retry_of(Some(session), &claims.jti, now)
    };
    let Some(next) = next else {
        services.store.revoke_session(&claims.org, family).await?;
        tracing::warn!(org_id = %claims.org, user_id = %claims.sub, "a used refresh token came again: its family is revoked");
        return Err(ApiError::Unauthenticated);
    };
    let tokens = services
        .tokens
        .pair(&claims.sub, &claims.org, claims.role, &next, now)
        .await?;
    Ok(shared::http::json(StatusCode::OK, &tokens))
}

/// The family's current refresh token when presenting `jti` is a retry of its rotation.
fn retry_of(session: Option<Session>, jti: &str, now: i64) -> Option<RefreshToken> {
    session
        .filter(|s| s.is_retry_of(jti, now))
        .map(|s| s.refresh_token())
}

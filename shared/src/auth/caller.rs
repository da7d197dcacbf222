//! The authenticated caller of a request: the one place that reads the bearer token, and the one
//! place that refuses what a role may not do.

use super::roles::{Permission, Role};
use super::tokens::{TokenType, Tokens};
use crate::http::{ApiError, Request, header};

/// Who is calling, from a verified access token. The organization comes from the token, never
/// from the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub org_id: String,
    pub role: Role,
}

impl Caller {
    /// Verifies the request's `Authorization: Bearer <access token>`; 401 otherwise. Records the
    /// caller on the request's log span.
    pub async fn authenticate(request: &Request, tokens: &Tokens) -> Result<Self, ApiError> {
        let token = header(request, "authorization")
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthenticated)?;
        let claims = tokens.verify(token, TokenType::Access).await?;
        let span = tracing::Span::current();
        span.record("org_id", claims.org.as_str());
        span.record("user_id", claims.sub.as_str());
        Ok(Self {
            user_id: claims.sub,
            org_id: claims.org,
            role: claims.role,
        })
    }

    /// 403 `FORBIDDEN` unless the caller's role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.can(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// [`Caller::authenticate`] then [`Caller::require`]: what most handlers start with.
    pub async fn authorize(
        request: &Request,
        tokens: &Tokens,
        permission: Permission,
    ) -> Result<Self, ApiError> {
        let caller = Self::authenticate(request, tokens).await?;
        caller.require(permission)?;
        Ok(caller)
    }
}

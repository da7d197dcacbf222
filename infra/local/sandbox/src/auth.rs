//! Authentication (`autenticacion/`): `POST /oauth/token` with a form body, the password grant
//! (client_id, client_secret, username, password) and the refresh grant (client_id,
//! client_secret, refresh_token; a refresh token is used once, and revokes the access token it
//! came with, as Laravel Passport does). And the gate of every API route: a live
//! `Authorization: Bearer` token (else 401 `{"message": "Unauthenticated."}`), then the account's
//! rate limit, then the request journal.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::envelope;
use crate::journal;
use crate::limits::Verdict;
use crate::state::{AccountId, Shared, lock};

/// The largest request body the API reads.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

#[derive(Debug)]
struct Access {
    account: AccountId,
    expires: Instant,
}

#[derive(Debug)]
struct Refresh {
    account: AccountId,
    /// The access token issued with it.
    access: String,
}

/// The tokens in force.
#[derive(Debug)]
pub struct Tokens {
    ttl: Duration,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
}

fn opaque() -> String {
    format!("{}{}", ulid::Ulid::generate(), ulid::Ulid::generate()).to_lowercase()
}

impl Tokens {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            access: HashMap::new(),
            refresh: HashMap::new(),
        }
    }

    /// A new access token and refresh token for `account`.
    fn issue(&mut self, account: AccountId, now: Instant) -> (String, String) {
        self.access.retain(|_, access| access.expires > now);
        let (access, refresh) = (opaque(), opaque());
        self.access.insert(
            access.clone(),
            Access {
                account,
                expires: now + self.ttl,
            },
        );
        self.refresh.insert(
            refresh.clone(),
            Refresh {
                account,
                access: access.clone(),
            },
        );
        (access, refresh)
    }

    /// Whose live access token `token` is.
    pub fn account(&self, token: &str, now: Instant) -> Option<AccountId> {
        self.access
            .get(token)
            .filter(|access| access.expires > now)
            .map(|access| access.account)
    }

    /// Trades `token` (once) for new tokens of `account`.
    fn refresh(&mut self, token: &str, account: AccountId, now: Instant) -> Option<(String, String)> {
        if self.refresh.get(token)?.account != account {
            return None;
        }
        let used = self.refresh.remove(token)?;
        self.access.remove(&used.access);
        Some(self.issue(account, now))
    }
}

/// An OAuth error, as Passport words it.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description, "message": description})),
    )
        .into_response()
}

/// `POST /oauth/token`.
pub async fn token(
    State(shared): State<Shared>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
        );
    };
    let field = |key: &str| form.get(key).map(String::as_str).unwrap_or_default();
    let grant = field("grant_type");
    if grant != "password" && grant != "refresh_token" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        );
    }
    let now = Instant::now();
    let mut sandbox = lock(&shared);
    let clients: Vec<usize> = sandbox
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, account)| {
            account.credentials.client_id == field("client_id")
                && account.credentials.client_secret == field("client_secret")
        })
        .map(|(index, _)| index)
        .collect();
    if clients.is_empty() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let issued = if grant == "password" {
        clients
            .iter()
            .find(|index| {
                sandbox.accounts.get(**index).is_some_and(|account| {
                    account.credentials.username == field("username")
                        && account.credentials.password == field("password")
                })
            })
            .map(|index| sandbox.tokens.issue(AccountId(*index), now))
            .ok_or("The user credentials were incorrect.")
    } else {
        let token = field("refresh_token");
        clients
            .iter()
            .find_map(|index| sandbox.tokens.refresh(token, AccountId(*index), now))
            .ok_or("The refresh token is invalid.")
    };
    match issued {
        Ok((access, refresh)) => Json(json!({
            "token_type": "Bearer",
            "expires_in": sandbox.tokens.ttl.as_secs(),
            "access_token": access,
            "refresh_token": refresh,
        }))
        .into_response(),
        Err(description) => oauth_error(StatusCode::UNAUTHORIZED, "invalid_grant", description),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// 429 `{"message": "Too Many Attempts."}`, due in `retry_after` seconds.
pub fn too_many(limit: u32, retry_after: u64) -> Response {
    envelope::too_many(limit, retry_after, epoch_seconds() + retry_after)
}

/// The gate of every API route: token, rate limit, journal.
pub async fn gate(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let now = Instant::now();
    let account = {
        let sandbox = lock(&shared);
        bearer(request.headers()).and_then(|token| sandbox.tokens.account(token, now))
    };
    let Some(account) = account else {
        return envelope::unauthenticated();
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({"message": "Payload Too Large"})),
        )
            .into_response();
    };
    let (verdict, limit, entry) = {
        let mut sandbox = lock(&shared);
        let default_limit = sandbox.rate_limit;
        let Some(owner) = sandbox.account(account) else {
            return envelope::unauthenticated();
        };
        let limit = owner.credentials.rate_limit_per_minute.unwrap_or(default_limit);
        let verdict = owner.window.hit(now, limit);
        let reference = journal::reference(Some(owner), &parts.uri, &body);
        if let Verdict::Limited { retry_after } = verdict {
            sandbox.stats.rate_limited += 1;
            tracing::info!(account = account.0, retry_after, "rate limited");
        }
        let entry = sandbox
            .journal
            .record(parts.method.as_str(), &parts.uri, reference, &body);
        (verdict, limit, entry)
    };
    let response = match verdict {
        Verdict::Limited { retry_after } => too_many(limit, retry_after),
        Verdict::Allowed { remaining } => {
            let mut request = Request::from_parts(parts, Body::from(body));
            request.extensions_mut().insert(account);
            let mut response = next.run(request).await;
            if !response.headers().contains_key("x-ratelimit-remaining") {
                envelope::rate_headers(response.headers_mut(), limit, remaining);
            }
            response
        }
    };
    lock(&shared).journal.answered(entry, response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_a_refresh_token_is_used_once() {
        let now = Instant::now();
        let mut tokens = Tokens::new(Duration::from_secs(60));
        let (access, refresh) = tokens.issue(AccountId(0), now);
        assert_eq!(tokens.account(&access, now), Some(AccountId(0)));
        assert_eq!(tokens.account(&access, now + Duration::from_secs(61)), None);
        assert_eq!(tokens.refresh(&refresh, AccountId(1), now), None);
        let (renewed, _) = tokens.refresh(&refresh, AccountId(0), now).unwrap();
        assert_eq!(tokens.account(&renewed, now), Some(AccountId(0)));
        assert_eq!(
            tokens.account(&access, now),
            None,
            "the old access token is revoked"
        );
        assert_eq!(tokens.refresh(&refresh, AccountId(0), now), None);
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
    }
}

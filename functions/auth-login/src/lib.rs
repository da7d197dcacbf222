//! `POST /v1/auth/login`: email and password for a token pair.
//!
//! An unknown email and a wrong password answer the same 401 after the same work (a dummy hash
//! is verified when there is no user), and both count toward the email's lockout: five failures
//! within 15 minutes answer 429 `ACCOUNT_LOCKED` for 15 minutes, whoever asks.

use lambda_http::http::StatusCode;
use shared::auth::passwords;
use shared::clock;
use shared::http::{ApiError, HandlerResult, Request, read_json};
use shared::json::{Json, Object};
use shared::secrecy::SecretString;
use shared::services::Services;
use shared::store::Session;
use shared::validation::{FieldError, Problems};

const MAX_BODY_BYTES: usize = 16 * 1024;
/// No registered email is longer; longer ones are not counted (their key would be unbounded).
const MAX_EMAIL: usize = 254;

struct Login {
    email: String,
    password: SecretString,
}

fn parse(body: &Json) -> Result<Login, Vec<FieldError>> {
    let mut problems = Problems::new();
    let Some(mut root) = Object::read(body, "", &mut problems) else {
        return Err(problems.into_errors());
    };
    // No format checks here: a malformed email is simply one nobody registered.
    let email = root
        .required_str("email", &mut problems)
        .map(|email| email.trim().to_lowercase());
    let password = root
        .required_str("password", &mut problems)
        .map(SecretString::from);
    root.finish(&mut problems);
    match (email, password) {
        (Some(email), Some(password)) if problems.is_empty() => Ok(Login { email, password }),
        _ => Err(problems.into_errors()),
    }
}

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let login = parse(&read_json(&request, MAX_BODY_BYTES)?)?;
    let now = clock::now().unix_timestamp();
    let countable = login.email.chars().count() <= MAX_EMAIL;
    let (credentials, attempts) = if countable {
        services.store.login_records(&login.email).await?
    } else {
        (None, None)
    };
    if let Some(seconds) = attempts.as_ref().and_then(|a| a.locked_for(now)) {
        return Err(ApiError::AccountLocked {
            retry_after_seconds: u64::try_from(seconds).unwrap_or(1),
        });
    }
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let accepted = passwords::verify(login.password, stored_hash).await?;
    let Some(credentials) = credentials.filter(|_| accepted) else {
        if countable {
            let after = services.store.record_failed_login(&login.email, now).await?;
            tracing::info!(
                failures = after.failures,
                locked = after.locked_until.is_some(),
                "login refused"
            );
        }
        return Err(ApiError::Unauthenticated);
    };
    let span = tracing::Span::current();
    span.record("org_id", credentials.organization_id.as_str());
    span.record("user_id", credentials.user_id.as_str());
    let session = Session::start(
        &credentials.user_id,
        &credentials.organization_id,
        credentials.role,
        now,
    );
    let tokens = services
        .tokens
        .pair(
            &credentials.user_id,
            &credentials.organization_id,
            credentials.role,
            &session.refresh_token(),
            now,
        )
        .await?;
    let clear_attempts = attempts.is_some().then_some(login.email.as_str());
    services.store.start_session(&session, clear_attempts).await?;
    Ok(shared::http::json(StatusCode::OK, &tokens))
}

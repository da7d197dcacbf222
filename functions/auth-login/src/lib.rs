//! `POST /v1/auth/login`: email and password for a token pair.
//!
//! An unknown email and a wrong password answer the same 401 after the same work (a dummy hash
//! is verified when there is no user). Every guess is counted before its password is checked, so
//! an email gets five guesses within 15 minutes however many arrive at once; then 429
//! `ACCOUNT_LOCKED` for 15 minutes, whoever asks. A successful login clears the count.

use lambda_http::http::StatusCode;
use shared::auth::passwords;
use shared::clock;
use shared::http::{ApiError, HandlerResult, Request, read_json};
use shared::json::{Json, Object};
use shared::secrecy::SecretString;
use shared::services::Services;
use shared::store::{Guess, Session};
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
    let credentials = if countable {
        let (guess, credentials) = tokio::try_join!(
            services.store.count_login_guess(&login.email, now),
            services.store.credentials(&login.email),
        )?;
        if let Guess::Locked(seconds) = guess {
            return Err(ApiError::AccountLocked {
                retry_after_seconds: u64::try_from(seconds).unwrap_or(1),
            });
        }
        credentials
    } else {
        None
    };
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let accepted = passwords::verify(login.password, stored_hash).await?;
    let Some(credentials) = credentials.filter(|_| accepted) else {
        tracing::info!("login refused");
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
    services.store.start_session(&session, &login.email).await?;
    Ok(shared::http::json(StatusCode::OK, &tokens))
}

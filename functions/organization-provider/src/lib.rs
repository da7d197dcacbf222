//! `PUT /v1/organization/provider` (owners and admins): connects the organization's own Factus
//! account, or replaces its credentials. They are tried first (a token) and the company behind
//! them read: it must be the organization's NIT. Refused credentials and another company's
//! account are a 422, Factus unreachable a 503; in each case nothing is kept. Kept, they go to
//! the organization's secret, and what may be shown of them to its profile item.
//!
//! `DELETE /v1/organization/provider` (owners): disconnects it, the profile first (no new
//! invoice counts on it), then the secret.
//!
//! A connection or disconnection holds the organization's lease of account changes while it
//! runs: a second one at the same time is a 409, so the profile and the secret never end up
//! telling two different stories.
//!
//! `GET /v1/organization/numbering-ranges` (any role): the ranges of the account that serves the
//! organization ([`ranges`]); `PATCH /v1/organization` (owners and admins): its default range per
//! document type, among those ([`defaults`]).
//!
//! This is the one function that may write organizations' account secrets; the credentials are
//! never answered back and never logged.

use std::time::Duration;

use lambda_http::http::{Method, StatusCode};
use shared::auth::{Caller, Permission};
use shared::bootstrap::State;
use shared::clock;
use shared::config::{Config, vars};
use shared::http::{ApiError, HandlerResult, Request, read_json};
use shared::json::{Json, Object};
use shared::provider::accounts::{AccountSecrets, StillDeleting};
use shared::provider::company::{Unverified, company_of, same_nit};
use shared::provider::credentials::{BaseUrls, Credentials, Environment};
use shared::provider::directory::ProviderDirectory;
use shared::secrecy::SecretString;
use shared::services::Services;
use shared::store::ProviderProfile;
use shared::validation::{FieldError, Problems};

mod defaults;
mod ranges;

const MAX_BODY_BYTES: usize = 8 * 1024;
/// The longest credential field taken.
const MAX_FIELD: usize = 500;
/// How long a change of the account holds its lease: longer than this function may run
/// (template.yaml), so a lease outlives its holder only when the holder died.
const CHANGE_LEASE_MS: i64 = 60_000;

/// What this function holds: the common services, the organizations' account secrets, and an
/// HTTP client for Factus.
pub struct Connections {
    services: Services,
    secrets: AccountSecrets,
    /// The account that serves each organization, for its numbering ranges.
    providers: ProviderDirectory,
    http: reqwest::Client,
    urls: BaseUrls,
}

impl State for Connections {
    fn build(sdk: &shared::aws::SdkConfig, config: &Config) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(config.number(vars::PROVIDER_TIMEOUT_SECONDS, 10)?);
        let services = Services::build(sdk, config)?;
        Ok(Self {
            secrets: AccountSecrets::new(
                shared::aws::secrets_manager(sdk),
                config.provider_accounts_prefix()?,
            ),
            providers: ProviderDirectory::from_config(sdk, config, services.store.clone(), timeout)?,
            services,
            http: shared::provider::http_client(timeout)?,
            urls: config.provider_urls()?,
        })
    }
}

/// The gateway sends this function `PUT` and `DELETE /v1/organization/provider`,
/// `GET /v1/organization/numbering-ranges` and `PATCH /v1/organization` (template.yaml): the
/// method says which.
pub async fn handle(state: &Connections, request: Request) -> HandlerResult {
    match *request.method() {
        Method::PUT => {
            let caller =
                Caller::authorize(&request, &state.services.tokens, Permission::ConnectProvider).await?;
            leased(state, &caller, connect(state, &caller, &request)).await
        }
        Method::DELETE => {
            let caller =
                Caller::authorize(&request, &state.services.tokens, Permission::DisconnectProvider).await?;
            leased(state, &caller, disconnect(state, &caller)).await
        }
        Method::GET => ranges::numbering_ranges(state, request).await,
        Method::PATCH => defaults::set_defaults(state, request).await,
        _ => Err(ApiError::MethodNotAllowed {
            allowed: vec!["PUT".to_owned(), "DELETE".to_owned()],
        }),
    }
}

/// A credential: present, at most [`MAX_FIELD`] characters, no control characters (and not
/// trimmed: a password's spaces are its own).
fn credential(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    if text.chars().count() > MAX_FIELD || text.chars().any(char::is_control) {
        return Err(format!(
            "must be at most {MAX_FIELD} characters, none of them control characters"
        ));
    }
    Ok(text.to_owned())
}

fn parse(body: &Json) -> Result<Credentials, Vec<FieldError>> {
    let mut problems = Problems::new();
    let Some(mut root) = Object::read(body, "", &mut problems) else {
        return Err(problems.into_errors());
    };
    let environment = root.parsed("environment", &mut problems, |text| {
        Environment::parse(text).ok_or("must be sandbox or production")
    });
    let client_id = root.parsed("client_id", &mut problems, credential);
    let client_secret = root.parsed("client_secret", &mut problems, credential);
    let username = root.parsed("username", &mut problems, credential);
    let password = root.parsed("password", &mut problems, credential);
    root.finish(&mut problems);
    match (environment, client_id, client_secret, username, password) {
        (Some(environment), Some(client_id), Some(client_secret), Some(username), Some(password))
            if problems.is_empty() =>
        {
            Ok(Credentials {
                environment,
                client_id,
                client_secret: SecretString::from(client_secret),
                username,
                password: SecretString::from(password),
            })
        }
        _ => Err(problems.into_errors()),
    }
}

/// Runs a change of the organization's account under its lease, and gives the lease back.
async fn leased(
    state: &Connections,
    caller: &Caller,
    change: impl Future<Output = HandlerResult>,
) -> HandlerResult {
    let store = &state.services.store;
    let now_ms = clock::epoch_ms(clock::now());
    let until_ms = now_ms + CHANGE_LEASE_MS;
    if !store
        .begin_provider_change(&caller.org_id, now_ms, until_ms)
        .await?
    {
        return Err(ApiError::InvalidState(
            "another change of the organization's provider account is under way: try again once it has ended"
                .to_owned(),
        ));
    }
    let result = change.await;
    if let Err(error) = store.end_provider_change(&caller.org_id, until_ms).await {
        tracing::warn!(
            cause = format!("{error:#}"),
            "the lease of the account change could not be given back: it runs out by itself"
        );
    }
    result
}

async fn connect(state: &Connections, caller: &Caller, request: &Request) -> HandlerResult {
    let store = &state.services.store;
    let credentials = parse(&read_json(request, MAX_BODY_BYTES)?)?;
    let organization = store
        .get_organization(&caller.org_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let base_url = state.urls.of(credentials.environment);
    let company = match company_of(&state.http, base_url, &credentials).await {
        Ok(company) => company,
        Err(Unverified::Refused) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "credentials",
                format!(
                    "Factus ({}) refuses these credentials: check the client id and secret, the username and the password",
                    credentials.environment.as_str()
                ),
            )]));
        }
        Err(Unverified::Unreachable(cause, wait)) => {
            tracing::warn!(cause, "the provider account could not be verified: answering 503");
            return Err(ApiError::Unavailable {
                failing: vec![FieldError::new(
                    "provider",
                    "Factus cannot be reached at the moment",
                )],
                retry_after_seconds: wait.as_secs().max(1),
            });
        }
    };
    if !same_nit(&company.nit, &organization.nit) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "credentials",
            format!(
                "this Factus account issues for NIT {} ({}), not for this organization's NIT {}",
                company.nit, company.name, organization.nit
            ),
        )]));
    }
    if let Err(error) = state.secrets.write(&caller.org_id, &credentials).await {
        if error.is::<StillDeleting>() {
            return Err(ApiError::Unavailable {
                failing: vec![FieldError::new("credentials", error.to_string())],
                retry_after_seconds: 5,
            });
        }
        return Err(error.into());
    }
    let profile = ProviderProfile {
        environment: credentials.environment,
        username: credentials.username.clone(),
        client_id: credentials.masked_client_id(),
        company_name: company.name,
        verified_at: clock::rfc3339(clock::now()),
    };
    if !store
        .set_provider_profile(&caller.org_id, Some(&profile), clock::epoch_ms(clock::now()))
        .await?
    {
        return Err(ApiError::NotFound);
    }
    store.forget_ranges(&caller.org_id).await?;
    state.providers.forget(&caller.org_id).await;
    tracing::info!(
        environment = profile.environment.as_str(),
        "the organization's provider account is connected"
    );
    Ok(shared::http::json(
        StatusCode::OK,
        &shared::organization::provider_view(Some(&profile)),
    ))
}

async fn disconnect(state: &Connections, caller: &Caller) -> HandlerResult {
    state
        .services
        .store
        .set_provider_profile(&caller.org_id, None, 0)
        .await?;
    state.services.store.forget_ranges(&caller.org_id).await?;
    state.secrets.delete(&caller.org_id).await?;
    state.providers.forget(&caller.org_id).await;
    tracing::info!("the organization's provider account is disconnected");
    Ok(shared::http::empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use shared::secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn credentials_are_taken_as_written_and_every_problem_is_named() {
        let body = shared::json::parse(
            br#"{"environment": "sandbox", "client_id": "id", "client_secret": "s", "username": "u@x.co", "password": " pass word "}"#,
        )
        .unwrap();
        let credentials = parse(&body).unwrap();
        assert_eq!(credentials.password.expose_secret(), " pass word ");
        let body =
            shared::json::parse(br#"{"environment": "staging", "client_id": "", "extra": 1}"#).unwrap();
        let fields: Vec<String> = parse(&body).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "environment",
                "client_id",
                "client_secret",
                "username",
                "password",
                "extra"
            ]
        );
    }
}

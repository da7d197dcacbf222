//! `provider-sandbox`: an imitation of Factus API v2, the Colombian e-invoicing provider, written
//! from Factus's own documentation (its v2 docs and the `factus-js` SDK its authors tested
//! against the real sandbox), so that invoicer's client meets Factus's contract offline and is
//! told where it misreads it.
//!
//! It serves `POST /oauth/token`; bills (`/v2/bills...`), credit notes (`/v2/credit-notes...`),
//! numbering ranges (`/v2/numbering-ranges...`) and the company (`/v2/companies`), per account,
//! behind a bearer token and Factus's rate limit; and, for tests, `/_sandbox/faults`,
//! `/_sandbox/stats`, `/_sandbox/requests` and `/_sandbox/accounts` ([`control`]'s routes).
//!
//! As a library it lends invoicer's tests DIAN's CUFE ([`cufe::cufe`]) and Factus's input rules
//! of a create-bill body ([`rules::check_bill`]).

mod accounts;
mod auth;
mod bills;
mod clock;
mod control;
mod credit_notes;
pub mod cufe;
mod dian;
mod documents;
mod envelope;
mod faults;
mod handlers;
mod journal;
mod ledger;
mod limits;
mod ranges;
pub mod rules;
mod state;
mod totals;
mod views;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::accounts::{Account, Credentials};
use crate::faults::{FaultRule, Faults};
use crate::state::{Sandbox, Shared};

/// How the sandbox runs (the binary's options).
#[derive(Clone, Debug)]
pub struct Settings {
    /// `--credentials`: a JSON object `{client_id, client_secret, username, password,
    /// company?}`, or a list of them; one default account when absent.
    pub credentials: Option<String>,
    /// `--faults`: a JSON list of fault rules in force from the start.
    pub faults: Option<String>,
    /// `--token-ttl-seconds`.
    pub token_ttl: Duration,
    /// `--rate-limit-per-minute`: requests a minute per account.
    pub rate_limit_per_minute: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            credentials: None,
            faults: None,
            token_ttl: Duration::from_secs(3600),
            rate_limit_per_minute: 80,
        }
    }
}

fn default_credentials() -> Credentials {
    Credentials {
        client_id: "sandbox".into(),
        client_secret: "sandbox".into(),
        username: "sandbox@example.com".into(),
        password: "sandbox".into(),
        company: None,
        rate_limit_per_minute: None,
    }
}

/// The sandbox's HTTP application.
pub fn app(settings: &Settings) -> anyhow::Result<Router> {
    if settings.rate_limit_per_minute == 0 {
        bail!("--rate-limit-per-minute must be at least 1");
    }
    let credentials = match &settings.credentials {
        Some(text) => accounts::parse(text)?,
        None => vec![default_credentials()],
    };
    let now = clock::now();
    let accounts = credentials
        .into_iter()
        .map(|credentials| Account::new(credentials, now))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut faults = Faults::default();
    if let Some(text) = &settings.faults {
        let rules: Vec<FaultRule> =
            serde_json::from_str(text).context("--faults takes a JSON list of rules")?;
        for rule in rules {
            if let Some(problem) = rule.problem() {
                bail!("fault rule {:?}: {problem}", rule.reference_prefix);
            }
            faults.set(rule);
        }
    }
    let shared: Shared = Arc::new(Mutex::new(Sandbox {
        accounts,
        tokens: auth::Tokens::new(settings.token_ttl),
        faults,
        stats: control::Stats::default(),
        journal: journal::Journal::default(),
        rate_limit: settings.rate_limit_per_minute,
    }));
    let api = Router::new()
        .merge(bills::routes())
        .merge(credit_notes::routes())
        .merge(ranges::routes())
        .merge(accounts::routes())
        .route_layer(middleware::from_fn_with_state(shared.clone(), auth::gate));
    Ok(Router::new()
        .route("/oauth/token", post(auth::token))
        .merge(control::routes())
        .merge(api)
        .fallback(unknown_route)
        .method_not_allowed_fallback(unsupported_method)
        .layer(DefaultBodyLimit::max(auth::MAX_BODY))
        .with_state(shared))
}

/// 404, as Laravel answers a route it does not have.
async fn unknown_route(uri: Uri) -> Response {
    envelope::not_found(&format!(
        "The route {} could not be found.",
        uri.path().trim_start_matches('/')
    ))
}

/// 405, as Laravel answers a route that does not take the method.
async fn unsupported_method(method: Method, uri: Uri) -> Response {
    let message = format!(
        "The {method} method is not supported for route {}.",
        uri.path().trim_start_matches('/')
    );
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(serde_json::json!({"message": message})),
    )
        .into_response()
}

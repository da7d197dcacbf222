//! The test-control routes (not Factus; unauthenticated and not rate-limited):
//! `POST /_sandbox/accounts` (a new account: its credentials, company and rate limit; 201, or
//! 409 when its username is taken), `POST /_sandbox/faults` (a [`FaultRule`]; 204),
//! `DELETE /_sandbox/faults` (every rule, or `?reference_prefix=` for one; 204),
//! `GET /_sandbox/stats?reference_prefix=` and `GET /_sandbox/requests?reference_prefix=`.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::accounts::{Account, Credentials};
use crate::clock;
use crate::faults::FaultRule;
use crate::ledger::Kind;
use crate::state::{Shared, lock};

/// What the sandbox counts for tests.
#[derive(Debug, Default)]
pub struct Stats {
    /// Times a document of each reference became validated.
    pub issued: BTreeMap<String, u64>,
    /// The NIT of the company that issued each validated reference.
    pub issuers: BTreeMap<String, String>,
    /// Deletions per reference.
    pub deleted: BTreeMap<String, u64>,
    /// Real 429s answered (the rate limit).
    pub rate_limited: u64,
    /// 429s injected by faults.
    pub injected_rate_limited: u64,
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/_sandbox/accounts", post(add_account))
        .route("/_sandbox/faults", post(set_fault).delete(clear_faults))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/requests", get(requests))
}

fn refused(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"message": message}))).into_response()
}

async fn add_account(State(shared): State<Shared>, body: Bytes) -> Response {
    let credentials: Credentials = match serde_json::from_slice(&body) {
        Ok(credentials) => credentials,
        Err(error) => {
            return refused(&format!(
                "an account is {{client_id, client_secret, username, password, company?, rate_limit_per_minute?}}: {error}"
            ));
        }
    };
    let account = match Account::new(credentials, clock::now()) {
        Ok(account) => account,
        Err(error) => return refused(&format!("{error:#}")),
    };
    let mut sandbox = lock(&shared);
    let username = account.credentials.username.clone();
    if sandbox
        .accounts
        .iter()
        .any(|known| known.credentials.username == username)
    {
        return (
            StatusCode::CONFLICT,
            Json(json!({"message": "the username is taken"})),
        )
            .into_response();
    }
    tracing::info!(username, nit = %account.company.nit, "account added");
    let company = json!({"nit": account.company.nit, "dv": account.company.dv, "name": account.company.name});
    sandbox.accounts.push(account);
    (
        StatusCode::CREATED,
        Json(json!({"username": username, "company": company})),
    )
        .into_response()
}

async fn set_fault(State(shared): State<Shared>, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => return refused(&format!("not JSON: {error}")),
    };
    if !value.get("reference_prefix").is_some_and(Value::is_string) {
        return refused("a rule needs its reference_prefix");
    }
    let rule: FaultRule = match serde_json::from_value(value) {
        Ok(rule) => rule,
        Err(error) => return refused(&error.to_string()),
    };
    if let Some(problem) = rule.problem() {
        return refused(&problem);
    }
    tracing::info!(?rule, "fault rule set");
    lock(&shared).faults.set(rule);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> StatusCode {
    lock(&shared)
        .faults
        .clear(query.get("reference_prefix").map(String::as_str));
    StatusCode::NO_CONTENT
}

async fn stats(State(shared): State<Shared>, Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let prefix = query.get("reference_prefix").map_or("", String::as_str);
    let sandbox = lock(&shared);
    let counts = |counts: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
        counts
            .iter()
            .filter(|(reference, _)| reference.starts_with(prefix))
            .map(|(reference, count)| (reference.clone(), *count))
            .collect()
    };
    let pending: BTreeMap<String, &str> = sandbox
        .accounts
        .iter()
        .flat_map(|account| {
            [
                account.ledger(Kind::Bill).pending(),
                account.ledger(Kind::CreditNote).pending(),
            ]
        })
        .flatten()
        .filter(|document| document.reference_code.starts_with(prefix))
        .filter_map(|document| Some((document.reference_code.clone(), document.pending()?)))
        .collect();
    Json(json!({
        "issued": counts(&sandbox.stats.issued),
        "issuers": sandbox
            .stats
            .issuers
            .iter()
            .filter(|(reference, _)| reference.starts_with(prefix))
            .collect::<BTreeMap<_, _>>(),
        "pending": pending,
        "deleted": counts(&sandbox.stats.deleted),
        "rate_limited": sandbox.stats.rate_limited,
        "injected_rate_limited": sandbox.stats.injected_rate_limited,
    }))
}

async fn requests(State(shared): State<Shared>, Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let records = lock(&shared)
        .journal
        .matching(query.get("reference_prefix").map(String::as_str));
    Json(json!({"requests": records}))
}

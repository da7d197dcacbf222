//! `provider-sandbox`: a local stand-in for the Factus-compatible e-invoicing provider, so that
//! the whole submission flow runs offline. It speaks the provider's API (`POST /oauth/token`,
//! `POST /v1/bills/validate`, `GET /v1/bills?filter[reference_code]=`, `GET /v1/bills/show/{n}`,
//! `GET /v1/numbering-ranges`), numbers bills from DIAN testing ranges, computes the CUFE as DIAN
//! does, answers 409 with the existing bill for a reused reference code, rejects invalid
//! documents (and any item coded `SANDBOX-REJECT`) with messages, and injects faults.
//!
//! Test control: `POST /_sandbox/faults` (a [`faults::FaultRule`]), `DELETE /_sandbox/faults`
//! (`?reference_prefix=` for one), and `GET /_sandbox/stats?reference_prefix=`: how many bills
//! were issued per reference code.

mod bills;
mod faults;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use bills::{Bill, Range};
use faults::{ActiveRule, Fault, FaultRule};

/// How long a "timed out" answer is held: longer than any client waits.
const HELD_ANSWER: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Deserialize)]
struct Credentials {
    client_id: String,
    client_secret: String,
    username: String,
    password: String,
}

struct Sandbox {
    credentials: Credentials,
    issuer_nit: String,
    token_ttl: Duration,
    tokens: HashMap<String, Instant>,
    ranges: BTreeMap<u64, Range>,
    default_range: u64,
    bills: HashMap<String, Bill>,
    issued: BTreeMap<String, u64>,
    faults: Vec<ActiveRule>,
}

type Shared = Arc<Mutex<Sandbox>>;

fn lock(sandbox: &Shared) -> std::sync::MutexGuard<'_, Sandbox> {
    // A panic while holding the lock leaves data that is still consistent enough for a sandbox.
    sandbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

async fn token(State(sandbox): State<Shared>, Form(request): Form<TokenRequest>) -> Response {
    let mut sandbox = lock(&sandbox);
    let expected = &sandbox.credentials;
    let valid = request.grant_type == "password"
        && request.client_id.as_deref() == Some(expected.client_id.as_str())
        && request.client_secret.as_deref() == Some(expected.client_secret.as_str())
        && request.username.as_deref() == Some(expected.username.as_str())
        && request.password.as_deref() == Some(expected.password.as_str());
    if !valid {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_grant", "message": "Credenciales inválidas."}),
        );
    }
    let token = ulid::Ulid::generate().to_string();
    let ttl = sandbox.token_ttl;
    sandbox.tokens.insert(token.clone(), Instant::now() + ttl);
    answer(
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": ttl.as_secs(), "access_token": token, "refresh_token": ulid::Ulid::generate().to_string()}),
    )
}

fn authorized(sandbox: &Sandbox, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .and_then(|token| sandbox.tokens.get(token))
        .is_some_and(|expiry| Instant::now() < *expiry)
}

fn unauthenticated() -> Response {
    answer(StatusCode::UNAUTHORIZED, json!({"message": "Unauthenticated."}))
}

async fn validate(State(sandbox): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let reference = body
        .get("reference_code")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (fault, latency) = {
        let mut state = lock(&sandbox);
        if !authorized(&state, &headers) {
            return unauthenticated();
        }
        match faults::matching(&mut state.faults, &reference) {
            Some(rule) => (rule.draw(), Duration::from_millis(rule.rule.latency_ms)),
            None => (Fault::None, Duration::ZERO),
        }
    };
    tokio::time::sleep(latency).await;
    match fault {
        Fault::ServerError => {
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"message": "Servicio no disponible."}),
            );
        }
        Fault::RateLimited => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                Json(json!({"message": "Demasiadas solicitudes."})),
            )
                .into_response();
        }
        Fault::Timeout | Fault::None => {}
    }
    let outcome = submit(&sandbox, &body, &reference);
    if fault == Fault::Timeout {
        // Issued, but the answer comes too late: what a client cannot tell from a lost request.
        tokio::time::sleep(HELD_ANSWER).await;
    }
    outcome
}

fn submit(sandbox: &Shared, body: &Value, reference: &str) -> Response {
    let mut state = lock(sandbox);
    if let Some(existing) = state.bills.get(reference) {
        return answer(
            StatusCode::CONFLICT,
            json!({"status": "Conflict", "message": format!("Ya existe un documento con el código de referencia {reference}."), "data": existing.to_json()}),
        );
    }
    let errors = bills::validate(body, &state.ranges);
    if !errors.is_empty() {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"status": "Validation error", "message": "El documento tiene errores de validación.", "data": {"errors": errors}}),
        );
    }
    let range_id = body
        .get("numbering_range_id")
        .and_then(Value::as_u64)
        .unwrap_or(state.default_range);
    let issuer_nit = state.issuer_nit.clone();
    let Some(range) = state.ranges.get_mut(&range_id) else {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "El rango de numeración no existe."}),
        );
    };
    let bill = bills::issue(body, range, &issuer_nit, "2");
    let json = bill.to_json();
    state.bills.insert(reference.to_owned(), bill);
    *state.issued.entry(reference.to_owned()).or_default() += 1;
    answer(
        StatusCode::CREATED,
        json!({"status": "Created", "message": format!("Documento con el código de referencia {reference} registrado con éxito."), "data": json}),
    )
}

async fn list_bills(
    State(sandbox): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let state = lock(&sandbox);
    if !authorized(&state, &headers) {
        return unauthenticated();
    }
    let wanted = query.get("filter[reference_code]");
    let bills: Vec<Value> = state
        .bills
        .values()
        .filter(|bill| wanted.is_none_or(|reference| &bill.reference_code == reference))
        .map(|bill| {
            let mut json = bill.to_json();
            let customer = json["customer"].take();
            json["bill"]["customer"] = customer;
            json["bill"].take()
        })
        .collect();
    let total = bills.len();
    answer(
        StatusCode::OK,
        json!({"status": "OK", "data": {"data": bills, "pagination": {"total": total}}}),
    )
}

async fn show_bill(
    State(sandbox): State<Shared>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Response {
    let state = lock(&sandbox);
    if !authorized(&state, &headers) {
        return unauthenticated();
    }
    match state.bills.values().find(|bill| bill.number == number) {
        Some(bill) => answer(StatusCode::OK, json!({"status": "OK", "data": bill.to_json()})),
        None => answer(
            StatusCode::NOT_FOUND,
            json!({"message": "Documento no encontrado."}),
        ),
    }
}

async fn numbering_ranges(State(sandbox): State<Shared>, headers: HeaderMap) -> Response {
    let state = lock(&sandbox);
    if !authorized(&state, &headers) {
        return unauthenticated();
    }
    let ranges: Vec<Value> = state
        .ranges
        .values()
        .map(|r| json!({"id": r.id, "prefix": r.prefix, "current": r.next, "technical_key": r.technical_key}))
        .collect();
    answer(
        StatusCode::OK,
        json!({"status": "OK", "data": ranges, "issuer_nit": state.issuer_nit}),
    )
}

async fn set_fault(State(sandbox): State<Shared>, Json(rule): Json<FaultRule>) -> StatusCode {
    let mut state = lock(&sandbox);
    state
        .faults
        .retain(|active| active.rule.reference_prefix != rule.reference_prefix);
    state.faults.push(ActiveRule::new(rule));
    StatusCode::NO_CONTENT
}

async fn clear_faults(
    State(sandbox): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> StatusCode {
    let mut state = lock(&sandbox);
    match query.get("reference_prefix") {
        Some(prefix) => state
            .faults
            .retain(|active| &active.rule.reference_prefix != prefix),
        None => state.faults.clear(),
    }
    StatusCode::NO_CONTENT
}

async fn stats(State(sandbox): State<Shared>, Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let state = lock(&sandbox);
    let prefix = query.get("reference_prefix").cloned().unwrap_or_default();
    let issued: BTreeMap<&String, &u64> = state
        .issued
        .iter()
        .filter(|(reference, _)| reference.starts_with(&prefix))
        .collect();
    Json(json!({"issued": issued}))
}

struct Options {
    port: u16,
    credentials: Credentials,
    faults: Vec<FaultRule>,
    token_ttl: Duration,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        port: 0,
        credentials: Credentials {
            client_id: "sandbox".into(),
            client_secret: "sandbox".into(),
            username: "sandbox@example.com".into(),
            password: "sandbox".into(),
        },
        faults: Vec::new(),
        token_ttl: Duration::from_secs(600),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => options.port = value.parse()?,
            "--credentials" => options.credentials = serde_json::from_str(&value).context("--credentials")?,
            "--faults" => {
                options.faults =
                    serde_json::from_str(&value).context("--faults takes a JSON list of rules")?
            }
            "--token-ttl-seconds" => options.token_ttl = Duration::from_secs(value.parse()?),
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let options = options()?;
    let ranges = BTreeMap::from([(
        8,
        Range {
            id: 8,
            prefix: "SETP".into(),
            next: 990_000_001,
            // The technical key of DIAN's published testing example.
            technical_key: "693ff6f2a553c3646a063436fd4dd9ded0311471".into(),
        },
    )]);
    let sandbox = Arc::new(Mutex::new(Sandbox {
        credentials: options.credentials,
        issuer_nit: "900373076".into(),
        token_ttl: options.token_ttl,
        tokens: HashMap::new(),
        ranges,
        default_range: 8,
        bills: HashMap::new(),
        issued: BTreeMap::new(),
        faults: options.faults.into_iter().map(ActiveRule::new).collect(),
    }));
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/v1/bills/validate", post(validate))
        .route("/v1/bills", get(list_bills))
        .route("/v1/bills/show/{number}", get(show_bill))
        .route("/v1/numbering-ranges", get(numbering_ranges))
        .route("/_sandbox/faults", post(set_fault).delete(clear_faults))
        .route("/_sandbox/stats", get(stats))
        .with_state(sandbox);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
    tracing::info!("provider sandbox on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

//! `POST /v1/batches`: a lot of invoices in one upload, `application/json`
//! (`{"invoices": [...]}`) or `text/csv`, at most 5 MB and 10,000 invoices. Every invoice is
//! validated as `POST /v1/invoices` validates one; the valid ones are stored and queued in bulk
//! (see [`ingest`]), the invalid ones kept as the batch's errors. `?all_or_nothing=true` stores
//! nothing unless everything is valid. An `Idempotency-Key` is taken with an in-progress record
//! first: a twin arriving meanwhile gets 409 `IDEMPOTENCY_IN_PROGRESS`.

mod ingest;

use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use shared::auth::{Caller, Permission};
use shared::clock;
use shared::domain::batch::{InvalidInput, Parsed, Position, Refused, parse_json};
use shared::domain::batch_csv::parse_csv;
use shared::http::{ApiError, HandlerResult, Query, Request, body_bytes, header};
use shared::idempotency::{IdempotencyKey, replay};
use shared::services::Services;
use shared::store::Replay;
use shared::validation::FieldError;

/// Lambda takes 6 MB synchronously, and base64 inflates a binary body by a third.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// How long a batch's request may hold its idempotency key.
const KEY_LEASE_MS: i64 = 60_000;
/// The 202 lists the first invalid inputs, with their first errors; `GET .../errors` has all.
const INVALID_SHOWN: usize = 100;
const ERRORS_SHOWN: usize = 20;
/// A 422 lists at most this many problems (and says how many there are).
const DETAILS_SHOWN: usize = 10_000;

/// The kinds of upload.
enum Upload<'a> {
    Json,
    Csv { charset: Option<&'a str> },
}

fn upload_of(request: &Request) -> Result<Upload<'_>, ApiError> {
    let content_type = header(request, "content-type").unwrap_or_default();
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    let charset = parts
        .find_map(|p| p.strip_prefix("charset="))
        .map(|c| c.trim_matches('"'));
    match essence.as_str() {
        "application/json" => Ok(Upload::Json),
        "text/csv" => Ok(Upload::Csv { charset }),
        _ => Err(ApiError::UnsupportedMediaType(
            "a batch is application/json or text/csv".to_owned(),
        )),
    }
}

fn parse(upload: &Upload<'_>, body: &[u8]) -> Result<Parsed, ApiError> {
    let parsed = match upload {
        Upload::Json => {
            let json = shared::json::parse(body).map_err(|e| ApiError::InvalidJson(e.0))?;
            parse_json(&json)
        }
        Upload::Csv { charset } => parse_csv(body, *charset),
    };
    parsed.map_err(|refused| match refused {
        Refused::TooMany(count) => ApiError::PayloadTooLarge {
            limit: format!("10000 invoices (this batch has {count})"),
        },
        Refused::Unreadable { message, details } => ApiError::InvalidCsv { message, details },
        Refused::NotABatch(details) => ApiError::Validation(details),
    })
}

/// Every problem of every invalid input, as the details of a 422.
pub(crate) fn every_problem(invalid: &[InvalidInput]) -> ApiError {
    let mut details = Vec::new();
    for entry in invalid {
        for error in &entry.errors {
            let field = match (entry.index, error.line.or(entry.line)) {
                (Some(index), _) => format!("invoices[{index}].{}", error.field),
                (None, Some(line)) => format!("line {line}: {}", error.field),
                (None, None) => error.field.clone(),
            };
            details.push(FieldError::new(field, error.message.clone()));
        }
    }
    if details.len() > DETAILS_SHOWN {
        let total = details.len();
        details.truncate(DETAILS_SHOWN);
        details.push(FieldError::new(
            "batch",
            format!("{} more problems are not listed", total - DETAILS_SHOWN),
        ));
    }
    ApiError::Validation(details)
}

/// The 202's view of the invalid inputs: the first of them, with their first errors.
fn shown(invalid: &[InvalidInput]) -> Vec<Value> {
    invalid
        .iter()
        .take(INVALID_SHOWN)
        .map(|entry| {
            let mut view = serde_json::to_value(entry).unwrap_or(Value::Null);
            if entry.errors.len() > ERRORS_SHOWN {
                view["errors"] = json!(entry.errors[..ERRORS_SHOWN]);
                view["errors_not_shown"] = json!(entry.errors.len() - ERRORS_SHOWN);
            }
            view
        })
        .collect()
}

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Issue).await?;
    let all_or_nothing = Query::read(&request, &["all_or_nothing"])?.flag("all_or_nothing")?;
    let upload = upload_of(&request)?;
    let body = body_bytes(&request);
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: "5 MB".to_owned(),
        });
    }
    let key = IdempotencyKey::of(&request)?;
    let now = clock::now();
    if let Some(key) = &key {
        let taken = key.in_progress(now.unix_timestamp(), clock::epoch_ms(now) + KEY_LEASE_MS);
        if !services.store.begin_idempotent(&caller.org_id, &taken).await? {
            return replay(&services.store, &caller.org_id, key).await;
        }
    }
    let answer = match parse(&upload, body) {
        Ok(parsed) => ingest::ingest(services, &caller, parsed, all_or_nothing).await,
        Err(error) => Err(error),
    };
    if let Some(key) = &key {
        let kept = match &answer {
            Ok(body) => {
                let record = key.record(
                    StatusCode::ACCEPTED,
                    Replay::Body {
                        body: body.to_string(),
                    },
                    now.unix_timestamp(),
                );
                services.store.complete_idempotent(&caller.org_id, &record).await
            }
            // Nothing was stored: the key may serve again.
            Err(_) => {
                services
                    .store
                    .abandon_idempotent(&caller.org_id, &key.scope)
                    .await
            }
        };
        if let Err(error) = kept {
            tracing::error!(
                cause = format!("{error:#}"),
                "the idempotency record could not be kept"
            );
        }
    }
    answer.map(|body| shared::http::json(StatusCode::ACCEPTED, &body))
}

/// The 202 of a stored batch.
pub(crate) fn accepted(batch: &shared::store::BatchRecord, invalid: &[InvalidInput]) -> Value {
    json!({
        "id": batch.id,
        "status": batch.status,
        "total": batch.total,
        "invalid_count": invalid.len(),
        "invalid": shown(invalid),
    })
}

/// Where an input was, for logs.
pub(crate) fn describe(position: Position) -> String {
    match position {
        Position::Index(index) => format!("invoices[{index}]"),
        Position::Line(line) => format!("line {line}"),
    }
}

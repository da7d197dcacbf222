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
use shared::domain::batch::{Invalid, InvalidInput, Parsed, Position, Refused, parse_json};
use shared::domain::batch_csv::parse_csv;
use shared::http::{ApiError, HandlerResult, Query, Request, body_bytes, deadline_ms, header};
use shared::idempotency::{IdempotencyKey, replay};
use shared::numbering;
use shared::services::Services;
use shared::store::{OrganizationRecord, Replay};
use shared::validation::FieldError;

/// Lambda takes 6 MB synchronously, and base64 inflates a binary body by a third.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// How long past the function's own deadline a batch's ingest may still be recorded; then the
/// reconciler (every minute) fails what is left.
const INGEST_MARGIN_MS: i64 = 5_000;
/// How long past the ingest's deadline its idempotency key stays taken: until the reconciler has
/// run and taken back what a dead ingest stored.
const KEY_AFTER_DEADLINE_MS: i64 = 70_000;
/// The ingest's deadline when the request did not come through Lambda.
const INGEST_WITHOUT_DEADLINE_MS: i64 = 60_000;
/// The 202 lists the first invalid inputs; `GET .../errors` has every recorded one.
const INVALID_SHOWN: usize = 100;
/// The largest 202: its idempotency record must stay far under DynamoDB's 400 KB.
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// A 422 lists at most this many problems (and says how many there are).
const DETAILS_SHOWN: usize = 1_000;

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

/// Each valid invoice with its numbering range settled (`shared::numbering`): the
/// organization's default, or the one it names, which must be one of the account's (else it
/// is invalid).
async fn with_ranges(
    services: &Services,
    organization: &OrganizationRecord,
    parsed: Parsed,
) -> Result<Parsed, ApiError> {
    let Parsed { valid, mut invalid } = parsed;
    let named = valid.iter().any(|(_, input)| input.numbering_range_id.is_some());
    let ranges = match named {
        true => services.store.get_ranges(&organization.id).await?,
        false => None,
    };
    let defaults = &organization.default_numbering_ranges;
    let mut settled = Vec::with_capacity(valid.len());
    for (position, mut input) in valid {
        match numbering::settle(input.numbering_range_id, defaults, ranges.as_ref()) {
            Ok(range) => {
                input.numbering_range_id = range;
                settled.push((position, input));
            }
            Err(message) => {
                let code = input.reference_code.as_str();
                invalid.push(InvalidInput::of_field(
                    position,
                    code,
                    "numbering_range_id",
                    message,
                ));
            }
        }
    }
    invalid.sort();
    Ok(Parsed {
        valid: settled,
        invalid,
    })
}

/// The problems of the recorded invalid inputs, as the details of a 422, and how many more
/// there are.
pub(crate) fn every_problem(invalid: &Invalid) -> ApiError {
    let mut details = Vec::new();
    let mut not_listed = invalid.count() - invalid.recorded().len();
    for entry in invalid.recorded() {
        not_listed += entry.errors_not_shown;
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
        not_listed += details.len() - DETAILS_SHOWN;
        details.truncate(DETAILS_SHOWN);
    }
    if not_listed > 0 {
        details.push(FieldError::new(
            "batch",
            format!("{not_listed} more problems are not listed"),
        ));
    }
    ApiError::Validation(details)
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
    let organization = services.organization_served(&caller.org_id).await?;
    let now = clock::now();
    let ingest_deadline = deadline_ms(&request)
        .map_or(clock::epoch_ms(now) + INGEST_WITHOUT_DEADLINE_MS, |deadline| {
            deadline + INGEST_MARGIN_MS
        });
    if let Some(key) = &key {
        let taken = key.in_progress(now.unix_timestamp(), ingest_deadline + KEY_AFTER_DEADLINE_MS);
        if !services.store.begin_idempotent(&caller.org_id, &taken).await? {
            return replay(&services.store, &caller.org_id, key).await;
        }
    }
    let answer = match parse(&upload, body) {
        Ok(parsed) => match with_ranges(services, &organization, parsed).await {
            Ok(parsed) => ingest::ingest(services, &caller, parsed, all_or_nothing, ingest_deadline).await,
            Err(error) => Err(error),
        },
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

/// The 202 of a stored batch: its first invalid inputs, as recorded, as many as keep the answer
/// (which its idempotency record replays) under [`MAX_ANSWER_BYTES`].
pub(crate) fn accepted(batch: &shared::store::BatchRecord, invalid: &Invalid) -> Value {
    let mut shown = invalid.recorded().len().min(INVALID_SHOWN);
    loop {
        let answer = json!({
            "id": batch.id,
            "status": batch.status,
            "total": batch.total,
            "invalid_count": invalid.count(),
            "invalid": &invalid.recorded()[..shown],
        });
        if shown == 0 || answer.to_string().len() <= MAX_ANSWER_BYTES {
            return answer;
        }
        shown /= 2;
    }
}

/// Where an input was, for logs.
pub(crate) fn describe(position: Position) -> String {
    match position {
        Position::Index(index) => format!("invoices[{index}]"),
        Position::Line(line) => format!("line {line}"),
    }
}

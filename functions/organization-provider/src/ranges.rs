//! `GET /v1/organization/numbering-ranges`: the ranges of the account that serves the
//! organization, as last read if that was recently, else read from Factus now; and what the
//! organization must hear about them (the submission worker also checks them once an hour, and
//! counts those warnings for the alarm).

use std::time::Duration;

use lambda_http::http::StatusCode;
use serde_json::json;
use shared::auth::{Caller, Permission};
use shared::clock;
use shared::http::{ApiError, HandlerResult, Request};
use shared::provider::ranges::{NumberingRange, warnings};
use shared::provider::{CallError, Calls};
use shared::store::{OrganizationRecord, ReadRanges};
use shared::validation::FieldError;

use crate::Connections;

/// Time kept in hand before the request's deadline for answering.
const ANSWER_MARGIN_MS: i64 = 2_000;
/// The request's time when it says no deadline: the function's timeout (template.yaml).
const WITHOUT_DEADLINE_MS: i64 = 25_000;

pub async fn numbering_ranges(state: &Connections, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &state.services.tokens, Permission::Read).await?;
    let organization = state.services.organization_served(&caller.org_id).await?;
    let (ranges, fresh) = current(state, &organization, &request).await?;
    if let Some(read) = fresh {
        state.services.store.put_ranges(&caller.org_id, &read).await?;
    }
    Ok(answer(&ranges))
}

/// The ranges of the account that serves `organization` (which says since when): as last read
/// if that was within the directory's time, else read from Factus now, and then also as they
/// are to be kept once the caller has no objection.
pub async fn current(
    state: &Connections,
    organization: &OrganizationRecord,
    request: &Request,
) -> Result<(Vec<NumberingRange>, Option<ReadRanges>), ApiError> {
    let org_id = organization.id.as_str();
    let now_ms = clock::epoch_ms(clock::now());
    let kept_ms = i64::try_from(state.providers.ttl().as_millis()).unwrap_or(i64::MAX);
    if let Some(read) = state.services.store.get_ranges(org_id).await?
        && now_ms - read.read_at_ms < kept_ms
    {
        return Ok((read.ranges, None));
    }
    let connected_ms = organization
        .provider
        .as_ref()
        .and_then(|profile| clock::parse_rfc3339(&profile.verified_at))
        .map(clock::epoch_ms);
    let provider = state
        .providers
        .of_since(org_id, connected_ms)
        .await
        .map_err(refusal)?
        .ok_or(ApiError::ProviderNotConfigured)?;
    // No call starts later than a whole call's time (and a margin) before the request's
    // deadline: a slow Factus is a 503, never the function timing out.
    let call_ms = i64::try_from(state.providers.call_timeout().as_millis()).unwrap_or(i64::MAX / 2);
    let deadline = shared::http::deadline_ms(request).unwrap_or(now_ms + WITHOUT_DEADLINE_MS)
        - call_ms
        - ANSWER_MARGIN_MS;
    let ranges = provider
        .numbering_ranges(&Calls::new(0, deadline))
        .await
        .map_err(refusal)?;
    let read = ReadRanges {
        ranges: ranges.clone(),
        read_at_ms: clock::epoch_ms(clock::now()),
    };
    Ok((ranges, Some(read)))
}

fn answer(ranges: &[NumberingRange]) -> lambda_http::Response<lambda_http::Body> {
    let data: Vec<serde_json::Value> = ranges
        .iter()
        .map(|range| {
            let mut shown = json!(range);
            shown["remaining"] = json!(range.remaining());
            shown
        })
        .collect();
    let body = json!({
        "data": data,
        "next_cursor": null,
        "warnings": warnings(ranges, clock::now().date()),
    });
    shared::http::json(StatusCode::OK, &body)
}

/// A provider call that could not be made: 503 when it may work later, 409 when the account
/// itself cannot work (its credentials refused).
fn refusal(error: CallError) -> ApiError {
    match error {
        CallError::AccountProblem(reason) => ApiError::InvalidState(format!(
            "the organization's Factus account cannot be used: {reason}"
        )),
        CallError::Paced(wait) => unavailable(wait),
        CallError::Transient(cause) => {
            tracing::warn!(cause, "the numbering ranges could not be read: answering 503");
            unavailable(Duration::from_secs(5))
        }
    }
}

fn unavailable(wait: Duration) -> ApiError {
    ApiError::Unavailable {
        failing: vec![FieldError::new(
            "provider",
            "Factus cannot be reached at the moment",
        )],
        retry_after_seconds: wait.as_secs().max(1),
    }
}

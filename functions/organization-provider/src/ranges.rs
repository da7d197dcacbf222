//! `GET /v1/organization/numbering-ranges`: the ranges of the account that serves the
//! organization, as last read if that was recently, else read from Factus now; and what the
//! organization must hear about them (the submission worker also checks them once an hour, and
//! counts those warnings for the alarm).

use lambda_http::http::StatusCode;
use serde_json::json;
use shared::auth::{Caller, Permission};
use shared::clock;
use shared::http::{ApiError, HandlerResult, Request};
use shared::provider::in_request::{self, refusal};
use shared::provider::ranges::{NumberingRange, warnings};
use shared::store::{OrganizationRecord, ReadRanges};

use crate::Connections;

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
    let calls = in_request::calls_within(request, state.providers.call_timeout());
    let ranges = provider.numbering_ranges(&calls).await.map_err(refusal)?;
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

//! The check of a connected organization's numbering ranges, which the reconciler asks for once
//! an hour: read from Factus on the account's pace, kept for `GET /v1/organization`, and what
//! runs out or ends soon counted as `NumberingRangeWarnings`, which raises an alarm: so a range
//! about to stop the organization's invoices is heard of even when nobody looks.

use shared::clock;
use shared::metrics::Metrics;
use shared::provider::Calls;
use shared::provider::ranges::warnings;
use shared::store::ReadRanges;
use shared::submission::Submission;

/// How often a connected organization's ranges are checked (the alarm's period, template.yaml).
const CHECK_EVERY_MS: i64 = 3_600_000;

/// Checks `org_id`'s ranges; a check that cannot end now is left due, and the reconciler asks
/// for it again.
pub async fn check(submission: &Submission, org_id: &str, stop_ms: i64, metrics: &mut Metrics) {
    if let Err(cause) = read_and_keep(submission, org_id, stop_ms, metrics).await {
        tracing::warn!(
            org_id,
            cause,
            "the numbering ranges could not be checked: asked again later"
        );
    }
}

async fn read_and_keep(
    submission: &Submission,
    org_id: &str,
    stop_ms: i64,
    metrics: &mut Metrics,
) -> Result<(), String> {
    let store = &submission.services.store;
    let organization = store
        .get_organization(org_id)
        .await
        .map_err(|error| format!("{error:#}"))?;
    // Disconnected since the check was asked for: nothing to check.
    let Some(verified_at) = organization
        .and_then(|organization| organization.provider)
        .map(|profile| profile.verified_at)
    else {
        return Ok(());
    };
    let connected_ms = clock::parse_rfc3339(&verified_at).map(clock::epoch_ms);
    let provider = submission
        .providers
        .of_since(org_id, connected_ms)
        .await
        .map_err(|error| format!("{error:?}"))?
        .ok_or("no account serves the organization")?;
    let ranges = provider
        .numbering_ranges(&Calls::new(0, stop_ms))
        .await
        .map_err(|error| format!("{error:?}"))?;
    let now = clock::now();
    let found = warnings(&ranges, now.date());
    let read = ReadRanges {
        ranges,
        read_at_ms: clock::epoch_ms(now),
    };
    store
        .ranges_checked(org_id, &read, &verified_at, read.read_at_ms + CHECK_EVERY_MS)
        .await
        .map_err(|error| format!("{error:#}"))?;
    if !found.is_empty() {
        tracing::warn!(
            org_id,
            warnings = found.len(),
            "numbering ranges run out or end soon"
        );
    }
    metrics.count("NumberingRangeWarnings", found.len() as u64);
    Ok(())
}

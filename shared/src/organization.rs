//! The organization as the API shows it (`GET /v1/organization`): its profile, what may be
//! shown of its Factus account (never a credential but the username and a masked client id),
//! and what it must hear about its numbering ranges, as last read.

use serde_json::{Value, json};

use crate::store::{OrganizationRecord, ProviderProfile, ReadRanges};

/// `provider` of the organization: every field, `null` but `configured` when none is connected.
pub fn provider_view(profile: Option<&ProviderProfile>) -> Value {
    match profile {
        Some(profile) => json!({
            "configured": true,
            "environment": profile.environment,
            "username": profile.username,
            "client_id": profile.client_id,
            "company_name": profile.company_name,
            "verified_at": profile.verified_at,
        }),
        None => json!({
            "configured": false, "environment": null, "username": null, "client_id": null,
            "company_name": null, "verified_at": null,
        }),
    }
}

pub fn view(organization: &OrganizationRecord, ranges: Option<&ReadRanges>) -> Value {
    let warnings = ranges.map_or_else(Vec::new, |read| {
        crate::provider::ranges::warnings(&read.ranges, crate::clock::now().date())
    });
    json!({
        "id": organization.id,
        "name": organization.name,
        "nit": organization.nit,
        "dv": organization.dv,
        "created_at": organization.created_at,
        "provider": provider_view(organization.provider.as_ref()),
        "default_numbering_ranges": organization.default_numbering_ranges,
        "warnings": warnings,
    })
}

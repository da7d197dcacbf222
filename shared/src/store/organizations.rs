//! An organization's profile item (`ORG#<org>`, `ORG`): read for `GET /v1/organization`, and
//! what may be shown of its Factus account, set when one is connected and removed with it (the
//! credentials themselves live in Secrets Manager, never here); and its account's numbering
//! ranges as last read (`ORG#<org>`, `RANGES`), kept briefly.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{OrganizationRecord, Store, applied, item, key, keys, record};
use crate::provider::credentials::Environment;
use crate::provider::ranges::NumberingRange;

/// An account's numbering ranges as last read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRanges {
    pub ranges: Vec<NumberingRange>,
    /// When they were read (epoch ms).
    pub read_at_ms: i64,
}

/// What is shown of an organization's Factus account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderProfile {
    pub environment: Environment,
    pub username: String,
    /// Masked: its last four characters.
    pub client_id: String,
    /// The Factus company the account issues for, as Factus named it.
    pub company_name: String,
    pub verified_at: String,
}

impl Store {
    /// An update of the organization's profile item, only if it exists.
    fn profile_update(
        &self,
        org_id: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org(org_id), keys::ORG_PROFILE.to_owned())))
            .condition_expression("attribute_exists(PK)")
    }

    pub async fn get_organization(&self, org_id: &str) -> anyhow::Result<Option<OrganizationRecord>> {
        self.get(keys::org(org_id), keys::ORG_PROFILE.to_owned(), true)
            .await?
            .map(record)
            .transpose()
    }

    /// Sets (or, with `None`, removes) what is shown of the organization's Factus account, and
    /// drops its default numbering ranges (they were the old account's); `false` when the
    /// organization does not exist.
    pub async fn set_provider_profile(
        &self,
        org_id: &str,
        profile: Option<&ProviderProfile>,
    ) -> anyhow::Result<bool> {
        let update = self
            .profile_update(org_id)
            .expression_attribute_names("#p", "provider");
        // Default numbering ranges are the old account's: they go with it.
        let update = match profile {
            Some(profile) => update
                .update_expression("SET #p = :p REMOVE default_numbering_ranges")
                .expression_attribute_values(
                    ":p",
                    serde_dynamo::to_attribute_value::<_, AttributeValue>(profile)?,
                ),
            None => update.update_expression("REMOVE #p, default_numbering_ranges"),
        };
        applied(update.send().await)
    }

    /// Sets the organization's default numbering range per document type; `false` when the
    /// organization does not exist.
    pub async fn set_default_ranges(
        &self,
        org_id: &str,
        defaults: &std::collections::BTreeMap<String, u64>,
    ) -> anyhow::Result<bool> {
        let update = self
            .profile_update(org_id)
            .update_expression("SET default_numbering_ranges = :d")
            .expression_attribute_values(
                ":d",
                serde_dynamo::to_attribute_value::<_, AttributeValue>(defaults)?,
            );
        applied(update.send().await)
    }

    /// The organization's account's numbering ranges as last read, if they were.
    pub async fn get_ranges(&self, org_id: &str) -> anyhow::Result<Option<ReadRanges>> {
        self.get(keys::org(org_id), keys::NUMBERING_RANGES.to_owned(), false)
            .await?
            .map(record)
            .transpose()
    }

    pub async fn put_ranges(&self, org_id: &str, ranges: &ReadRanges) -> anyhow::Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(
                ranges,
                keys::org(org_id),
                keys::NUMBERING_RANGES.to_owned(),
            )?))
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        Ok(())
    }

    /// Forgets the ranges read (another account, or none, serves the organization now).
    pub async fn forget_ranges(&self, org_id: &str) -> anyhow::Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org(org_id), keys::NUMBERING_RANGES.to_owned())))
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        Ok(())
    }
}

//! An organization's profile item (`ORG#<org>`, `ORG`): read for `GET /v1/organization`, and
//! what may be shown of its Factus account, set when one is connected and removed with it (the
//! credentials themselves live in Secrets Manager, never here). While connected, the item is in
//! the recovery index (GSI3), due when its numbering ranges are to be checked next; and while
//! the account is being connected or disconnected, it holds that change's lease. The account's
//! numbering ranges as last read are their own item (`ORG#<org>`, `RANGES`).

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{OrganizationRecord, Store, applied, key, keys};
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
    /// An update of the organization's profile item.
    fn profile_item_update(&self, org_id: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org(org_id), keys::ORG_PROFILE.to_owned())))
    }

    /// An update of the organization's profile item, only if it exists.
    fn profile_update(&self, org_id: &str) -> UpdateItemFluentBuilder {
        self.profile_item_update(org_id)
            .condition_expression("attribute_exists(PK)")
    }

    pub async fn get_organization(&self, org_id: &str) -> anyhow::Result<Option<OrganizationRecord>> {
        self.get_record(keys::org(org_id), keys::ORG_PROFILE.to_owned(), true)
            .await
    }

    /// Sets (or, with `None`, removes) what is shown of the organization's Factus account, and
    /// drops its default numbering ranges (they were the old account's); `false` when the
    /// organization does not exist. A connected account's ranges are due to be checked at
    /// `now_ms`; a disconnected organization leaves the recovery index.
    pub async fn set_provider_profile(
        &self,
        org_id: &str,
        profile: Option<&ProviderProfile>,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let update = self
            .profile_update(org_id)
            .expression_attribute_names("#p", "provider");
        // Default numbering ranges are the old account's: they go with it.
        let update = match profile {
            Some(profile) => update
                .update_expression(
                    "SET #p = :p, GSI3PK = :shard, GSI3SK = :due REMOVE default_numbering_ranges",
                )
                .expression_attribute_values(
                    ":p",
                    serde_dynamo::to_attribute_value::<_, AttributeValue>(profile)?,
                )
                .expression_attribute_values(":shard", AttributeValue::S(keys::recovery_shard(org_id)))
                .expression_attribute_values(
                    ":due",
                    AttributeValue::S(keys::recovery_due(now_ms, org_id, org_id)),
                ),
            None => update.update_expression("REMOVE #p, default_numbering_ranges, GSI3PK, GSI3SK"),
        };
        applied(update.send().await)
    }

    /// Takes the lease of a change of the organization's account until `until_ms`: `false` when
    /// another change holds it (or the organization does not exist). A connection and a
    /// disconnection at once would leave the profile and the secret out of step.
    pub async fn begin_provider_change(
        &self,
        org_id: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> anyhow::Result<bool> {
        let update = self
            .profile_item_update(org_id)
            .update_expression("SET provider_change_until = :until")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(provider_change_until) OR provider_change_until < :now)",
            )
            .expression_attribute_values(":until", AttributeValue::N(until_ms.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string()));
        applied(update.send().await)
    }

    /// Gives back the lease [`Store::begin_provider_change`] took until `until_ms` (unless it
    /// had run out and another change took it).
    pub async fn end_provider_change(&self, org_id: &str, until_ms: i64) -> anyhow::Result<()> {
        let update = self
            .profile_item_update(org_id)
            .update_expression("REMOVE provider_change_until")
            .condition_expression("provider_change_until = :until")
            .expression_attribute_values(":until", AttributeValue::N(until_ms.to_string()));
        applied(update.send().await).map(|_| ())
    }

    /// Keeps ranges just checked, and makes the organization's next check due at `next_ms`,
    /// if the account connected at `verified_at` still serves it (another connection set its
    /// own; a disconnection took it out of the recovery index).
    pub async fn ranges_checked(
        &self,
        org_id: &str,
        read: &ReadRanges,
        verified_at: &str,
        next_ms: i64,
    ) -> anyhow::Result<()> {
        self.put_ranges(org_id, read).await?;
        let update = self
            .profile_item_update(org_id)
            .update_expression("SET GSI3SK = :due")
            .condition_expression("attribute_exists(GSI3PK) AND #p.verified_at = :verified")
            .expression_attribute_names("#p", "provider")
            .expression_attribute_values(
                ":due",
                AttributeValue::S(keys::recovery_due(next_ms, org_id, org_id)),
            )
            .expression_attribute_values(":verified", AttributeValue::S(verified_at.to_owned()));
        applied(update.send().await).map(|_| ())
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
        self.get_record(keys::org(org_id), keys::NUMBERING_RANGES.to_owned(), false)
            .await
    }

    /// Keeps ranges read (an update, not a put: the worker, which checks them, writes no
    /// whole items).
    pub async fn put_ranges(&self, org_id: &str, read: &ReadRanges) -> anyhow::Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org(org_id), keys::NUMBERING_RANGES.to_owned())))
            .update_expression("SET ranges = :ranges, read_at_ms = :at")
            .expression_attribute_values(
                ":ranges",
                serde_dynamo::to_attribute_value::<_, AttributeValue>(&read.ranges)?,
            )
            .expression_attribute_values(":at", AttributeValue::N(read.read_at_ms.to_string()))
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

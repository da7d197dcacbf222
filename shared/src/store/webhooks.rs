//! Webhook endpoints in the table, under their organization (`WEBHOOK#<id>`): at most
//! [`MAX_ENDPOINTS`] of them, counted on the organization's profile item in the same
//! transaction as each creation and deletion (so that two creations at once cannot make an
//! eleventh); replaced whole by a change, conditional on the version read.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::change::{Change, n, s};
use super::{Store, applied, keys};
use crate::webhooks::{EventType, MAX_ENDPOINTS};

/// A secret that signs deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecret {
    pub secret: String,
    /// Epoch ms after which it no longer signs (the old secret of a rotation); `None` for the
    /// current one.
    pub expires_at_ms: Option<i64>,
}

/// An endpoint as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub organization_id: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why it was disabled by invoicer (a 410 from the endpoint), if it was.
    pub disabled_reason: Option<String>,
    /// The current secret first.
    pub secrets: Vec<SigningSecret>,
    pub created_at: String,
    pub updated_at: String,
    /// Moves with every change: what a change is conditional on.
    pub version: u64,
}

impl WebhookEndpoint {
    /// The secrets that sign a delivery at `now_ms`.
    pub fn signing_secrets(&self, now_ms: i64) -> Vec<&str> {
        self.secrets
            .iter()
            .filter(|secret| secret.expires_at_ms.is_none_or(|at| at > now_ms))
            .map(|secret| secret.secret.as_str())
            .collect()
    }

    /// The endpoint as the API shows it: never its secrets.
    pub fn view(&self, now_ms: i64) -> serde_json::Value {
        let rotating_until = self
            .secrets
            .iter()
            .filter_map(|secret| secret.expires_at_ms)
            .find(|at| *at > now_ms)
            .map(crate::clock::rfc3339_of_ms);
        serde_json::json!({
            "id": self.id,
            "url": self.url,
            "events": self.events,
            "description": self.description,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "previous_secret_expires_at": rotating_until,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// Why an endpoint was not stored.
#[derive(Debug, thiserror::Error)]
pub enum WebhookWriteError {
    #[error("the organization has {MAX_ENDPOINTS} webhook endpoints already")]
    TooMany,
    /// Changed (or deleted) since it was read.
    #[error("the endpoint changed since it was read")]
    Changed,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

const PREFIX: &str = "WEBHOOK#";

fn endpoint_key(id: &str) -> String {
    format!("{PREFIX}{id}")
}

impl Store {
    /// The change of the organization's count of endpoints by `by`, refused past the limit.
    fn endpoint_count(org_id: &str, by: i64) -> Change {
        let change = Change::new(
            keys::org(org_id),
            keys::ORG_PROFILE.to_owned(),
            "ADD webhook_count :by",
        )
        .value(":by", n(by));
        if by > 0 {
            change
                .condition(
                    "attribute_exists(PK) AND (attribute_not_exists(webhook_count) OR webhook_count < :max)",
                )
                .value(":max", n(MAX_ENDPOINTS))
        } else {
            change.condition("attribute_exists(PK)")
        }
    }

    /// Stores a new endpoint, counted on its organization.
    pub async fn create_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), WebhookWriteError> {
        let org = &endpoint.organization_id;
        let item = super::item(endpoint, keys::org(org), endpoint_key(&endpoint.id))?;
        let actions = vec![
            self.put_if_absent(item)?,
            Self::endpoint_count(org, 1).into_action(&self.table)?,
        ];
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(refusal) if refusal.at(1) => Err(WebhookWriteError::TooMany),
            Err(refusal) => Err(refusal.into_error("storing a webhook endpoint").into()),
        }
    }

    /// The organization's endpoints, oldest first.
    pub async fn list_webhooks(&self, org_id: &str) -> anyhow::Result<Vec<WebhookEndpoint>> {
        let limit = u32::try_from(MAX_ENDPOINTS)? + 1;
        let (endpoints, _) = self.query_prefix(org_id, PREFIX, true, limit, None).await?;
        Ok(endpoints)
    }

    pub async fn get_webhook(&self, org_id: &str, id: &str) -> anyhow::Result<Option<WebhookEndpoint>> {
        self.get_record(keys::org(org_id), endpoint_key(id), true).await
    }

    /// Replaces an endpoint read at version `endpoint.version - 1`.
    pub async fn replace_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), WebhookWriteError> {
        let item = super::item(
            endpoint,
            keys::org(&endpoint.organization_id),
            endpoint_key(&endpoint.id),
        )?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("version = :read")
            .expression_attribute_values(
                ":read",
                n(i64::try_from(endpoint.version).unwrap_or(i64::MAX) - 1),
            );
        if applied(put.send().await)? {
            Ok(())
        } else {
            Err(WebhookWriteError::Changed)
        }
    }

    /// Disables an endpoint whose `url` answered 410 Gone, whatever else changed since it was
    /// read (its events, its secret); nothing if it was deleted or now points elsewhere.
    pub async fn disable_webhook(
        &self,
        org_id: &str,
        id: &str,
        url: &str,
        reason: &str,
    ) -> anyhow::Result<()> {
        let change = Change::new(
            keys::org(org_id),
            endpoint_key(id),
            "SET enabled = :false, disabled_reason = :reason, updated_at = :now ADD version :one",
        )
        .condition("#url = :url")
        .name("#url", "url")
        .value(":url", s(url))
        .value(":false", AttributeValue::Bool(false))
        .value(":reason", s(reason))
        .value(":now", s(crate::clock::rfc3339(crate::clock::now())))
        .value(":one", n(1));
        self.apply(change).await.map(|_| ())
    }

    /// Deletes an endpoint, uncounted from its organization; `Changed` when it was not there.
    pub async fn delete_webhook(&self, org_id: &str, id: &str) -> Result<(), WebhookWriteError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(super::key(keys::org(org_id), endpoint_key(id))))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(anyhow::Error::from)?;
        let actions = vec![
            TransactWriteItem::builder().delete(delete).build(),
            Self::endpoint_count(org_id, -1).into_action(&self.table)?,
        ];
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(refusal) if refusal.at(0) => Err(WebhookWriteError::Changed),
            Err(refusal) => Err(refusal.into_error("deleting a webhook endpoint").into()),
        }
    }
}

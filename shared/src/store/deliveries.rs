//! Webhook deliveries in the table: one per (endpoint, event), under the organization
//! (`DELIVERY#<webhook>#<event>`, so an endpoint's list is newest first), kept 30 days (TTL).
//! Written by the fan-out (created `pending`, once however often it runs), then replaced whole,
//! conditional on the version read, by each attempt's claim and outcome and by a redelivery: of
//! two messages of one delivery, one wins and the other is dropped. While pending, a delivery
//! sits in the recovery index a minute past its next attempt, so that one whose message was
//! lost (its queue's dead-letter queue, a failed send) is queued again by the reconciler.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::change::n;
use super::{Item, PageKey, Store, applied, keys};
use crate::queue::DeliveryMessage;
use crate::webhooks::EventType;

/// How long past its next attempt a pending delivery waits for its message before the
/// reconciler queues it again.
const SWEEP_AFTER_MS: i64 = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One event's delivery to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub organization_id: String,
    pub webhook_id: String,
    /// Also the delivery's id: one delivery per event and endpoint.
    pub event_id: String,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    /// When the next attempt is due (epoch ms), while pending.
    pub next_attempt_at_ms: Option<i64>,
    /// When its attempts began (epoch ms): retries stop 24 hours later.
    pub started_at_ms: i64,
    pub created_at: String,
    pub updated_at: String,
    pub delivered_at: Option<String>,
    pub expires_at: i64,
    /// Moves with every write: what a write is conditional on, and what a message names.
    #[serde(default)]
    pub version: u64,
    /// Until when (epoch ms) an attempt holds it: a redelivery waits for the attempt's end.
    #[serde(default)]
    pub claimed_until_ms: Option<i64>,
}

impl Delivery {
    /// A new delivery of `event` to the endpoint `webhook_id`, due now.
    pub fn new(event: &super::EventRecord, webhook_id: &str, now: time::OffsetDateTime) -> Self {
        let now_ms = crate::clock::epoch_ms(now);
        Self {
            organization_id: event.organization_id.clone(),
            webhook_id: webhook_id.to_owned(),
            event_id: event.id.clone(),
            event_type: event.event_type,
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status_code: None,
            last_error: None,
            next_attempt_at_ms: Some(now_ms),
            started_at_ms: now_ms,
            created_at: crate::clock::rfc3339(now),
            updated_at: crate::clock::rfc3339(now),
            delivered_at: None,
            expires_at: now.unix_timestamp() + super::EVENT_RETENTION_SECONDS,
            version: 0,
            claimed_until_ms: None,
        }
    }

    /// The message that has this delivery, as it is now, attempted.
    pub fn message(&self) -> DeliveryMessage {
        DeliveryMessage {
            org_id: self.organization_id.clone(),
            webhook_id: self.webhook_id.clone(),
            event_id: self.event_id.clone(),
            version: Some(self.version),
        }
    }

    /// The delivery as the API shows it.
    pub fn view(&self) -> Value {
        json!({
            "id": self.event_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at_ms.map(crate::clock::rfc3339_of_ms),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "delivered_at": self.delivered_at,
        })
    }
}

/// A delivery's id in the recovery index: `<webhook>#<event>`.
pub fn recovery_id(webhook_id: &str, event_id: &str) -> String {
    format!("{webhook_id}#{event_id}")
}

pub(crate) fn delivery_key(recovery_id: &str) -> String {
    format!("{}{recovery_id}", keys::DELIVERY_PREFIX)
}

/// The item of a delivery; a pending one is in the recovery index.
fn delivery_item(delivery: &Delivery) -> anyhow::Result<Item> {
    let id = recovery_id(&delivery.webhook_id, &delivery.event_id);
    let mut item: Item = super::item(delivery, keys::org(&delivery.organization_id), delivery_key(&id))?;
    if let (DeliveryStatus::Pending, Some(next_ms)) = (delivery.status, delivery.next_attempt_at_ms) {
        item.insert(
            "GSI3PK".to_owned(),
            AttributeValue::S(keys::recovery_shard(&delivery.event_id)),
        );
        item.insert(
            "GSI3SK".to_owned(),
            AttributeValue::S(keys::recovery_due(
                next_ms + SWEEP_AFTER_MS,
                &delivery.organization_id,
                &id,
            )),
        );
    }
    Ok(item)
}

impl Store {
    /// Stores a new delivery; `false` when it exists already (the fan-out ran before).
    pub async fn create_delivery(&self, delivery: &Delivery) -> anyhow::Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_item(delivery)?))
            .condition_expression("attribute_not_exists(PK)");
        applied(put.send().await)
    }

    /// Replaces a delivery read at `delivery.version` with its new state, one version on;
    /// `false` (and nothing written) when it changed since it was read.
    pub async fn replace_delivery(&self, delivery: &mut Delivery) -> anyhow::Result<bool> {
        let read = delivery.version;
        delivery.version += 1;
        // A delivery stored before versions were counted has none: it reads as 0.
        let condition = if read == 0 {
            "attribute_not_exists(version) OR version = :read"
        } else {
            "version = :read"
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_item(delivery)?))
            .condition_expression(condition)
            .expression_attribute_values(":read", n(i64::try_from(read)?));
        applied(put.send().await)
    }

    /// A delivery; `None` once it expired (TTL deletes it within days).
    pub async fn get_delivery(
        &self,
        org_id: &str,
        webhook_id: &str,
        event_id: &str,
    ) -> anyhow::Result<Option<Delivery>> {
        let delivery: Option<Delivery> = self
            .get_record(
                keys::org(org_id),
                delivery_key(&recovery_id(webhook_id, event_id)),
                true,
            )
            .await?;
        let now = crate::clock::now().unix_timestamp();
        Ok(delivery.filter(|delivery| delivery.expires_at > now))
    }

    /// A page of an endpoint's deliveries, newest first, of `status` if given (a filtered page
    /// may come back short, with a cursor).
    pub async fn list_deliveries(
        &self,
        org_id: &str,
        webhook_id: &str,
        status: Option<DeliveryStatus>,
        limit: u32,
        after: Option<&PageKey>,
    ) -> anyhow::Result<(Vec<Delivery>, Option<PageKey>)> {
        let prefix = delivery_key(&format!("{webhook_id}#"));
        let (mut deliveries, next): (Vec<Delivery>, _) =
            self.query_prefix(org_id, &prefix, false, limit, after).await?;
        if let Some(status) = status {
            deliveries.retain(|delivery| delivery.status == status);
        }
        Ok((deliveries, next))
    }
}

//! Webhook events in the table, the outbox: each is written in the same transaction as the state
//! change it reports (an invoice's or a credit note's end, a batch's completion), so neither
//! exists without the other. Once written it is announced on the webhooks queue, which fans it
//! out to the organization's endpoints; until the fan-out is done it sits in the recovery index,
//! so that a lost announcement is made again by the reconciler. Events expire after 30 days.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Item, Store, applied, key, keys, record};
use crate::queue::{EventMessage, WebhookMessage};
use crate::webhooks::EventType;

/// How long events (and deliveries) are kept.
pub const EVENT_RETENTION_SECONDS: i64 = 30 * 24 * 60 * 60;
/// When the reconciler announces an event again whose fan-out did not happen.
const ANNOUNCE_AGAIN_AFTER_MS: i64 = 60_000;

/// An event, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: String,
    pub organization_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub created_at: String,
    pub created_at_ms: i64,
    /// The resource as its GET answered right after the change, as JSON.
    pub data: String,
    pub expires_at: i64,
}

impl EventRecord {
    /// A new event of `event_type` about `data`, at `now`.
    pub fn new(
        organization_id: &str,
        event_type: EventType,
        data: &Value,
        now: time::OffsetDateTime,
    ) -> Self {
        Self {
            id: crate::ids::new_id(),
            organization_id: organization_id.to_owned(),
            event_type,
            created_at: crate::clock::rfc3339(now),
            created_at_ms: crate::clock::epoch_ms(now),
            data: data.to_string(),
            expires_at: now.unix_timestamp() + EVENT_RETENTION_SECONDS,
        }
    }

    /// What a delivery posts: `{"id","type","created_at","organization_id","data"}`.
    pub fn body(&self) -> String {
        let data: Value = serde_json::from_str(&self.data).unwrap_or(Value::Null);
        serde_json::json!({
            "id": self.id,
            "type": self.event_type,
            "created_at": self.created_at,
            "organization_id": self.organization_id,
            "data": data,
        })
        .to_string()
    }
}

impl Store {
    /// The put of a new event, due for announcement by the reconciler should its own be lost.
    pub(crate) fn event_action(&self, event: &EventRecord) -> anyhow::Result<TransactWriteItem> {
        let mut item: Item = super::item(
            event,
            keys::event_partition(&event.organization_id, &event.id),
            keys::event(&event.id),
        )?;
        item.insert(
            "GSI3PK".to_owned(),
            AttributeValue::S(keys::recovery_shard(&event.id)),
        );
        item.insert(
            "GSI3SK".to_owned(),
            AttributeValue::S(keys::recovery_due(
                event.created_at_ms + ANNOUNCE_AGAIN_AFTER_MS,
                &event.organization_id,
                &event.id,
            )),
        );
        self.put_if_absent(item)
    }

    /// Stores an event no state change reports and nobody fans out (`webhook.test`: its one
    /// delivery is made by who stores it).
    pub async fn put_event(&self, event: &EventRecord) -> anyhow::Result<()> {
        let item = super::item(
            event,
            keys::event_partition(&event.organization_id, &event.id),
            keys::event(&event.id),
        )?;
        self.put(item).await
    }

    pub async fn get_event(&self, org_id: &str, event_id: &str) -> anyhow::Result<Option<EventRecord>> {
        self.get(
            keys::event_partition(org_id, event_id),
            keys::event(event_id),
            true,
        )
        .await?
        .map(record)
        .transpose()
    }

    /// Takes a fanned-out event out of the recovery index.
    pub async fn event_fanned_out(&self, org_id: &str, event_id: &str) -> anyhow::Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::event_partition(org_id, event_id),
                keys::event(event_id),
            )))
            .update_expression("REMOVE GSI3PK, GSI3SK")
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        applied(result).map(|_| ())
    }

    /// Announces events just written on the webhooks queue, if this store was given one; a
    /// failed announcement is logged: the reconciler makes it again.
    pub(crate) async fn announce(&self, events: &[EventRecord]) {
        let Some(queue) = &self.announcer else {
            return;
        };
        let messages: Vec<WebhookMessage> = events
            .iter()
            .map(|event| {
                WebhookMessage::Event(EventMessage {
                    org_id: event.organization_id.clone(),
                    event_id: event.id.clone(),
                })
            })
            .collect();
        match queue.send_all(&messages).await {
            Ok(unsent) if unsent.is_empty() => {}
            Ok(unsent) => tracing::warn!(
                unsent = unsent.len(),
                "events stored but not announced: the reconciler announces them"
            ),
            Err(error) => tracing::warn!(
                cause = format!("{error:#}"),
                "events stored but not announced: the reconciler announces them"
            ),
        }
    }
}

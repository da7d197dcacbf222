//! Webhook events in the table, the outbox: each is written in the same transaction as the state
//! change it reports (an invoice's or a credit note's end, a batch's completion), so neither
//! exists without the other. Once written it is announced on the webhooks queue, which fans it
//! out to the organization's endpoints; until the fan-out is done it sits in the recovery index,
//! so that a lost announcement is made again by the reconciler. Events expire after 30 days.
//! An event's data larger than one item holds (an invoice of hundreds of lines) is split over
//! part items (`EVT#<id>#PART#<n>`) written in the same transaction.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::change::n;
use super::{Item, Store, applied, key, keys, record};
use crate::queue::{EventMessage, WebhookMessage};
use crate::webhooks::EventType;

/// How long events (and deliveries) are kept.
pub const EVENT_RETENTION_SECONDS: i64 = 30 * 24 * 60 * 60;
/// When the reconciler announces an event again whose fan-out did not happen.
const ANNOUNCE_AGAIN_AFTER_MS: i64 = 60_000;
/// The most bytes of data an event item holds; the rest goes into parts of as much each, under
/// DynamoDB's 400 KB an item.
const PART_BYTES: usize = 300_000;

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

    /// How many items the event takes: itself, and the parts of its data.
    pub(crate) fn items(&self) -> usize {
        parts(&self.data, PART_BYTES).len()
    }
}

/// `text` in pieces of at most `most` bytes, cut between characters.
fn parts(text: &str, most: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > most {
        let mut end = most;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);
    pieces
}

fn part_key(event_id: &str, part: usize) -> String {
    format!("{}#PART#{part:03}", keys::event(event_id))
}

impl Store {
    /// The items of an event: itself (with the first part of its data, and how many parts
    /// follow) and its parts.
    fn event_items(event: &EventRecord) -> anyhow::Result<Vec<Item>> {
        let partition = keys::event_partition(&event.organization_id, &event.id);
        let mut item: Item = super::item(event, partition.clone(), keys::event(&event.id))?;
        let pieces = parts(&event.data, PART_BYTES);
        let mut items = Vec::with_capacity(pieces.len());
        if let [first, rest @ ..] = pieces.as_slice()
            && !rest.is_empty()
        {
            item.insert("data".to_owned(), AttributeValue::S((*first).to_owned()));
            item.insert("parts".to_owned(), n(i64::try_from(rest.len())?));
            for (index, piece) in rest.iter().enumerate() {
                let mut part = key(partition.clone(), part_key(&event.id, index + 1));
                part.insert("data".to_owned(), AttributeValue::S((*piece).to_owned()));
                part.insert("expires_at".to_owned(), n(event.expires_at));
                items.push(part);
            }
        }
        items.insert(0, item);
        Ok(items)
    }

    /// The puts of a new event, due for announcement by the reconciler should its own be lost.
    pub(crate) fn event_actions(&self, event: &EventRecord) -> anyhow::Result<Vec<TransactWriteItem>> {
        let mut items = Self::event_items(event)?;
        let item = &mut items[0];
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
        items.into_iter().map(|item| self.put_if_absent(item)).collect()
    }

    /// Stores an event no state change reports and nobody fans out (`webhook.test`: its one
    /// delivery is made by who stores it).
    pub async fn put_event(&self, event: &EventRecord) -> anyhow::Result<()> {
        for item in Self::event_items(event)? {
            self.put(item).await?;
        }
        Ok(())
    }

    /// An event, its data whole; `None` once it expired (TTL deletes its items within days,
    /// not all at once: a part gone is the event gone).
    pub async fn get_event(&self, org_id: &str, event_id: &str) -> anyhow::Result<Option<EventRecord>> {
        let partition = keys::event_partition(org_id, event_id);
        let Some(item) = self.get(partition.clone(), keys::event(event_id), true).await? else {
            return Ok(None);
        };
        let parts = item
            .get("parts")
            .and_then(|count| count.as_n().ok())
            .and_then(|count| count.parse::<usize>().ok())
            .unwrap_or(0);
        let mut event: EventRecord = record(item)?;
        if event.expires_at <= crate::clock::now().unix_timestamp() {
            return Ok(None);
        }
        for part in 1..=parts {
            let piece = self
                .get(partition.clone(), part_key(event_id, part), true)
                .await?;
            match piece.as_ref().and_then(|piece| piece.get("data")) {
                Some(AttributeValue::S(text)) => event.data.push_str(text),
                _ => return Ok(None),
            }
        }
        Ok(Some(event))
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
    pub(crate) async fn announce<'a>(&self, events: impl IntoIterator<Item = &'a EventRecord>) {
        let Some(queue) = &self.announcer else {
            return;
        };
        let messages: Vec<WebhookMessage> = events
            .into_iter()
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

#[cfg(test)]
mod tests {
    use super::parts;

    #[test]
    fn data_is_cut_between_characters_and_put_back_whole() {
        let text = "añ€😀".repeat(1_000);
        for most in [1, 3, 4, 7, 1_000, text.len()] {
            let pieces = parts(&text, most.max(4));
            assert!(pieces.iter().all(|piece| piece.len() <= most.max(4)));
            assert_eq!(pieces.concat(), text);
        }
        assert_eq!(parts("small", 300_000), vec!["small"]);
        assert_eq!(parts("", 10), vec![""]);
    }
}

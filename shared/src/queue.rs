//! The queues: small messages naming what to work on (read from the table), for the submissions
//! queue the invoices and credit notes to submit, for the webhooks queue the events to fan out
//! and the deliveries to make. The X-Ray trace context travels as the `AWSTraceHeader` system
//! attribute, which Lambda's SQS event source passes on to the worker's trace.

use anyhow::Context;
use aws_sdk_sqs::types::{
    MessageSystemAttributeNameForSends, MessageSystemAttributeValue, SendMessageBatchRequestEntry,
};
use serde::{Deserialize, Serialize};

use crate::aws::SdkConfig;
use crate::invoices::Kind;

/// One invoice to submit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceMessage {
    pub org_id: String,
    pub invoice_id: String,
}

impl InvoiceMessage {
    pub fn new(org_id: &str, invoice_id: &str) -> Self {
        Self {
            org_id: org_id.to_owned(),
            invoice_id: invoice_id.to_owned(),
        }
    }
}

/// Many invoices of one batch to submit: a 10,000-invoice batch is a few hundred messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkMessage {
    pub org_id: String,
    pub batch_id: String,
    pub invoice_ids: Vec<String>,
}

/// Invoices a chunk message names at most: a storing group's.
pub const CHUNK_SIZE: usize = 50;

impl ChunkMessage {
    /// The chunk messages of a batch's invoices, [`CHUNK_SIZE`] invoices each.
    pub fn all(org_id: &str, batch_id: &str, invoice_ids: &[String]) -> Vec<SubmissionMessage> {
        invoice_ids
            .chunks(CHUNK_SIZE)
            .map(|ids| {
                SubmissionMessage::Chunk(ChunkMessage {
                    org_id: org_id.to_owned(),
                    batch_id: batch_id.to_owned(),
                    invoice_ids: ids.to_vec(),
                })
            })
            .collect()
    }
}

/// A check of an organization's numbering ranges (the reconciler asks for one per connected
/// organization, once an hour): the worker reads them on the account's pace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangesCheckMessage {
    pub numbering_ranges_of: String,
}

/// One credit note to submit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteMessage {
    pub org_id: String,
    pub credit_note_id: String,
}

/// A message of the submissions queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SubmissionMessage {
    Invoice(InvoiceMessage),
    Chunk(ChunkMessage),
    RangesCheck(RangesCheckMessage),
    CreditNote(CreditNoteMessage),
}

impl SubmissionMessage {
    /// The message that submits one document of `kind`.
    pub fn single(kind: Kind, org_id: &str, id: &str) -> Self {
        match kind {
            Kind::Invoice => Self::Invoice(InvoiceMessage::new(org_id, id)),
            Kind::CreditNote => Self::CreditNote(CreditNoteMessage {
                org_id: org_id.to_owned(),
                credit_note_id: id.to_owned(),
            }),
        }
    }

    /// The (kind, organization, id) of each document the message names.
    pub fn documents(&self) -> Vec<(Kind, String, String)> {
        match self {
            Self::Invoice(single) => vec![(Kind::Invoice, single.org_id.clone(), single.invoice_id.clone())],
            Self::Chunk(chunk) => chunk
                .invoice_ids
                .iter()
                .map(|id| (Kind::Invoice, chunk.org_id.clone(), id.clone()))
                .collect(),
            Self::CreditNote(note) => {
                vec![(Kind::CreditNote, note.org_id.clone(), note.credit_note_id.clone())]
            }
            Self::RangesCheck(_) => Vec::new(),
        }
    }
}

/// A message of the webhooks queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WebhookMessage {
    /// Deliver an event to one endpoint.
    Delivery(DeliveryMessage),
    /// Fan an event out to the organization's endpoints that subscribe to it.
    Event(EventMessage),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMessage {
    pub org_id: String,
    pub event_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryMessage {
    pub org_id: String,
    pub webhook_id: String,
    pub event_id: String,
    /// The version of the delivery the message was sent for: a message of an older version is
    /// stale (the delivery was attempted or redelivered since) and dropped. `None` (the
    /// reconciler's, for a delivery whose message was lost) takes the delivery as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
}

/// SQS's largest `SendMessageBatch`.
const BATCH_LIMIT: usize = 10;
/// Tries of the entries of a `SendMessageBatch` that SQS refused.
const SEND_TRIES: u32 = 3;

/// The trace header of the current invocation, when Lambda traces it.
pub fn current_trace_header() -> Option<String> {
    std::env::var("_X_AMZN_TRACE_ID")
        .ok()
        .filter(|header| !header.is_empty())
}

fn trace_attribute(trace: &str) -> anyhow::Result<MessageSystemAttributeValue> {
    Ok(MessageSystemAttributeValue::builder()
        .data_type("String")
        .string_value(trace)
        .build()?)
}

impl Queue {
    pub fn new(sdk: &SdkConfig, url: &str) -> Self {
        Self {
            client: crate::aws::sqs(sdk),
            url: url.to_owned(),
        }
    }

    /// Sends a message, invisible for `delay_seconds` (at most 900).
    pub async fn send(&self, message: &impl Serialize, delay_seconds: i32) -> anyhow::Result<()> {
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(serde_json::to_string(message)?)
            .delay_seconds(delay_seconds.clamp(0, 900));
        if let Some(trace) = current_trace_header() {
            request = request.message_system_attributes(
                MessageSystemAttributeNameForSends::AwsTraceHeader,
                trace_attribute(&trace)?,
            );
        }
        request
            .send()
            .await
            .map_err(aws_sdk_sqs::Error::from)
            .context("sending a message")?;
        Ok(())
    }

    /// Hides a received message for `seconds` more: its next delivery waits that long.
    pub async fn postpone(&self, receipt_handle: &str, seconds: i32) -> anyhow::Result<()> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds.clamp(0, 43_200))
            .send()
            .await
            .map_err(aws_sdk_sqs::Error::from)
            .context("changing a message's visibility")?;
        Ok(())
    }

    /// Sends many messages, ten per call, sending again the entries SQS refuses (a few times);
    /// answers the messages that could not be sent.
    pub async fn send_all<M: Serialize + Clone>(&self, messages: &[M]) -> anyhow::Result<Vec<M>> {
        let mut unsent = Vec::new();
        for chunk in messages.chunks(BATCH_LIMIT) {
            let mut pending: Vec<&M> = chunk.iter().collect();
            for attempt in 0..SEND_TRIES {
                let entries = pending
                    .iter()
                    .enumerate()
                    .map(|(index, message)| {
                        Ok(SendMessageBatchRequestEntry::builder()
                            .id(index.to_string())
                            .message_body(serde_json::to_string(message)?)
                            .build()?)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let output = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(aws_sdk_sqs::Error::from)
                    .context("sending messages")?;
                let failed: Vec<usize> = output
                    .failed()
                    .iter()
                    .filter_map(|f| f.id().parse().ok())
                    .collect();
                pending = failed
                    .iter()
                    .filter_map(|index| pending.get(*index).copied())
                    .collect();
                if pending.is_empty() {
                    break;
                }
                if attempt + 1 < SEND_TRIES {
                    tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
                }
            }
            unsent.extend(pending.into_iter().cloned());
        }
        Ok(unsent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_message_kinds_read_and_nothing_else_does() {
        let single: SubmissionMessage = serde_json::from_str(r#"{"org_id":"o","invoice_id":"i"}"#).unwrap();
        assert!(matches!(single, SubmissionMessage::Invoice(_)));
        let chunk: SubmissionMessage =
            serde_json::from_str(r#"{"org_id":"o","batch_id":"b","invoice_ids":["i","j"]}"#).unwrap();
        assert!(
            matches!(chunk, SubmissionMessage::Chunk(ChunkMessage { ref invoice_ids, .. }) if invoice_ids.len() == 2)
        );
        let check: SubmissionMessage = serde_json::from_str(r#"{"numbering_ranges_of":"o"}"#).unwrap();
        assert!(matches!(check, SubmissionMessage::RangesCheck(_)));
        let note: SubmissionMessage = serde_json::from_str(r#"{"org_id":"o","credit_note_id":"n"}"#).unwrap();
        assert_eq!(
            note.documents(),
            [(Kind::CreditNote, "o".to_owned(), "n".to_owned())]
        );
        for bad in [
            r#"{"org_id":"o"}"#,
            r#"{"numbering_ranges_of":"o","org_id":"o"}"#,
            r#"{"org_id":"o","invoice_id":"i","x":1}"#,
            r#"{"org_id":"o","invoice_id":"i","credit_note_id":"n"}"#,
            "poison",
            "[]",
        ] {
            assert!(serde_json::from_str::<SubmissionMessage>(bad).is_err(), "{bad}");
        }
    }
}

//! The SQS event source mapping: receives from a queue, invokes the function with a real SQS
//! event of up to its batch size, and deletes the messages the function did not report in
//! `batchItemFailures` (none when the invocation itself failed), as Lambda does.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::faults::Faults;
use crate::state::QueueSource;

/// How soon a message whose acknowledgement was dropped comes back.
const DROPPED_ACK_VISIBILITY_SECONDS: i32 = 1;

/// One poller of one queue for one function.
pub struct Poller {
    pub function: String,
    pub source: QueueSource,
    pub sqs: aws_sdk_sqs::Client,
    pub http: reqwest::Client,
    pub runtime_api_url: String,
    pub region: String,
    pub faults: Faults,
}

impl Poller {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                outcome = self.poll_once() => if let Err(error) = outcome {
                    tracing::warn!(function = %self.function, "polling {} failed: {error:#}", self.source.queue_url);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn poll_once(&self) -> anyhow::Result<()> {
        let batch = i32::try_from(self.source.batch_size.clamp(1, 10))?;
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.source.queue_url)
            .max_number_of_messages(batch)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(aws_sdk_sqs::Error::from)?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(());
        }
        let drawn: Vec<_> = messages
            .into_iter()
            .map(|m| {
                let draw = self.faults.draw(org_of(&m).as_deref());
                (m, draw)
            })
            .collect();
        let (lost, delivered): (Vec<_>, Vec<_>) = drawn.into_iter().partition(|(_, d)| d.lose);
        self.delete(lost.iter().map(|(m, _)| m)).await?;
        if delivered.is_empty() {
            return Ok(());
        }
        let (messages, draws): (Vec<Message>, Vec<_>) = delivered.into_iter().unzip();
        let duplicates: Vec<Message> = messages
            .iter()
            .zip(&draws)
            .filter(|(_, d)| d.duplicate)
            .map(|(m, _)| m.clone())
            .collect();
        let event = sqs_event(&messages, &self.source.queue_arn, &self.region);
        let failed = if duplicates.is_empty() {
            self.invoke(&event, &messages).await
        } else {
            // The second delivery of the same messages runs at the same time; its answer is ignored.
            let twin = sqs_event(&duplicates, &self.source.queue_arn, &self.region);
            let (failed, _) = tokio::join!(self.invoke(&event, &messages), self.invoke(&twin, &duplicates));
            failed
        };
        let mut acknowledged = Vec::new();
        for (message, draw) in messages.iter().zip(&draws) {
            let Some(receipt) = message.receipt_handle() else {
                continue;
            };
            if failed.contains(message.message_id().unwrap_or_default()) {
                continue;
            }
            if draw.drop_ack {
                let _ = self
                    .sqs
                    .change_message_visibility()
                    .queue_url(&self.source.queue_url)
                    .receipt_handle(receipt)
                    .visibility_timeout(DROPPED_ACK_VISIBILITY_SECONDS)
                    .send()
                    .await;
                continue;
            }
            acknowledged.push(message);
        }
        self.delete(acknowledged.into_iter()).await
    }

    /// Deletes `messages` from the queue, as the event source does with what a function handled.
    async fn delete<'m>(&self, messages: impl Iterator<Item = &'m Message>) -> anyhow::Result<()> {
        let entries: Vec<_> = messages
            .enumerate()
            .filter_map(|(index, message)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(message.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        if !entries.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.source.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(aws_sdk_sqs::Error::from)?;
        }
        Ok(())
    }

    /// Invokes the function; answers the ids of the messages that must stay in the queue.
    async fn invoke(&self, event: &Value, messages: &[Message]) -> HashSet<String> {
        let all: HashSet<String> = messages.iter().filter_map(|m| m.message_id.clone()).collect();
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.runtime_api_url, self.function
        );
        let answer = match self.http.post(url).json(event).send().await {
            Ok(answer) if answer.status().is_success() => answer.bytes().await.unwrap_or_default(),
            Ok(answer) => {
                tracing::warn!(function = %self.function, status = %answer.status(), "the function failed; its batch stays in the queue");
                return all;
            }
            Err(error) => {
                tracing::warn!(function = %self.function, "invocation failed: {error}");
                return all;
            }
        };
        if !self.source.report_batch_item_failures {
            return HashSet::new();
        }
        batch_item_failures(&answer, &all).unwrap_or_else(|| {
            tracing::warn!(function = %self.function, "an invalid batch response fails the whole batch");
            all
        })
    }
}

/// The `batchItemFailures` of a response; `None` when the response is invalid, which Lambda
/// treats as a failure of the whole batch. An empty or null answer means all succeeded.
fn batch_item_failures(answer: &[u8], batch: &HashSet<String>) -> Option<HashSet<String>> {
    if answer.iter().all(u8::is_ascii_whitespace) {
        return Some(HashSet::new());
    }
    let response: Value = serde_json::from_slice(answer).ok()?;
    let failures = match response.get("batchItemFailures") {
        None | Some(Value::Null) if response.is_null() || response.is_object() => return Some(HashSet::new()),
        Some(Value::Array(failures)) => failures,
        _ => return None,
    };
    failures
        .iter()
        .map(|failure| {
            let id = failure.get("itemIdentifier")?.as_str()?;
            batch.contains(id).then(|| id.to_owned())
        })
        .collect()
}

/// The organization a submission message belongs to (for scoping delivery faults).
fn org_of(message: &Message) -> Option<String> {
    let body: Value = serde_json::from_str(message.body()?).ok()?;
    body.get("org_id")?.as_str().map(str::to_owned)
}

/// The SQS event Lambda sends, built from received messages.
fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let attributes: BTreeMap<String, String> = message
                .attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect();
            let message_attributes: Map<String, Value> = message
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| {
                    let mut attribute = json!({
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value.data_type(),
                    });
                    if let Some(text) = value.string_value() {
                        attribute["stringValue"] = text.into();
                    }
                    if let Some(bytes) = value.binary_value() {
                        attribute["binaryValue"] = BASE64.encode(bytes.as_ref()).into();
                    }
                    (name.clone(), attribute)
                })
                .collect();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": message.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> HashSet<String> {
        ["a", "b"].iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn listed_failures_stay_and_the_rest_is_deleted() {
        let failed = batch_item_failures(br#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#, &batch());
        assert_eq!(failed, Some(HashSet::from(["b".to_owned()])));
    }

    #[test]
    fn empty_answers_mean_everything_succeeded() {
        for answer in [
            &b""[..],
            b"null",
            b"{}",
            br#"{"batchItemFailures":[]}"#,
            br#"{"batchItemFailures":null}"#,
        ] {
            assert_eq!(
                batch_item_failures(answer, &batch()),
                Some(HashSet::new()),
                "{answer:?}"
            );
        }
    }

    #[test]
    fn invalid_answers_fail_the_whole_batch() {
        for answer in [
            &b"oops"[..],
            br#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#,
            br#"{"batchItemFailures":[{}]}"#,
            br#"{"batchItemFailures":"a"}"#,
        ] {
            assert_eq!(batch_item_failures(answer, &batch()), None, "{answer:?}");
        }
    }

    #[test]
    fn an_event_carries_what_lambda_sends() {
        let message = Message::builder()
            .message_id("m1")
            .receipt_handle("h1")
            .body("{\"x\":1}")
            .md5_of_body("abc")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .message_attributes(
                "traceparent",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("00-abc")
                    .build()
                    .unwrap(),
            )
            .build();
        let event = sqs_event(&[message], "arn:aws:sqs:us-east-1:0:q", "us-east-1");
        let record = &event["Records"][0];
        assert_eq!(record["messageId"], "m1");
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(
            record["messageAttributes"]["traceparent"]["stringValue"],
            "00-abc"
        );
        assert_eq!(record["eventSourceARN"], "arn:aws:sqs:us-east-1:0:q");
    }
}

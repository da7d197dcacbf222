//! The submission worker, fed by the submissions queue (SQS, `ReportBatchItemFailures`). A
//! message names one invoice, or a chunk of a batch's invoices; the worker works their invoices
//! concurrently (bounded), each in its own attempt (see [`attempt`]), and answers the messages
//! to retry:
//!
//! - a single-invoice message that failed transiently is retried through SQS: its visibility is
//!   set to the backoff and it is reported in `batchItemFailures`, so SQS counts its receives
//!   and moves it to the dead-letter queue after `maxReceiveCount`;
//! - an invoice of a chunk that failed transiently goes back to the queue as its own delayed
//!   single-invoice message, and the chunk is acknowledged once each of its invoices ended or
//!   was handed back: retries and the dead-letter queue stay per invoice;
//! - near its deadline the worker starts no more invoices and hands the unstarted ones back;
//! - a message that cannot be read is reported, so that it reaches the dead-letter queue;
//! - a panic in one invoice is that invoice's transient failure, not the batch's.

mod attempt;
mod backoff;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::{FutureExt, StreamExt, stream};
use lambda_runtime::{Context, Error, LambdaEvent};
use shared::clock;
use shared::metrics::Metrics;
use shared::queue::{ChunkMessage, InvoiceMessage, SubmissionMessage};
use shared::store::{Decided, Terminal, Written};
use shared::submission::Submission;

use attempt::Attempt;

/// Time kept in hand at the end of an invocation, besides one provider call.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// A received message, read.
struct Received {
    message_id: String,
    receipt_handle: String,
    receive_count: u32,
    content: Option<SubmissionMessage>,
}

impl Received {
    fn read(message: &SqsMessage) -> Self {
        let content = message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str(body).ok());
        Self {
            message_id: message.message_id.clone().unwrap_or_default(),
            receipt_handle: message.receipt_handle.clone().unwrap_or_default(),
            receive_count: message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|count| count.parse().ok())
                .unwrap_or(1),
            content,
        }
    }

    /// The (organization, invoice) pairs the message names.
    fn invoices(&self) -> Vec<(String, String)> {
        match &self.content {
            Some(SubmissionMessage::Invoice(message)) => {
                vec![(message.org_id.clone(), message.invoice_id.clone())]
            }
            Some(SubmissionMessage::Chunk(chunk)) => chunk
                .invoice_ids
                .iter()
                .map(|id| (chunk.org_id.clone(), id.clone()))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// When this invocation must be done (epoch ms). A runtime that gives no usable deadline (the
/// local Runtime API emulator sends a relative one) gets the lease's length, which is at most
/// the function's timeout.
fn deadline_ms(context: &Context, fallback: Duration) -> i64 {
    let now = clock::epoch_ms(clock::now());
    match i64::try_from(context.deadline) {
        Ok(deadline) if deadline > now => deadline,
        _ => now + i64::try_from(fallback.as_millis()).unwrap_or(i64::MAX),
    }
}

pub async fn handle(
    submission: &Submission,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let settings = &submission.settings;
    let stop_starting_at = deadline_ms(&event.context, settings.lease)
        - i64::try_from((settings.provider_timeout + DEADLINE_MARGIN).as_millis())?;
    let messages: Vec<Received> = event.payload.records.iter().map(Received::read).collect();
    let jobs: Vec<(usize, String, String, u32)> = messages
        .iter()
        .enumerate()
        .flat_map(|(index, message)| {
            message
                .invoices()
                .into_iter()
                .map(move |(org, id)| (index, org, id, message.receive_count))
        })
        .collect();
    let results: Vec<(usize, String, Attempt, Metrics)> = stream::iter(jobs)
        .map(|(index, org, id, receive_count)| async move {
            let mut metrics = Metrics::default();
            if clock::epoch_ms(clock::now()) >= stop_starting_at {
                return (index, id, Attempt::Unstarted, metrics);
            }
            let work = attempt::run(submission, &org, &id, receive_count, &mut metrics);
            let outcome = AssertUnwindSafe(work).catch_unwind().await.unwrap_or_else(|_| {
                tracing::error!(org_id = %org, invoice_id = %id, "the attempt panicked: the invoice will be tried again");
                Attempt::Retry(settings.retry_base)
            });
            (index, id, outcome, metrics)
        })
        .buffer_unordered(settings.concurrency)
        .collect()
        .await;

    let mut metrics = Metrics::default();
    let mut outcomes: Vec<Vec<(String, Attempt)>> = messages.iter().map(|_| Vec::new()).collect();
    let mut decided = Vec::new();
    for (index, id, outcome, invoice_metrics) in results {
        metrics.merge(invoice_metrics);
        match outcome {
            Attempt::Decided(decision) => decided.push((index, id, *decision)),
            other => outcomes[index].push((id, other)),
        }
    }
    for (index, id, outcome) in write_decisions(submission, decided, &mut metrics).await {
        outcomes[index].push((id, outcome));
    }
    let mut batch_item_failures = Vec::new();
    for (message, outcomes) in messages.iter().zip(outcomes) {
        if !settle(submission, message, &outcomes).await {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone();
            batch_item_failures.push(failure);
        }
    }
    metrics.emit("submit-worker");
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = batch_item_failures;
    Ok(response)
}

/// Writes the terminal states decided in this invocation together (a batch's counters move once
/// per group) and answers each invoice's final outcome.
async fn write_decisions(
    submission: &Submission,
    decided: Vec<(usize, String, Decided)>,
    metrics: &mut Metrics,
) -> Vec<(usize, String, Attempt)> {
    let decisions: Vec<Decided> = decided.iter().map(|(_, _, decision)| decision.clone()).collect();
    let now = clock::rfc3339(clock::now());
    let written = submission.services.store.write_decisions(&decisions, &now).await;
    decided
        .into_iter()
        .zip(written)
        .map(|((index, id, decision), written)| {
            let outcome = match written {
                Written::Yes => {
                    let (metric, status) = match decision.terminal {
                        Terminal::Accepted { .. } => ("InvoicesAccepted", "accepted"),
                        Terminal::Rejected { .. } => ("InvoicesRejected", "rejected"),
                        Terminal::Failed => ("InvoicesFailed", "failed"),
                    };
                    metrics.count(metric, 1);
                    tracing::info!(org_id = %decision.invoice.organization_id, invoice_id = %id, status, "the invoice's submission ended");
                    Attempt::Done
                }
                Written::LeaseLost => {
                    tracing::warn!(invoice_id = %id, "the lease was lost before the outcome was stored: another worker ends it");
                    Attempt::Done
                }
                // The provider has decided; the next attempt learns it again ("already exists").
                Written::Failed => Attempt::Retry(submission.settings.retry_base),
            };
            (index, id, outcome)
        })
        .collect()
}

fn seconds(wait: Duration) -> i32 {
    i32::try_from(wait.as_secs().max(1)).unwrap_or(i32::MAX)
}

/// Settles a message after its invoices' attempts; `true` acknowledges it.
async fn settle(submission: &Submission, message: &Received, outcomes: &[(String, Attempt)]) -> bool {
    let Ok(queue) = submission.services.queue() else {
        tracing::error!("the worker has no SUBMISSIONS_QUEUE_URL: nothing can be handed back");
        return outcomes
            .iter()
            .all(|(_, outcome)| matches!(outcome, Attempt::Done));
    };
    match &message.content {
        None => {
            tracing::error!(message_id = %message.message_id, "an unreadable message: it will reach the dead-letter queue");
            false
        }
        Some(SubmissionMessage::Invoice(single)) => match outcomes.first().map(|(_, outcome)| outcome) {
            Some(Attempt::Done | Attempt::Decided(_)) | None => true,
            Some(Attempt::Retry(wait)) => {
                if let Err(error) = queue.postpone(&message.receipt_handle, seconds(*wait)).await {
                    tracing::warn!(cause = format!("{error:#}"), "could not delay the retry");
                }
                false
            }
            Some(Attempt::Unstarted) => queue
                .send(&SubmissionMessage::Invoice(single.clone()), 0)
                .await
                .is_ok(),
        },
        Some(SubmissionMessage::Chunk(chunk)) => {
            let mut handed_back = true;
            let mut unstarted = Vec::new();
            for (invoice_id, outcome) in outcomes {
                match outcome {
                    Attempt::Done | Attempt::Decided(_) => {}
                    Attempt::Retry(wait) => {
                        let single = InvoiceMessage {
                            org_id: chunk.org_id.clone(),
                            invoice_id: invoice_id.clone(),
                        };
                        handed_back &= queue
                            .send(&SubmissionMessage::Invoice(single), seconds(*wait))
                            .await
                            .is_ok();
                    }
                    Attempt::Unstarted => unstarted.push(invoice_id.clone()),
                }
            }
            if !unstarted.is_empty() {
                let rest = ChunkMessage {
                    org_id: chunk.org_id.clone(),
                    batch_id: chunk.batch_id.clone(),
                    invoice_ids: unstarted,
                };
                handed_back &= queue.send(&SubmissionMessage::Chunk(rest), 0).await.is_ok();
            }
            handed_back
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_deadline_is_kept_and_an_unusable_one_becomes_the_fallback() {
        let now = clock::epoch_ms(clock::now());
        let mut context = Context::default();
        context.deadline = u64::try_from(now + 20_000).unwrap();
        assert_eq!(deadline_ms(&context, Duration::from_secs(5)), now + 20_000);
        // The local Runtime API emulator sends a relative deadline, long past as an epoch time.
        context.deadline = 600_000;
        let fallback = deadline_ms(&context, Duration::from_secs(5));
        assert!((now + 4_900..=now + 6_000).contains(&fallback), "{fallback}");
    }

    #[test]
    fn a_message_names_its_invoices_or_none() {
        let message = |body: &str| {
            let mut message = SqsMessage::default();
            message.body = Some(body.to_owned());
            message
                .attributes
                .insert("ApproximateReceiveCount".to_owned(), "3".to_owned());
            Received::read(&message)
        };
        let chunk = message(r#"{"org_id":"o","batch_id":"b","invoice_ids":["i","j"]}"#);
        assert_eq!(
            chunk.invoices(),
            [("o".to_owned(), "i".to_owned()), ("o".to_owned(), "j".to_owned())]
        );
        assert_eq!(chunk.receive_count, 3);
        assert!(message("poison").invoices().is_empty());
    }
}

//! The submission worker, fed by the submissions queue (SQS, `ReportBatchItemFailures`). A
//! message names one invoice, a chunk of a batch's invoices, or one credit note (worked as an
//! invoice is, at Factus's credit note routes). The worker gives each invoice a
//! slot of the pace of its organization's provider account and works them concurrently
//! (bounded) as their slots come, each in its own attempt ([`attempt`]), and answers the
//! messages:
//!
//! - a single-invoice message that failed transiently is retried through SQS: its visibility is
//!   set to the backoff and it is reported in `batchItemFailures`, so SQS counts its receives
//!   and moves it to the dead-letter queue after `maxReceiveCount`;
//! - an invoice of a chunk that failed transiently goes back to the queue as its own delayed
//!   single-invoice message, and the chunk is acknowledged once each of its invoices ended or
//!   was handed back: retries and the dead-letter queue stay per invoice;
//! - an invoice that must wait through no fault of its own (no slot of the account's pace in this
//!   invocation, the account's rate limit, a pending bill blocking it, its trouble) goes back as
//!   a new message delayed until then: waiting spends no receive, so pacing never sends a
//!   message to the dead-letter queue;
//! - a terminal state is written as soon as it is decided (with whatever else was decided while
//!   the last write ran), never held until the invocation ends, where a timeout would lose it;
//! - a message that cannot be read is reported, so that it reaches the dead-letter queue;
//! - a message may instead ask for a check of an organization's numbering ranges
//!   ([`ranges_check`]): it is always acknowledged, as the reconciler asks again for a check
//!   that did not end;
//! - a panic in one invoice is that invoice's transient failure, not the batch's.

mod attempt;
mod backoff;
mod plan;
mod ranges_check;
mod submit;
mod unblock;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures_util::{FutureExt, StreamExt, stream};
use lambda_runtime::{Error, LambdaEvent};
use shared::clock;
use shared::metrics::Metrics;
use shared::queue::{ChunkMessage, InvoiceMessage, SubmissionMessage};
use shared::store::{Decided, Terminal, Written};
use shared::submission::Submission;

use attempt::Attempt;
use plan::{Job, Received};

pub async fn handle(
    submission: &Submission,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let settings = &submission.settings;
    let stop_ms = settings.last_call_ms(&event.context);
    let messages: Vec<Received> = event.payload.records.iter().map(Received::read).collect();
    let mut metrics = Metrics::default();
    for message in &messages {
        if let Some(SubmissionMessage::RangesCheck(check)) = &message.content {
            ranges_check::check(submission, &check.numbering_ranges_of, stop_ms, &mut metrics).await;
        }
    }
    let mut outcomes: Vec<Vec<(String, Attempt)>> = messages.iter().map(|_| Vec::new()).collect();
    let jobs = plan::jobs(&messages);
    let held = plan::pay_deletions(submission, &jobs, stop_ms).await;
    let (waiting, ready): (Vec<Job>, Vec<Job>) =
        jobs.into_iter().partition(|job| held.contains_key(&job.org_id));
    for job in waiting {
        let wait = held.get(&job.org_id).copied().unwrap_or(settings.retry_base);
        outcomes[job.message].push((job.invoice_id, Attempt::Later { wait }));
    }
    for (job, outcome, invoice_metrics) in work(submission, ready, stop_ms).await {
        metrics.merge(invoice_metrics);
        outcomes[job.message].push((job.invoice_id, outcome));
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

/// What one job came to, with what it counted.
type Worked = (Job, Attempt, Metrics);

/// Works the jobs concurrently (bounded), a panic in one being that invoice's transient failure,
/// and writes each terminal state decided as soon as the writer is free: whatever was decided
/// while it wrote goes together in its next write (a batch's counters move once per write). An
/// outcome is never held until the invocation ends, where a timeout would lose it.
async fn work(submission: &Submission, jobs: Vec<Job>, stop_ms: i64) -> Vec<Worked> {
    let settings = &submission.settings;
    let (decided, mut to_write) = tokio::sync::mpsc::unbounded_channel::<(Job, Decided, Metrics)>();
    let attempts = async move {
        let decided = &decided;
        stream::iter(jobs)
            .map(|job| async move {
                let mut metrics = Metrics::default();
                let work = attempt::run(submission, &job, stop_ms, &mut metrics);
                let outcome = AssertUnwindSafe(work).catch_unwind().await.unwrap_or_else(|_| {
                    tracing::error!(org_id = %job.org_id, invoice_id = %job.invoice_id, "the attempt panicked: the invoice will be tried again");
                    Attempt::Retry(settings.retry_base)
                });
                match outcome {
                    Attempt::Decided(decision) => {
                        // The writer outlives every attempt: the channel is open.
                        let _ = decided.send((job, *decision, metrics));
                        None
                    }
                    other => Some((job, other, metrics)),
                }
            })
            .buffer_unordered(settings.concurrency)
            .filter_map(futures_util::future::ready)
            .collect::<Vec<Worked>>()
            .await
    };
    let writer = async {
        let mut written = Vec::new();
        while let Some(first) = to_write.recv().await {
            let mut group = vec![first];
            while let Ok(next) = to_write.try_recv() {
                group.push(next);
            }
            written.extend(write_decisions(submission, group).await);
        }
        written
    };
    let (mut worked, written) = tokio::join!(attempts, writer);
    worked.extend(written);
    worked
}

/// Writes terminal states decided together (a batch's counters move once per group) and
/// answers each invoice's final outcome.
async fn write_decisions(submission: &Submission, decided: Vec<(Job, Decided, Metrics)>) -> Vec<Worked> {
    let decisions: Vec<Decided> = decided.iter().map(|(_, decision, _)| decision.clone()).collect();
    let now = clock::rfc3339(clock::now());
    let written = submission.services.store.write_decisions(&decisions, &now).await;
    decided
        .into_iter()
        .zip(written)
        .map(|((job, decision, mut metrics), written)| {
            let outcome = match written {
                Written::Yes => {
                    let (metric, status) = match decision.terminal {
                        Terminal::Accepted { .. } => ("InvoicesAccepted", "accepted"),
                        Terminal::Rejected { .. } => ("InvoicesRejected", "rejected"),
                        Terminal::Failed => ("InvoicesFailed", "failed"),
                    };
                    metrics.count(metric, 1);
                    tracing::info!(org_id = %decision.invoice.organization_id, invoice_id = %job.invoice_id, status, "the invoice's submission ended");
                    Attempt::Done
                }
                Written::LeaseLost => {
                    tracing::warn!(invoice_id = %job.invoice_id, "the lease was lost before the outcome was stored: another worker ends it");
                    Attempt::Done
                }
                // The provider has decided; the next attempt learns it again ("already exists").
                Written::Failed => Attempt::Retry(submission.settings.retry_base),
            };
            (job, outcome, metrics)
        })
        .collect()
}

fn seconds(wait: Duration) -> i32 {
    i32::try_from(wait.as_secs()).unwrap_or(i32::MAX).min(900)
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
        Some(SubmissionMessage::RangesCheck(_)) => true,
        Some(single @ (SubmissionMessage::Invoice(_) | SubmissionMessage::CreditNote(_))) => {
            match outcomes.first().map(|(_, outcome)| outcome) {
                Some(Attempt::Done | Attempt::Decided(_)) | None => true,
                Some(Attempt::Retry(wait)) => {
                    if let Err(error) = queue
                        .postpone(&message.receipt_handle, seconds(*wait).max(1))
                        .await
                    {
                        tracing::warn!(cause = format!("{error:#}"), "could not delay the retry");
                    }
                    false
                }
                Some(Attempt::Later { wait }) => queue.send(single, seconds(*wait)).await.is_ok(),
            }
        }
        Some(SubmissionMessage::Chunk(chunk)) => {
            let mut handed_back = true;
            let mut later = Vec::new();
            for (invoice_id, outcome) in outcomes {
                match outcome {
                    Attempt::Done | Attempt::Decided(_) => {}
                    Attempt::Retry(wait) => {
                        let single = InvoiceMessage::new(&chunk.org_id, invoice_id);
                        handed_back &= queue
                            .send(&SubmissionMessage::Invoice(single), seconds(*wait).max(1))
                            .await
                            .is_ok();
                    }
                    Attempt::Later { wait } => later.push((invoice_id.clone(), *wait)),
                }
            }
            if let Some(wait) = later.iter().map(|(_, wait)| *wait).min() {
                let rest = ChunkMessage {
                    org_id: chunk.org_id.clone(),
                    batch_id: chunk.batch_id.clone(),
                    invoice_ids: later.into_iter().map(|(id, _)| id).collect(),
                };
                handed_back &= queue
                    .send(&SubmissionMessage::Chunk(rest), seconds(wait))
                    .await
                    .is_ok();
            }
            handed_back
        }
    }
}

//! One attempt at one invoice: claim it with a lease (reading it in the same call), submit it,
//! and end the attempt with a terminal state or by putting it back in the queue, every write
//! conditional on the lease. Before the attempt that would be the message's last, the provider
//! is asked first whether the reference was issued: a timeout may have hidden an issue.

use std::time::{Duration, Instant};

use shared::clock;
use shared::invoices::Invoice;
use shared::metrics::Metrics;
use shared::provider::{Outcome, Transient, is_ours, provider_reference};
use shared::store::{Claim, Decided, Terminal};
use shared::submission::Submission;
use tracing::Instrument;

use crate::backoff;

/// How an attempt ended, for its message.
#[derive(Clone, Debug)]
pub enum Attempt {
    /// Nothing more to do for this invoice: it ended, or ends elsewhere.
    Done,
    /// Try again after this long.
    Retry(Duration),
    /// Not started: the invocation is near its deadline.
    Unstarted,
    /// Ended at the provider; its terminal state is written with the others of the invocation,
    /// so that a batch's counters move once per group.
    Decided(Box<Decided>),
}

/// Works one invoice; `receive_count` is its message's `ApproximateReceiveCount`.
pub async fn run(
    submission: &Submission,
    org_id: &str,
    invoice_id: &str,
    receive_count: u32,
    metrics: &mut Metrics,
) -> Attempt {
    let span = tracing::info_span!("invoice", org_id, invoice_id, attempt = tracing::field::Empty);
    claim_and_submit(submission, org_id, invoice_id, receive_count, metrics)
        .instrument(span)
        .await
}

async fn claim_and_submit(
    submission: &Submission,
    org_id: &str,
    invoice_id: &str,
    receive_count: u32,
    metrics: &mut Metrics,
) -> Attempt {
    let settings = &submission.settings;
    let now = clock::now();
    let now_ms = clock::epoch_ms(now);
    let lease_until = clock::epoch_ms(now + settings.lease);
    let claim = submission
        .services
        .store
        .claim_invoice(org_id, invoice_id, now_ms, lease_until, &clock::rfc3339(now))
        .await;
    let (invoice, lease) = match claim {
        Ok(Claim::Claimed { invoice, lease }) => (invoice, lease),
        Ok(Claim::Finished) => {
            tracing::info!("the invoice ended already: a repeated delivery");
            return Attempt::Done;
        }
        Ok(Claim::Missing) => {
            tracing::warn!("a message names an invoice that does not exist");
            return Attempt::Done;
        }
        Ok(Claim::LeasedUntil(until_ms)) => {
            let wait = Duration::from_millis(u64::try_from(until_ms - now_ms).unwrap_or(0))
                .max(Duration::from_secs(1));
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "another worker holds the invoice"
            );
            return Attempt::Retry(wait);
        }
        Err(error) => {
            tracing::error!(cause = format!("{error:#}"), "claiming the invoice failed");
            return Attempt::Retry(settings.retry_base);
        }
    };
    tracing::Span::current().record("attempt", invoice.state.attempts);
    metrics.count("SubmissionAttempts", 1);
    let started = Instant::now();
    let last_chance = receive_count >= settings.max_receive_count;
    let outcome = if last_chance {
        look_up_then_submit(submission, &invoice).await
    } else {
        submission.provider.submit(&invoice).await
    };
    metrics.duration(
        "ProviderLatency",
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
    end(submission, *invoice, lease, outcome, metrics).await
}

/// Before a message's last attempt: if the provider issued the reference already (a timeout
/// hid it), that is the outcome; otherwise submit.
async fn look_up_then_submit(submission: &Submission, invoice: &Invoice) -> Outcome {
    let reference = provider_reference(
        &invoice.organization_id,
        invoice.document.input.reference_code.as_str(),
    );
    match submission.provider.find(&reference).await {
        Ok(Some(bill)) if is_ours(&bill, invoice) => {
            tracing::info!("the provider had issued it already");
            Outcome::Issued(bill)
        }
        Ok(Some(_)) => Outcome::Rejected(vec![
            "the provider holds another document with this reference code".to_owned(),
        ]),
        Ok(None) => submission.provider.submit(invoice).await,
        Err(transient) => Outcome::Transient(transient),
    }
}

async fn end(
    submission: &Submission,
    invoice: Invoice,
    lease: String,
    outcome: Outcome,
    metrics: &mut Metrics,
) -> Attempt {
    let settings = &submission.settings;
    let terminal = match outcome {
        Outcome::Issued(bill) => Terminal::Accepted {
            number: bill.number,
            cufe: bill.cufe,
            qr_url: bill.qr_url,
        },
        Outcome::Rejected(errors) => Terminal::Rejected { errors },
        Outcome::Transient(Transient { reason, retry_after }) => {
            metrics.count("TransientFailures", 1);
            let now = clock::now();
            let wait = backoff::delay(
                invoice.state.attempts,
                settings.retry_base,
                settings.retry_max,
                retry_after,
                backoff::jitter(),
            );
            let recover_at = clock::epoch_ms(now + wait + submission.services.recover_after);
            tracing::warn!(
                reason,
                wait_ms = wait.as_millis() as u64,
                "a transient failure: the invoice goes back to the queue"
            );
            let released = submission
                .services
                .store
                .release_invoice(&invoice, &lease, &reason, recover_at, &clock::rfc3339(now))
                .await;
            return match released {
                Ok(true) => Attempt::Retry(wait),
                Ok(false) => {
                    tracing::warn!("the lease was lost meanwhile: another worker has the invoice");
                    Attempt::Done
                }
                Err(error) => {
                    tracing::error!(cause = format!("{error:#}"), "putting the invoice back failed");
                    Attempt::Retry(wait)
                }
            };
        }
    };
    Attempt::Decided(Box::new(Decided {
        invoice,
        lease,
        terminal,
    }))
}

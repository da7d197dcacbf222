//! One attempt at one invoice: reserve its slot of the account's pace and wait for it (or hand
//! it back when the account's calls are promised past this invocation), claim it with a lease (reading it in the same call),
//! submit it ([`crate::submit`]), and end the attempt with a terminal state or by putting it back
//! in the queue, every write conditional on the lease. Before the attempt that would be its
//! message's last, the provider is asked first whether the reference was issued: a timeout may
//! have hidden an issue.

use std::time::{Duration, Instant};

use shared::clock;
use shared::invoices::Invoice;
use shared::metrics::Metrics;
use shared::provider::pacer::Lane;
use shared::provider::{CallError, Calls, Provider, pacer};
use shared::store::{Claim, Decided, Terminal};
use shared::submission::Submission;
use tracing::Instrument;

use crate::backoff;
use crate::plan::Job;
use crate::submit::{self, Outcome};

/// Why an invoice of an organization that no Factus account serves is not sent: it is retried
/// (the organization may connect one meanwhile) and, its receives spent, fails.
const NO_ACCOUNT: &str =
    "no Factus account serves the organization: connect one (PUT /v1/organization/provider)";

/// How an attempt ended, for its message.
#[derive(Clone, Debug)]
pub enum Attempt {
    /// Nothing more to do for this invoice: it ended, or ends elsewhere.
    Done,
    /// Failed for now: try again after this long, through SQS (a receive spent).
    Retry(Duration),
    /// Not the invoice's doing (the account's pace, a block, its trouble): back to the queue as
    /// a new message after `wait`.
    Later { wait: Duration },
    /// Ended at the provider; its terminal state is written with the others of the invocation,
    /// so that a batch's counters move once per group.
    Decided(Box<Decided>),
}

/// Works one invoice; no provider call starts after `stop_ms`.
pub async fn run(submission: &Submission, job: &Job, stop_ms: i64, metrics: &mut Metrics) -> Attempt {
    let span = tracing::info_span!(
        "invoice",
        org_id = %job.org_id,
        invoice_id = %job.invoice_id,
        attempt = tracing::field::Empty
    );
    async { claim_and_submit(submission, job, stop_ms, metrics).await }
        .instrument(span)
        .await
}

async fn claim_and_submit(
    submission: &Submission,
    job: &Job,
    stop_ms: i64,
    metrics: &mut Metrics,
) -> Attempt {
    let settings = &submission.settings;
    let now = clock::now();
    let now_ms = clock::epoch_ms(now);
    let lease_until = clock::epoch_ms(now + settings.lease);
    let claim = submission
        .services
        .store
        .claim_document(
            job.kind,
            &job.org_id,
            &job.invoice_id,
            now_ms,
            lease_until,
            &clock::rfc3339(now),
        )
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
    let provider = match submission.providers.of(&job.org_id).await {
        Ok(Some(provider)) => provider,
        Ok(None) => {
            let outcome = Outcome::transient(NO_ACCOUNT);
            return end(submission, *invoice, lease, outcome, false, metrics).await;
        }
        Err(error) => {
            let outcome = Outcome::from_call(error, settings.account_retry);
            return end(submission, *invoice, lease, outcome, false, metrics).await;
        }
    };
    // Claimed first (a repeated delivery of an ended invoice spends no slot), then its slot.
    if let Err(outcome) = take_slot(submission, &provider, stop_ms).await {
        return end(submission, *invoice, lease, outcome, false, metrics).await;
    }
    metrics.count("SubmissionAttempts", 1);
    let started = Instant::now();
    let calls = Calls::new(1, stop_ms);
    let attempt = submit::Attempt {
        submission,
        provider: &provider,
        calls: &calls,
        invoice: &invoice,
    };
    let last_chance = job.receive_count >= settings.max_receive_count;
    let outcome = attempt.submit(last_chance, metrics).await;
    metrics.duration(
        "ProviderLatency",
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
    end(submission, *invoice, lease, outcome, true, metrics).await
}

/// Reserves the invoice's slot of the account's submissions and waits for it; `Err` with why
/// it waits instead (the account busy past this invocation, blocked, or in trouble).
async fn take_slot(submission: &Submission, provider: &Provider, stop_ms: i64) -> Result<(), Outcome> {
    let later = |reason: &str, wait| Outcome::Later {
        reason: reason.to_owned(),
        wait,
        account_problem: false,
    };
    // A block already known would refuse the submission: no slot is spent on it.
    if let Some(wait) = provider.pacer().blocked_for(provider.block_hold()) {
        return Err(later("a pending bill blocks the provider account", wait));
    }
    if clock::epoch_ms(clock::now()) >= stop_ms {
        return Err(later("this invocation is near its end", Duration::ZERO));
    }
    let slot = match provider.reserve(Lane::Submissions, 1, stop_ms).await {
        Ok(slots) => slots.from_ms,
        Err(CallError::Paced(wait)) => return Err(later("waiting for the provider account's pace", wait)),
        Err(CallError::AccountProblem(reason)) => {
            return Err(Outcome::Later {
                reason,
                wait: submission.settings.account_retry,
                account_problem: true,
            });
        }
        Err(CallError::Transient(reason)) => return Err(Outcome::transient(reason)),
    };
    if pacer::wait_for(slot, stop_ms).await.is_err() {
        return Err(later("waiting for the provider account's pace", Duration::ZERO));
    }
    // A block met meanwhile (by this container) would refuse the submission: wait it out.
    if let Some(wait) = provider.pacer().blocked_for(provider.block_hold()) {
        return Err(later("a pending bill blocks the provider account", wait));
    }
    Ok(())
}

/// Ends the attempt as `outcome` says; `called` when the provider was called.
async fn end(
    submission: &Submission,
    invoice: Invoice,
    lease: String,
    outcome: Outcome,
    called: bool,
    metrics: &mut Metrics,
) -> Attempt {
    let settings = &submission.settings;
    let (reason, wait, attempt) = match outcome {
        Outcome::Issued(bill) => {
            return Attempt::Decided(Box::new(Decided {
                invoice,
                lease,
                terminal: bill.into_accepted(),
            }));
        }
        Outcome::Rejected { errors, cleared } => {
            return Attempt::Decided(Box::new(Decided {
                invoice,
                lease,
                terminal: Terminal::Rejected { errors, cleared },
            }));
        }
        Outcome::Transient { reason, retry_after } => {
            metrics.count("TransientFailures", 1);
            let wait = backoff::delay(
                invoice.state.attempts,
                settings.retry_base,
                settings.retry_max,
                retry_after,
                backoff::jitter(),
            );
            tracing::warn!(
                reason,
                wait_ms = wait.as_millis() as u64,
                "a transient failure: the invoice goes back to the queue"
            );
            (reason, wait, Attempt::Retry(wait))
        }
        Outcome::Later {
            reason,
            wait,
            account_problem,
        } => {
            if account_problem {
                metrics.count("ProviderAccountProblems", 1);
                tracing::error!(
                    reason,
                    "the provider account cannot work: the invoice waits, and is not to blame"
                );
            } else if called {
                tracing::info!(
                    reason,
                    wait_ms = wait.as_millis() as u64,
                    "paced: the invoice waits in the queue"
                );
            } else {
                tracing::debug!(reason, wait_ms = wait.as_millis() as u64, "paced before any call");
            }
            (reason, wait, Attempt::Later { wait })
        }
    };
    let now = clock::now();
    let recover_at = clock::epoch_ms(now + wait + submission.services.recover_after);
    let released = submission
        .services
        .store
        .release_invoice(
            &invoice,
            &lease,
            &reason,
            recover_at,
            &clock::rfc3339(now),
            called,
        )
        .await;
    match released {
        Ok(true) => attempt,
        Ok(false) => {
            tracing::warn!("the lease was lost meanwhile: another worker has the invoice");
            Attempt::Done
        }
        Err(error) => {
            tracing::error!(cause = format!("{error:#}"), "putting the invoice back failed");
            attempt
        }
    }
}

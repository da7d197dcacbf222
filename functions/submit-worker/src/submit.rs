//! One invoice at the provider (Factus v2), every answer followed to its end:
//! - validated: issued, with DIAN's notifications;
//! - rejected by DIAN: the bill stays pending at Factus and blocks the account, so it is deleted
//!   in the same attempt (a failed deletion is owed, and paid before the account's next work);
//! - DIAN slow (`is_validated: false`, no rejection): the same body goes again a moment later
//!   (the pending bill blocks the account meanwhile), and later again if DIAN is still silent;
//! - 409: our reference already at the provider (adopted when it is ours), or another pending
//!   bill blocking the account (settled by [`crate::unblock`], then one more try);
//! - the provider's own validation (422): rejected, and logged as our validation's miss;
//! - 402, refused credentials: the account's problem, waited out slowly; 429: its pace.

use std::time::Duration;

use shared::invoices::{Invoice, ProviderMessage};
use shared::metrics::Metrics;
use shared::provider::pacer::Block;
use shared::provider::{
    Bill, CallError, Calls, Clearing, Created, FOREIGN_BILL, Found, Provider, ProviderRef, document_request,
    judge,
};
use shared::submission::Submission;

/// What became of a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Issued(Bill),
    /// Refused for good; `cleared` says whether the rejected bill is gone from the provider
    /// (`None` when the provider kept nothing).
    Rejected {
        errors: Vec<ProviderMessage>,
        cleared: Option<bool>,
    },
    /// Not decided: try again after a backoff (no sooner than `retry_after`).
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Not the invoice's doing: wait this long without spending its receives (the account's
    /// pace, or its trouble when `account_problem`).
    Later {
        reason: String,
        wait: Duration,
        account_problem: bool,
    },
}

impl Outcome {
    pub fn transient(reason: impl Into<String>) -> Self {
        Self::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn from_call(error: CallError, account_retry: Duration) -> Self {
        match error {
            CallError::Paced(wait) => Self::Later {
                reason: "waiting for the provider account's pace".to_owned(),
                wait,
                account_problem: false,
            },
            CallError::AccountProblem(reason) => Self::Later {
                reason,
                wait: account_retry,
                account_problem: true,
            },
            CallError::Transient(reason) => Self::transient(reason),
        }
    }
}

const SLOW: &str = "DIAN has not validated it yet: the same invoice is sent again";
/// How long one worker holds the settlement of a blocked account (it ends it sooner).
const SETTLE_LEASE: Duration = Duration::from_secs(60);
/// How long DIAN is given before a bill it did not answer for is sent again.
const SLOW_PAUSE: Duration = Duration::from_secs(1);

/// The provider's answer to one piece of work, with what it needs.
pub struct Attempt<'a> {
    pub submission: &'a Submission,
    /// The account of the invoice's organization.
    pub provider: &'a Provider,
    pub calls: &'a Calls,
    pub invoice: &'a Invoice,
}

impl Attempt<'_> {
    fn reference(&self) -> ProviderRef {
        ProviderRef::of(self.invoice)
    }

    fn later(&self, error: CallError) -> Outcome {
        Outcome::from_call(error, self.submission.settings.account_retry)
    }

    /// Submits the invoice; with `look_up_first` (its message's last receive) the provider is
    /// asked first whether an earlier attempt, whose answer was lost, issued it.
    pub async fn submit(&self, look_up_first: bool, metrics: &mut Metrics) -> Outcome {
        if look_up_first {
            match self.provider.find(self.calls, &self.reference()).await {
                Err(error) => return self.later(error),
                Ok(Some(bill)) => {
                    if let Some(outcome) = self.found(bill).await {
                        return outcome;
                    }
                }
                Ok(None) => {}
            }
        }
        self.create(true, metrics).await
    }

    /// The outcome of a bill found under our reference; `None` when it should be sent again.
    async fn found(&self, bill: Bill) -> Option<Outcome> {
        match judge(bill, self.invoice) {
            Found::Issued(bill) => {
                tracing::info!("the provider had issued it already: adopted");
                Some(Outcome::Issued(bill))
            }
            Found::Foreign => {
                tracing::error!(
                    "the provider holds a validated bill under this invoice's reference for another customer or total"
                );
                Some(Outcome::Rejected {
                    errors: vec![ProviderMessage::new("reference_code", FOREIGN_BILL)],
                    cleared: None,
                })
            }
            Found::Rejected(errors) => Some(Outcome::Rejected {
                cleared: Some(self.clear(&self.reference()).await.is_cleared()),
                errors,
            }),
            Found::Slow => None,
        }
    }

    async fn clear(&self, reference: &ProviderRef) -> Clearing {
        self.provider.clear(self.calls, reference).await
    }

    /// Creates the bill; `first_try` allows one more after a block is settled or DIAN is slow.
    async fn create(&self, first_try: bool, metrics: &mut Metrics) -> Outcome {
        let body = document_request(self.invoice);
        let created = match self.provider.create(self.invoice.kind(), self.calls, &body).await {
            Ok(created) => created,
            Err(error) => return self.later(error),
        };
        match created {
            Created::Validated(bill) => {
                let ours = self.invoice.document.totals.payable;
                if bill.total.is_some_and(|total| total != ours) {
                    tracing::error!(
                        provider_total = %bill.total.unwrap_or_default(),
                        our_total = %ours,
                        "the provider computed another total than ours: the invoice is issued with the provider's"
                    );
                    metrics.count("ProviderTotalMismatches", 1);
                }
                Outcome::Issued(bill)
            }
            Created::RejectedByDian(errors) => {
                tracing::info!(rules = errors.len(), "DIAN rejected the invoice");
                Outcome::Rejected {
                    cleared: Some(self.clear(&self.reference()).await.is_cleared()),
                    errors,
                }
            }
            // DIAN has not answered: Factus takes the same body again as a retry, and the pending
            // bill blocks the account until then, so it goes again at once, once.
            Created::Slow if first_try => {
                tokio::time::sleep(SLOW_PAUSE).await;
                Box::pin(self.create(false, metrics)).await
            }
            Created::Slow => {
                self.provider
                    .block(Block::Extend, self.provider.block_hold())
                    .await;
                Outcome::transient(SLOW)
            }
            Created::Invalid(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.rule.as_str()).collect();
                tracing::error!(
                    ?fields,
                    "the provider's own validation refused an invoice ours accepted: a rule is missing here"
                );
                metrics.count("ProviderValidationRejections", 1);
                // Nothing should be kept after a refusal of Factus's own validation, but a kept
                // bill would block the account: make sure.
                let cleared = match self.clear(&self.reference()).await {
                    Clearing::Cleared { deleted: false } => None,
                    Clearing::Cleared { deleted: true } => Some(true),
                    Clearing::Owed(_) => Some(false),
                };
                Outcome::Rejected { errors, cleared }
            }
            Created::Conflict(reason) => self.conflict(reason, first_try, metrics).await,
            Created::AccountProblem(reason) => {
                // Every other submission would meet it too: the account waits as a whole.
                let wait = self.submission.settings.account_retry;
                self.provider.block(Block::Set, wait).await;
                Outcome::Later {
                    reason,
                    wait,
                    account_problem: true,
                }
            }
            Created::RateLimited(wait) => Outcome::Later {
                reason: "the provider's rate limit".to_owned(),
                wait: wait.unwrap_or(Duration::from_secs(1)),
                account_problem: false,
            },
            Created::Transient(reason) => Outcome::transient(reason),
        }
    }

    /// A 409: our reference is at the provider already, or a pending bill blocks the account.
    /// One worker at a time finds out and settles; the others wait for it.
    async fn conflict(&self, reason: String, may_unblock: bool, metrics: &mut Metrics) -> Outcome {
        let provider = &self.provider;
        if !provider.block(Block::Take, SETTLE_LEASE).await {
            return Outcome::Later {
                reason: "a pending bill blocks the provider account: another worker settles it".to_owned(),
                wait: provider
                    .pacer()
                    .blocked_for(provider.block_hold())
                    .unwrap_or(provider.block_hold()),
                account_problem: false,
            };
        }
        let hold = provider.block_hold();
        let settled = match provider.find(self.calls, &self.reference()).await {
            Err(error) => Err(self.later(error)),
            // Not a block: our reference is there already.
            Ok(Some(bill)) => {
                provider.unblock().await;
                return self.found(bill).await.unwrap_or_else(|| Outcome::transient(SLOW));
            }
            Ok(None) if may_unblock => {
                crate::unblock::unblock(
                    self.submission,
                    self.provider,
                    self.invoice.kind(),
                    self.calls,
                    metrics,
                )
                .await
            }
            Ok(None) => Err(Outcome::Later {
                reason: format!("a pending bill still blocks the provider account: {reason}"),
                wait: hold,
                account_problem: false,
            }),
        };
        match settled {
            Ok(()) => {
                provider.unblock().await;
                Box::pin(self.create(false, metrics)).await
            }
            Err(outcome) => {
                // Still blocked: everyone waits as long as this invoice does, then one looks again.
                let wait = match &outcome {
                    Outcome::Later { wait, .. } => *wait,
                    _ => hold,
                };
                provider.block(Block::Set, wait).await;
                outcome
            }
        }
    }
}

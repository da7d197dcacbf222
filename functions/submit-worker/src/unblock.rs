//! A Factus account with a pending bill (rejected by DIAN, or waiting for DIAN) answers every
//! other bill with a 409 until that one is deleted or validated (`manejo-errores.md`). This
//! settles the account's pending bills: one of ours rejected is recorded on its invoice and
//! deleted; one of ours merely slow is sent again (Factus takes the same reference as a retry)
//! and its outcome recorded; one invoicer did not send cannot be settled here: the account's
//! problem, counted (`ProviderAccountBlocked`, with an alarm) and waited out.

use shared::clock;
use shared::invoices::{Invoice, Status};
use shared::metrics::Metrics;
use shared::provider::{Calls, Created, bill_request, split_reference};
use shared::store::{Guard, Terminal};
use shared::submission::Submission;

use crate::submit::{Outcome, clear};

/// Settles every pending bill of the account; `Err` with the outcome of the invoice waiting
/// on it when one cannot be settled now.
pub async fn unblock(submission: &Submission, calls: &Calls, metrics: &mut Metrics) -> Result<(), Outcome> {
    let account_retry = submission.settings.account_retry;
    let provider = &submission.provider;
    let pending = provider
        .pending(calls)
        .await
        .map_err(|error| Outcome::from_call(error, account_retry))?;
    for bill in pending {
        let reference = bill.reference_code.clone();
        let Some((org_id, code)) = split_reference(&reference) else {
            metrics.count("ProviderAccountBlocked", 1);
            tracing::error!(
                reference,
                "a pending bill invoicer did not send blocks the provider account"
            );
            return Err(Outcome::Later {
                reason: format!(
                    "the provider account is blocked by a pending bill invoicer did not send ({reference}): delete it at the provider"
                ),
                wait: account_retry,
                account_problem: true,
            });
        };
        let owner = owner(submission, org_id, code).await;
        if bill.is_rejected() || owner.is_none() {
            // Rejected, or ours with no invoice behind it to send again: it goes.
            if !clear(submission, calls, &reference).await {
                return Err(Outcome::transient(format!(
                    "a rejected bill ({reference}) blocks the provider account and could not be deleted yet"
                )));
            }
            if let Some(invoice) = owner {
                let terminal = Terminal::Rejected {
                    errors: bill.rejections,
                    cleared: Some(true),
                };
                record(submission, &invoice, terminal, metrics).await;
            }
            tracing::info!(
                reference,
                "a pending rejected bill was deleted: the account is unblocked"
            );
            continue;
        }
        let Some(invoice) = owner else { continue };
        let terminal = match provider.create(calls, &bill_request(&invoice)).await {
            Err(error) => return Err(Outcome::from_call(error, account_retry)),
            Ok(Created::Validated(issued)) => issued.into_accepted(),
            Ok(Created::RejectedByDian(errors)) => Terminal::Rejected {
                cleared: Some(clear(submission, calls, &reference).await),
                errors,
            },
            Ok(Created::Slow) => {
                return Err(Outcome::transient(format!(
                    "DIAN has not validated a pending bill of ours ({reference}) yet, and it blocks the provider account"
                )));
            }
            Ok(other) => {
                return Err(Outcome::transient(format!(
                    "a pending bill ({reference}) could not be settled: {other:?}"
                )));
            }
        };
        tracing::info!(reference, "a pending bill of ours was sent again and settled");
        record(submission, &invoice, terminal, metrics).await;
    }
    Ok(())
}

/// The invoice behind one of our references, if any.
async fn owner(submission: &Submission, org_id: &str, code: &str) -> Option<Invoice> {
    let store = &submission.services.store;
    let id = store.invoice_of_reference(org_id, code).await.ok()??;
    store.get_invoice(org_id, &id).await.ok()?
}

/// Ends another invoice with what its bill turned out to be, if it waits (a live lease's holder
/// ends it itself); a rejected one learns its bill is gone.
async fn record(submission: &Submission, invoice: &Invoice, terminal: Terminal, metrics: &mut Metrics) {
    let store = &submission.services.store;
    if invoice.state.status == Status::Rejected {
        if let Err(error) = store.mark_cleared(&invoice.organization_id, &invoice.id).await {
            tracing::warn!(cause = format!("{error:#}"), "could not record a cleared bill");
        }
        return;
    }
    if invoice.state.status.is_terminal() {
        return;
    }
    let now = clock::now();
    let guard = Guard::Waiting {
        now_ms: clock::epoch_ms(now),
    };
    let status = terminal.status();
    match store
        .finish_invoice(invoice, guard, &terminal, &clock::rfc3339(now))
        .await
    {
        Ok(true) => {
            metrics.count(
                if status == Status::Accepted {
                    "InvoicesAccepted"
                } else {
                    "InvoicesRejected"
                },
                1,
            );
            tracing::info!(invoice_id = %invoice.id, status = status.as_str(), "another invoice ended with its pending bill");
        }
        Ok(false) => {}
        Err(error) => tracing::warn!(cause = format!("{error:#}"), "could not end another invoice"),
    }
}

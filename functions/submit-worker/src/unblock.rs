//! A Factus account with a pending bill (rejected by DIAN, or waiting for DIAN) answers every
//! other bill with a 409 until that one is deleted or validated (`manejo-errores.md`). This
//! settles the account's pending bills of ours: a rejected one is deleted (it can never become
//! valid) and recorded on its invoice; one merely waiting for DIAN is sent again (Factus takes
//! the same reference as a retry; a slow bill is never deleted) and its outcome recorded. One
//! invoicer did not send, or cannot send again, is not settled here: the account's problem,
//! counted (`ProviderAccountBlocked`, with an alarm) and waited out.

use shared::clock;
use shared::invoices::{Invoice, Kind, Status};
use shared::metrics::Metrics;
use shared::provider::{
    CallError, Calls, Clearing, Created, Provider, ProviderRef, document_request, split_reference,
};
use shared::store::{Guard, Terminal};
use shared::submission::Submission;

use crate::submit::Outcome;

/// Settles every pending bill of the account; `Err` with the outcome of the invoice waiting on
/// it when one cannot be settled now (never the invoice's fault: it spends no receive).
pub async fn unblock(
    submission: &Submission,
    provider: &Provider,
    kind: Kind,
    calls: &Calls,
    metrics: &mut Metrics,
) -> Result<(), Outcome> {
    let later = |reason: String| Outcome::Later {
        reason,
        wait: provider.block_hold(),
        account_problem: false,
    };
    let pending = provider
        .pending(kind, calls)
        .await
        .map_err(|error| waiting(error, submission, provider))?;
    for bill in pending {
        let reference = bill.reference_code.clone();
        let provider_ref = ProviderRef {
            kind,
            code: reference.clone(),
        };
        let Some((org_id, code)) = split_reference(&reference) else {
            // Somebody else's (the company's own Factus account, another integration): theirs to
            // correct and delete, not ours.
            metrics.count("ProviderAccountBlocked", 1);
            tracing::error!(
                reference,
                "a pending bill invoicer did not send blocks the provider account"
            );
            return Err(account_problem(
                submission,
                format!(
                    "the provider account is blocked by a pending bill invoicer did not send ({reference}): have it deleted at the provider"
                ),
            ));
        };
        let owner = owner(submission, kind, org_id, code).await.map_err(|error| {
            later(format!(
                "the owner of a pending bill ({reference}) could not be read: {error:#}"
            ))
        })?;
        if bill.is_rejected() {
            // Ours, rejected by DIAN: it goes (it can never become valid).
            if let Clearing::Owed(error) = provider.clear(calls, &provider_ref).await {
                return Err(waiting(error, submission, provider));
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
        // Waiting for DIAN: never deleted; sent again (Factus takes it as a retry).
        let Some(invoice) = owner else {
            metrics.count("ProviderAccountBlocked", 1);
            tracing::error!(
                reference,
                "a pending bill of ours with no invoice behind it blocks the provider account"
            );
            return Err(account_problem(
                submission,
                format!(
                    "the provider account is blocked by a pending bill under our reference with no invoice behind it ({reference}): have it validated or deleted at the provider"
                ),
            ));
        };
        let terminal = match provider.create(kind, calls, &document_request(&invoice)).await {
            Err(error) => return Err(waiting(error, submission, provider)),
            Ok(Created::Validated(issued)) => issued.into_accepted(),
            Ok(Created::RejectedByDian(errors) | Created::Invalid(errors)) => Terminal::Rejected {
                cleared: Some(provider.clear(calls, &provider_ref).await.is_cleared()),
                errors,
            },
            Ok(other) => {
                return Err(later(format!(
                    "a pending bill of ours ({reference}) blocks the provider account and could not be settled yet: {other:?}"
                )));
            }
        };
        tracing::info!(reference, "a pending bill of ours was sent again and settled");
        record(submission, &invoice, terminal, metrics).await;
    }
    Ok(())
}

/// The outcome of an invoice waiting on the account's settlement, when a call failed.
fn waiting(error: CallError, submission: &Submission, provider: &Provider) -> Outcome {
    match Outcome::from_call(error, submission.settings.account_retry) {
        Outcome::Transient { reason, .. } => Outcome::Later {
            reason,
            wait: provider.block_hold(),
            account_problem: false,
        },
        outcome => outcome,
    }
}

/// The outcome of an invoice waiting on a block invoicer cannot settle: the account's problem.
fn account_problem(submission: &Submission, reason: String) -> Outcome {
    Outcome::Later {
        reason,
        wait: submission.settings.account_retry,
        account_problem: true,
    }
}

/// The invoice (or credit note) behind one of our references, if any.
async fn owner(
    submission: &Submission,
    kind: Kind,
    org_id: &str,
    code: &str,
) -> anyhow::Result<Option<Invoice>> {
    let store = &submission.services.store;
    match store.document_of_reference(kind, org_id, code).await? {
        Some(id) => store.get_document(kind, org_id, &id).await,
        None => Ok(None),
    }
}
/// Ends another invoice with what its bill turned out to be, if it waits (a live lease's holder
/// ends it itself); a rejected one learns its bill is gone.
async fn record(submission: &Submission, invoice: &Invoice, terminal: Terminal, metrics: &mut Metrics) {
    let store = &submission.services.store;
    if invoice.state.status == Status::Rejected {
        if let Err(error) = store
            .mark_cleared(invoice.kind(), &invoice.organization_id, &invoice.id)
            .await
        {
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

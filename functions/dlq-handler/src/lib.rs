//! The dead-letter handler, fed by the submissions queue's dead-letter queue: SQS gave up on
//! these messages after `maxReceiveCount` receives. Each of their invoices (or credit notes)
//! that still waits
//! (`queued`, or `submitting` past its lease) is looked up at its organization's provider
//! account, as the worker does
//! before a message's last receive: issued and ours means `accepted` (a timeout hid it); a bill
//! DIAN rejected is deleted (it would block the account) and the invoice `rejected`; nothing
//! there (or no account serving the organization) means `failed` with its last error, retried by
//! `POST /v1/invoices/{id}/retry`. Ended
//! invoices and live leases are left alone. A look-up that fails transiently (or a bill DIAN has
//! not answered for yet) leaves the message for later; an unreadable message is dropped with an
//! error log (nothing can be done with it).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use shared::clock;
use shared::invoices::{Kind, ProviderMessage};
use shared::metrics::Metrics;
use shared::provider::{CallError, Calls, FOREIGN_BILL, Found, ProviderRef, judge};
use shared::queue::SubmissionMessage;
use shared::store::{Guard, Terminal};
use shared::submission::Submission;
use tracing::Instrument;

/// What became of one invoice.
enum Ended {
    Accepted,
    Rejected,
    Failed,
    Untouched,
}

pub async fn handle(
    submission: &Submission,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let mut metrics = Metrics::default();
    let mut response = SqsBatchResponse::default();
    let last_call_ms = submission.settings.last_call_ms(&event.context);
    for message in &event.payload.records {
        let parsed: Option<SubmissionMessage> =
            message.body.as_deref().and_then(|b| serde_json::from_str(b).ok());
        let documents = match parsed {
            // The worker acknowledges every check: the reconciler queues one again if it did not end.
            Some(SubmissionMessage::RangesCheck(_)) => continue,
            Some(message) => message.documents(),
            None => {
                tracing::error!(
                    message_id = message.message_id.as_deref().unwrap_or_default(),
                    "an unreadable message reached the dead-letter queue: dropped"
                );
                metrics.count("UnreadableMessages", 1);
                continue;
            }
        };
        let mut retry_later = false;
        for (kind, org_id, invoice_id) in documents {
            let span = tracing::info_span!("invoice", org_id = %org_id, invoice_id = %invoice_id);
            match end_waiting_invoice(submission, kind, &org_id, &invoice_id, last_call_ms)
                .instrument(span)
                .await
            {
                Ok(Ended::Accepted) => metrics.count("InvoicesAccepted", 1),
                Ok(Ended::Rejected) => metrics.count("InvoicesRejected", 1),
                Ok(Ended::Failed) => metrics.count("InvoicesFailed", 1),
                Ok(Ended::Untouched) => {}
                Err(error) => {
                    tracing::warn!(
                        cause = format!("{error:#}"),
                        "the invoice could not be ended now: later"
                    );
                    retry_later = true;
                }
            }
        }
        if retry_later {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    metrics.emit("dlq-handler");
    Ok(response)
}

async fn end_waiting_invoice(
    submission: &Submission,
    kind: Kind,
    org_id: &str,
    invoice_id: &str,
    last_call_ms: i64,
) -> anyhow::Result<Ended> {
    let store = &submission.services.store;
    let Some(invoice) = store.get_document(kind, org_id, invoice_id).await? else {
        return Ok(Ended::Untouched);
    };
    if invoice.state.status.is_terminal() {
        return Ok(Ended::Untouched);
    }
    let reference = ProviderRef::of(&invoice);
    let calls = Calls::new(0, last_call_ms);
    // No account serves the organization (any more): nothing can be looked up, nor sent.
    let found = match submission.providers.of(org_id).await.map_err(call_error)? {
        Some(provider) => provider
            .find(&calls, &reference)
            .await
            .map_err(call_error)?
            .map(|bill| (judge(bill, &invoice), provider)),
        None => None,
    };
    let (terminal, ended) = match found {
        Some((Found::Issued(bill), _)) => (bill.into_accepted(), Ended::Accepted),
        Some((Found::Foreign, _)) => (
            Terminal::Rejected {
                errors: vec![ProviderMessage::new("reference_code", FOREIGN_BILL)],
                cleared: None,
            },
            Ended::Rejected,
        ),
        Some((Found::Rejected(errors), provider)) => (
            Terminal::Rejected {
                cleared: Some(provider.clear(&calls, &reference).await.is_cleared()),
                errors,
            },
            Ended::Rejected,
        ),
        Some((Found::Slow, _)) => anyhow::bail!("DIAN has not validated its bill yet"),
        None => (Terminal::Failed, Ended::Failed),
    };
    let now = clock::now();
    let guard = Guard::Waiting {
        now_ms: clock::epoch_ms(now),
    };
    if store
        .finish_invoice(&invoice, guard, &terminal, &clock::rfc3339(now))
        .await?
    {
        tracing::info!(
            status = terminal.status().as_str(),
            "the dead-letter queue ended the invoice"
        );
        Ok(ended)
    } else {
        tracing::info!("the invoice is held by a live lease or ended meanwhile: left alone");
        Ok(Ended::Untouched)
    }
}

fn call_error(error: CallError) -> anyhow::Error {
    match error {
        CallError::Paced(wait) => anyhow::anyhow!("the provider account's pace: {} s", wait.as_secs()),
        CallError::AccountProblem(reason) | CallError::Transient(reason) => anyhow::anyhow!(reason),
    }
}

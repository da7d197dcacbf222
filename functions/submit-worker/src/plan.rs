//! The invocation's work: one job per invoice its messages name; and first, the deletions the
//! provider accounts of their organizations owe (rejected bills a failed deletion left pending,
//! which block an account).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use shared::invoices::Kind;
use shared::provider::{CallError, Calls, Clearing, Provider, ProviderRef, split_reference};
use shared::queue::SubmissionMessage;
use shared::submission::Submission;

/// A received message, read.
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub receive_count: u32,
    pub content: Option<SubmissionMessage>,
}

impl Received {
    pub fn read(message: &SqsMessage) -> Self {
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

    /// The (kind, organization, id) of each invoice or credit note the message names.
    pub fn documents(&self) -> Vec<(Kind, String, String)> {
        self.content
            .as_ref()
            .map(SubmissionMessage::documents)
            .unwrap_or_default()
    }
}

/// One invoice (or credit note) to work.
#[derive(Clone, Debug)]
pub struct Job {
    /// Its message, by index in the event.
    pub message: usize,
    pub kind: Kind,
    pub org_id: String,
    /// The invoice's id, or the credit note's.
    pub invoice_id: String,
    pub receive_count: u32,
}

/// The jobs of `messages`, one per invoice.
pub fn jobs(messages: &[Received]) -> Vec<Job> {
    messages
        .iter()
        .enumerate()
        .flat_map(|(index, message)| {
            message
                .documents()
                .into_iter()
                .map(move |(kind, org_id, invoice_id)| Job {
                    message: index,
                    kind,
                    org_id,
                    invoice_id,
                    receive_count: message.receive_count,
                })
        })
        .collect()
}

/// Deletes the rejected bills whose deletion failed before (a pending rejected bill blocks the
/// account), as each account's budget item lists them, for the accounts of the jobs'
/// organizations: how long each organization whose account could not pay now must wait (and
/// nothing of it be submitted meanwhile).
pub async fn pay_deletions(submission: &Submission, jobs: &[Job], stop_ms: i64) -> HashMap<String, Duration> {
    let organizations: BTreeSet<&str> = jobs.iter().map(|job| job.org_id.as_str()).collect();
    let mut paid: HashMap<String, Result<(), Duration>> = HashMap::new();
    let mut held = HashMap::new();
    for org_id in organizations {
        // An organization without an account, or whose account cannot be read, is its
        // attempts' to answer.
        let Ok(Some(provider)) = submission.providers.of(org_id).await else {
            continue;
        };
        let result = match paid.get(provider.account()) {
            Some(result) => *result,
            None => {
                let result = pay_account(submission, &provider, stop_ms).await;
                paid.insert(provider.account().to_owned(), result);
                result
            }
        };
        if let Err(wait) = result {
            held.insert(org_id.to_owned(), wait);
        }
    }
    held
}

/// Pays the deletions one account owes; `Err` with how long to wait when one could not be made.
async fn pay_account(submission: &Submission, provider: &Provider, stop_ms: i64) -> Result<(), Duration> {
    if let Err(error) = provider.refresh().await {
        tracing::warn!(?error, "the provider account's budget item could not be read");
    }
    for owed in provider.pacer().uncleared() {
        let reference = ProviderRef::of_owed_key(&owed);
        if let Clearing::Owed(error) = provider.clear(&Calls::new(0, stop_ms), &reference).await {
            tracing::warn!(
                reference = %reference.code,
                "a deletion owed at the provider could not be made: nothing is submitted now"
            );
            return Err(match error {
                CallError::Paced(wait) => wait,
                CallError::AccountProblem(_) => submission.settings.account_retry,
                CallError::Transient(_) => submission.settings.retry_base,
            });
        }
        tracing::info!(reference = %reference.code, "a deletion owed at the provider was made");
        if let Some((org_id, code)) = split_reference(&reference.code) {
            let store = &submission.services.store;
            let kind = reference.kind;
            if let Ok(Some(id)) = store.document_of_reference(kind, org_id, code).await
                && let Err(error) = store.mark_cleared(kind, org_id, &id).await
            {
                tracing::warn!(cause = format!("{error:#}"), "could not record a cleared bill");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let invoice = |id: &str| (Kind::Invoice, "o".to_owned(), id.to_owned());
        assert_eq!(chunk.documents(), [invoice("i"), invoice("j")]);
        assert_eq!(chunk.receive_count, 3);
        let single = message(r#"{"org_id":"o","invoice_id":"i"}"#);
        assert_eq!(single.documents(), [invoice("i")]);
        assert!(message("poison").documents().is_empty());
    }
}

//! The invocation's work: one job per invoice its messages name; and first, the deletions the
//! provider accounts of their organizations owe (rejected bills a failed deletion left pending,
//! which block an account).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use shared::provider::{CallError, Calls, Clearing, Provider, split_reference};
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

    /// The (organization, invoice) of each invoice the message names.
    pub fn invoices(&self) -> Vec<(String, String)> {
        match &self.content {
            Some(SubmissionMessage::Invoice(message)) => {
                vec![(message.org_id.clone(), message.invoice_id.clone())]
            }
            Some(SubmissionMessage::Chunk(chunk)) => chunk
                .invoice_ids
                .iter()
                .map(|id| (chunk.org_id.clone(), id.clone()))
                .collect(),
            Some(SubmissionMessage::RangesCheck(_)) | None => Vec::new(),
        }
    }
}

/// One invoice to work.
#[derive(Clone, Debug)]
pub struct Job {
    /// Its message, by index in the event.
    pub message: usize,
    pub org_id: String,
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
                .invoices()
                .into_iter()
                .map(move |(org_id, invoice_id)| Job {
                    message: index,
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
    for reference in provider.pacer().uncleared() {
        if let Clearing::Owed(error) = provider.clear(&Calls::new(0, stop_ms), &reference).await {
            tracing::warn!(
                reference,
                "a deletion owed at the provider could not be made: nothing is submitted now"
            );
            return Err(match error {
                CallError::Paced(wait) => wait,
                CallError::AccountProblem(_) => submission.settings.account_retry,
                CallError::Transient(_) => submission.settings.retry_base,
            });
        }
        tracing::info!(reference, "a deletion owed at the provider was made");
        if let Some((org_id, code)) = split_reference(&reference) {
            let store = &submission.services.store;
            if let Ok(Some(invoice_id)) = store.invoice_of_reference(org_id, code).await
                && let Err(error) = store.mark_cleared(org_id, &invoice_id).await
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
        assert_eq!(
            chunk.invoices(),
            [("o".to_owned(), "i".to_owned()), ("o".to_owned(), "j".to_owned())]
        );
        assert_eq!(chunk.receive_count, 3);
        let single = message(r#"{"org_id":"o","invoice_id":"i"}"#);
        assert_eq!(single.invoices(), [("o".to_owned(), "i".to_owned())]);
        assert!(message("poison").invoices().is_empty());
    }
}

//! The submission of an invoice in the table: a worker claims it with a lease (and gets it in
//! the same call), then ends its attempt with a terminal state or by putting it back in the
//! queue, each write conditional on its lease. The dead-letter handler ends invoices that wait
//! (queued, or submitting past their lease) without one.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::batches::{Counts, counts_change};
use super::change::{Change, n, s};
use super::events::EventRecord;
use super::invoices::invoice_of;
use super::{Store, applied, key, keys, record};
use crate::domain::credit::CorrectionConcept;
use crate::invoices::{Invoice, Kind, ProviderMessage, Status};
use crate::webhooks::EventType;

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// Ours until the lease expires.
    Claimed { invoice: Box<Invoice>, lease: String },
    /// Accepted, rejected or failed already: nothing to do.
    Finished,
    /// Another worker holds it until this time (epoch ms).
    LeasedUntil(i64),
    /// No such invoice.
    Missing,
}

/// The end of an invoice's submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Terminal {
    Accepted {
        number: String,
        cufe: String,
        qr_url: String,
        public_url: Option<String>,
        /// DIAN's notifications: the invoice is valid.
        notices: Vec<ProviderMessage>,
    },
    Rejected {
        errors: Vec<ProviderMessage>,
        /// Whether the rejected bill was deleted at the provider; `None` when the provider kept
        /// nothing (its own validation refused it).
        cleared: Option<bool>,
    },
    /// The dead-letter queue gave up on it; its last error stays.
    Failed,
}

impl Terminal {
    pub fn status(&self) -> Status {
        match self {
            Terminal::Accepted { .. } => Status::Accepted,
            Terminal::Rejected { .. } => Status::Rejected,
            Terminal::Failed => Status::Failed,
        }
    }
}

/// Who may end an attempt: the worker holding the lease, or (for the dead-letter handler)
/// anyone, while the invoice waits without a live lease.
#[derive(Clone, Copy, Debug)]
pub enum Guard<'a> {
    Lease(&'a str),
    Waiting { now_ms: i64 },
}

/// The write that ends an invoice's submission.
pub(crate) fn terminal_change(invoice: &Invoice, guard: Guard<'_>, terminal: &Terminal, now: &str) -> Change {
    let (org_id, invoice_id) = (&invoice.organization_id, &invoice.id);
    let kind = invoice.kind();
    let status = terminal.status();
    let mut sets = vec!["#status = :status", "updated_at = :now", "GSI1PK = :by_status"];
    match terminal {
        Terminal::Accepted { .. } => {
            sets.extend([
                "#number = :number",
                "cufe = :cufe",
                "qr_url = :qr",
                "public_url = :public_url",
                "provider_notices = :notices",
                "accepted_at = :now",
            ]);
        }
        Terminal::Rejected { .. } => {
            sets.extend(["provider_errors = :errors", "provider_cleared = :cleared"])
        }
        Terminal::Failed => {}
    }
    let expression = format!(
        "SET {} REMOVE GSI3PK, GSI3SK, lease_token, lease_expires_at",
        sets.join(", ")
    );
    let mut change = Change::new(
        keys::document_partition(kind, org_id, invoice_id),
        keys::document(kind, invoice_id),
        expression,
    )
    .name("#status", "status")
    .value(":status", s(status.as_str()))
    .value(":now", s(now))
    .value(
        ":by_status",
        s(keys::documents_by_status(
            kind,
            org_id,
            status.as_str(),
            keys::invoice_shard(invoice_id),
        )),
    );
    match terminal {
        Terminal::Accepted {
            number,
            cufe,
            qr_url,
            public_url,
            notices,
        } => {
            change = change
                .name("#number", "number")
                .value(":number", s(number))
                .value(":cufe", s(cufe))
                .value(":qr", s(qr_url))
                .value(":public_url", optional(public_url.as_deref()))
                .value(":notices", messages(notices));
        }
        Terminal::Rejected { errors, cleared } => {
            change = change.value(":errors", messages(errors)).value(
                ":cleared",
                cleared.map_or(AttributeValue::Null(true), AttributeValue::Bool),
            );
        }
        Terminal::Failed => {}
    }
    match guard {
        Guard::Lease(lease) => change.condition("lease_token = :lease").value(":lease", s(lease)),
        Guard::Waiting { now_ms } => change
            .condition("#status = :queued OR (#status = :submitting AND lease_expires_at < :now_ms)")
            .value(":queued", s(Status::Queued.as_str()))
            .value(":submitting", s(Status::Submitting.as_str()))
            .value(":now_ms", n(now_ms)),
    }
}

/// The webhook event that reports `terminal` of `invoice` (none for a failed credit note): the
/// resource as its GET answers once the change is written.
pub(crate) fn terminal_event(invoice: &Invoice, terminal: &Terminal, now: &str) -> Option<EventRecord> {
    let event_type = match (invoice.kind(), terminal) {
        (Kind::Invoice, Terminal::Accepted { .. }) => EventType::InvoiceAccepted,
        (Kind::Invoice, Terminal::Rejected { .. }) => EventType::InvoiceRejected,
        (Kind::Invoice, Terminal::Failed) => EventType::InvoiceFailed,
        (Kind::CreditNote, Terminal::Accepted { .. }) => EventType::CreditNoteAccepted,
        (Kind::CreditNote, Terminal::Rejected { .. }) => EventType::CreditNoteRejected,
        (Kind::CreditNote, Terminal::Failed) => return None,
    };
    let mut after = invoice.clone();
    let state = &mut after.state;
    state.status = terminal.status();
    state.updated_at = now.to_owned();
    match terminal {
        Terminal::Accepted {
            number,
            cufe,
            qr_url,
            public_url,
            notices,
        } => {
            state.number = Some(number.clone());
            state.cufe = Some(cufe.clone());
            state.qr_url = Some(qr_url.clone());
            state.public_url.clone_from(public_url);
            state.provider_notices.clone_from(notices);
            state.accepted_at = Some(now.to_owned());
        }
        Terminal::Rejected { errors, cleared } => {
            state.provider_errors.clone_from(errors);
            state.provider_cleared = *cleared;
        }
        Terminal::Failed => {}
    }
    let data = match after.kind() {
        Kind::Invoice => after.view(),
        Kind::CreditNote => after.credit_note_view(),
    };
    let at = crate::clock::parse_rfc3339(now).unwrap_or_else(crate::clock::now);
    Some(EventRecord::new(&invoice.organization_id, event_type, &data, at))
}

/// For a credit note, the write that records its end on its invoice's entry (in the same
/// transaction as [`terminal_change`]); an accepted annulment annuls the invoice.
fn credit_entry_change(note: &Invoice, terminal: &Terminal, now: &str) -> Option<Change> {
    let credit = note.credit.as_ref()?;
    let org_id = &note.organization_id;
    let invoice_id = &credit.invoice_id;
    let mut sets = vec!["credit_notes.#note.#status = :status"];
    let annuls =
        matches!(terminal, Terminal::Accepted { .. }) && credit.concept == CorrectionConcept::Annulment;
    if matches!(terminal, Terminal::Accepted { .. }) {
        sets.push("credit_notes.#note.#number = :number");
    }
    if annuls {
        sets.extend(["#status = :annulled", "updated_at = :now", "GSI1PK = :by_status"]);
    }
    let mut change = Change::new(
        keys::invoice_partition(org_id, invoice_id),
        keys::invoice(invoice_id),
        format!("SET {}", sets.join(", ")),
    )
    .condition("attribute_exists(credit_notes.#note)")
    .name("#note", &note.id)
    .name("#status", "status")
    .value(":status", s(terminal.status().as_str()));
    if let Terminal::Accepted { number, .. } = terminal {
        change = change.name("#number", "number").value(":number", s(number));
    }
    if annuls {
        change = change
            .value(":annulled", s(Status::Annulled.as_str()))
            .value(":now", s(now))
            .value(
                ":by_status",
                s(keys::by_status(
                    org_id,
                    Status::Annulled.as_str(),
                    keys::invoice_shard(invoice_id),
                )),
            );
    }
    Some(change)
}

fn optional(text: Option<&str>) -> AttributeValue {
    text.map_or(AttributeValue::Null(true), s)
}

fn messages(messages: &[ProviderMessage]) -> AttributeValue {
    AttributeValue::L(
        messages
            .iter()
            .map(|m| {
                AttributeValue::M(
                    [
                        ("rule".to_owned(), s(&m.rule)),
                        ("message".to_owned(), s(&m.message)),
                    ]
                    .into_iter()
                    .collect(),
                )
            })
            .collect(),
    )
}

#[derive(serde::Deserialize)]
struct LeaseState {
    status: Status,
    lease_expires_at: Option<i64>,
}

impl Store {
    /// Claims a document of `kind` that is `queued`, or `submitting` past its lease, until
    /// `lease_until_ms`.
    pub async fn claim_document(
        &self,
        kind: Kind,
        org_id: &str,
        invoice_id: &str,
        now_ms: i64,
        lease_until_ms: i64,
        now: &str,
    ) -> anyhow::Result<Claim> {
        let lease = crate::ids::new_id();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::document_partition(kind, org_id, invoice_id), keys::document(kind, invoice_id))))
            .update_expression(
                "SET #status = :submitting, lease_token = :lease, lease_expires_at = :until, updated_at = :now, \
                 GSI1PK = :by_status, GSI3PK = :shard, GSI3SK = :due ADD attempts :one",
            )
            .condition_expression(
                "attribute_exists(PK) AND (#status = :queued OR (#status = :submitting AND lease_expires_at < :now_ms))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":submitting", s(Status::Submitting.as_str()))
            .expression_attribute_values(":queued", s(Status::Queued.as_str()))
            .expression_attribute_values(":lease", s(lease.clone()))
            .expression_attribute_values(":until", n(lease_until_ms))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":now_ms", n(now_ms))
            .expression_attribute_values(":by_status", s(keys::documents_by_status(kind, org_id, Status::Submitting.as_str(), keys::invoice_shard(invoice_id))))
            .expression_attribute_values(":shard", s(keys::recovery_shard(invoice_id)))
            .expression_attribute_values(":due", s(keys::recovery_due(lease_until_ms, org_id, invoice_id)))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Claim::Claimed {
                invoice: Box::new(invoice_of(output.attributes.unwrap_or_default())?),
                lease,
            }),
            Err(error) => {
                let old = match error.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(failed)) => {
                        failed.item.clone()
                    }
                    _ => return Err(aws_sdk_dynamodb::Error::from(error).into()),
                };
                let Some(old) = old else { return Ok(Claim::Missing) };
                let state: LeaseState = record(old)?;
                Ok(if state.status.is_terminal() {
                    Claim::Finished
                } else {
                    Claim::LeasedUntil(state.lease_expires_at.unwrap_or(now_ms))
                })
            }
        }
    }

    /// Ends an invoice's (or a credit note's) submission; `false` when the guard no longer holds
    /// (another worker took over, or it ended already). An invoice of a batch moves the batch's
    /// counters with it, and may complete the batch; a credit note updates its entry on its
    /// invoice with it; its webhook event is written with it, and announced.
    pub async fn finish_invoice(
        &self,
        invoice: &Invoice,
        guard: Guard<'_>,
        terminal: &Terminal,
        now: &str,
    ) -> anyhow::Result<bool> {
        let change = terminal_change(invoice, guard, terminal, now);
        let with = match &invoice.batch_id {
            Some(batch_id) => Some(counts_change(
                &invoice.organization_id,
                batch_id,
                &Counts::of(terminal.status()),
                now,
            )),
            None => credit_entry_change(invoice, terminal, now),
        };
        let event = terminal_event(invoice, terminal, now);
        if with.is_none() && event.is_none() {
            return self.apply(change).await;
        }
        let mut actions = vec![change.into_action(&self.table)?];
        if let Some(with) = with {
            actions.push(with.into_action(&self.table)?);
        }
        if let Some(event) = &event {
            actions.extend(self.event_actions(event)?);
        }
        match self.transact(actions).await {
            Ok(()) => {
                self.announce(&event).await;
                if let Some(batch_id) = &invoice.batch_id {
                    self.complete_batch_if_done(&invoice.organization_id, batch_id, now)
                        .await?;
                }
                Ok(true)
            }
            Err(refusal) if refusal.at(0) => Ok(false),
            Err(refusal) => Err(refusal.into_error("ending an invoice")),
        }
    }

    /// Puts a claimed invoice back to `queued` after a transient failure (or, `attempted`
    /// false, before any provider call: its claim does not count as an attempt), due for
    /// recovery at `recover_at_ms` should its next message be lost; `false` when the lease was
    /// lost.
    pub async fn release_invoice(
        &self,
        invoice: &Invoice,
        lease: &str,
        error: &str,
        recover_at_ms: i64,
        now: &str,
        attempted: bool,
    ) -> anyhow::Result<bool> {
        let (org_id, invoice_id) = (&invoice.organization_id, &invoice.id);
        let kind = invoice.kind();
        let uncounted = if attempted { 0 } else { -1 };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::document_partition(kind, org_id, invoice_id), keys::document(kind, invoice_id))))
            .update_expression(
                "SET #status = :queued, last_error = :error, updated_at = :now, GSI1PK = :by_status, GSI3SK = :due \
                 REMOVE lease_token, lease_expires_at ADD attempts :uncounted",
            )
            .expression_attribute_values(":uncounted", n(uncounted))
            .condition_expression("lease_token = :lease")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", s(Status::Queued.as_str()))
            .expression_attribute_values(":error", s(error))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":by_status", s(keys::documents_by_status(kind, org_id, Status::Queued.as_str(), keys::invoice_shard(invoice_id))))
            .expression_attribute_values(":due", s(keys::recovery_due(recover_at_ms, org_id, invoice_id)))
            .expression_attribute_values(":lease", s(lease))
            .send()
            .await;
        applied(result)
    }
}

impl Store {
    /// Records that a rejected document's pending bill (or note) is gone from the provider.
    pub async fn mark_cleared(&self, kind: Kind, org_id: &str, invoice_id: &str) -> anyhow::Result<bool> {
        let change = Change::new(
            keys::document_partition(kind, org_id, invoice_id),
            keys::document(kind, invoice_id),
            "SET provider_cleared = :cleared",
        )
        .condition("#status = :rejected")
        .name("#status", "status")
        .value(":cleared", AttributeValue::Bool(true))
        .value(":rejected", s(Status::Rejected.as_str()));
        self.apply(change).await
    }
}

//! Credit notes in the table: stored with their reference code's uniqueness item, their entry on
//! their invoice (and an idempotency record) in one transaction, conditional on the invoice's
//! notes being as they were read, so that two notes at once can never credit the same part of
//! an invoice: the second is refused and checked again against the first.

use super::change::{Change, n, s};
use super::idempotency::IdempotencyRecord;
use super::invoices::{invoice_item, versioned_invoice_of};
use super::{Store, keys};
use crate::credit_notes::CreditNoteEntry;
use crate::invoices::{Invoice, Kind, Status};

/// Why a credit note was not stored.
#[derive(Debug, thiserror::Error)]
pub enum CreateCreditNoteError {
    #[error("reference code {reference_code} is used by credit note {existing_id}")]
    DuplicateReference {
        reference_code: String,
        existing_id: String,
    },
    #[error("the idempotency key was used already")]
    IdempotencyKeyUsed,
    /// Another note, or the invoice's state, changed since it was read: read it again.
    #[error("the invoice changed since it was read")]
    InvoiceChanged,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl Store {
    /// An invoice with the version of its credit notes, which [`Store::create_credit_note`]
    /// expects unchanged.
    pub async fn get_invoice_for_credit(
        &self,
        org_id: &str,
        invoice_id: &str,
    ) -> anyhow::Result<Option<(Invoice, u64)>> {
        self.get(
            keys::invoice_partition(org_id, invoice_id),
            keys::invoice(invoice_id),
            true,
        )
        .await?
        .map(versioned_invoice_of)
        .transpose()
    }

    /// Stores `note` of `invoice` (read at `version`), its reference code's uniqueness item, its
    /// entry on the invoice and, with a key, the idempotency record, in one transaction.
    pub async fn create_credit_note(
        &self,
        invoice: &Invoice,
        version: u64,
        note: &Invoice,
        recover_at_ms: i64,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), CreateCreditNoteError> {
        let org = &note.organization_id;
        let reference_code = note.document.input.reference_code.as_str();
        let entry = CreditNoteEntry::of(note)
            .ok_or_else(|| anyhow::anyhow!("a credit note without what it credits"))?;
        let reference = super::item(
            &serde_json::json!({"invoice_id": note.id}),
            keys::reference_partition(org, reference_code),
            keys::document_reference(Kind::CreditNote, reference_code),
        )?;
        // The first note makes the map; the next ones add their own entry to it.
        let (expression, entry_value) = if invoice.credit_notes.is_empty() {
            let map = std::collections::BTreeMap::from([(note.id.clone(), entry)]);
            ("SET credit_notes = :entry", serde_dynamo::to_attribute_value(map))
        } else {
            (
                "SET credit_notes.#note = :entry",
                serde_dynamo::to_attribute_value(entry),
            )
        };
        let mut on_invoice = Change::new(
            keys::invoice_partition(org, &invoice.id),
            keys::invoice(&invoice.id),
            format!("{expression}, credit_version = :next"),
        )
        .condition(if version == 0 {
            "#status = :accepted AND (attribute_not_exists(credit_version) OR credit_version = :read)"
        } else {
            "#status = :accepted AND credit_version = :read"
        })
        .name("#status", "status")
        .value(":entry", entry_value.map_err(anyhow::Error::from)?)
        .value(":accepted", s(Status::Accepted.as_str()))
        .value(":read", n(i64::try_from(version).unwrap_or(i64::MAX)))
        .value(":next", n(i64::try_from(version + 1).unwrap_or(i64::MAX)));
        if !invoice.credit_notes.is_empty() {
            on_invoice = on_invoice.name("#note", &note.id);
        }
        let mut actions = vec![
            self.put_if_absent(invoice_item(note, Some(recover_at_ms))?)?,
            self.put_if_absent(reference)?,
            on_invoice.into_action(&self.table)?,
        ];
        if let Some(record) = idempotency {
            actions.push(self.put_idempotency(org, record)?);
        }
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(refusal) if refusal.at(3) => Err(CreateCreditNoteError::IdempotencyKeyUsed),
            Err(refusal) if refusal.at(1) => {
                let existing_id = self
                    .document_of_reference(Kind::CreditNote, org, reference_code)
                    .await?
                    .unwrap_or_default();
                Err(CreateCreditNoteError::DuplicateReference {
                    reference_code: reference_code.to_owned(),
                    existing_id,
                })
            }
            Err(refusal) if refusal.at(2) => Err(CreateCreditNoteError::InvoiceChanged),
            Err(refusal) => Err(refusal.into_error("storing a credit note").into()),
        }
    }
}

//! Invoices in the table: created with their reference-code uniqueness item (and idempotency
//! record) in one transaction, read by id, listed newest first by organization, status or
//! batch, and indexed for recovery while they wait for submission.

use std::collections::BTreeMap;

use anyhow::Context;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::batches::{Counts, counts_change};
use super::change::{Change, s};
use super::idempotency::IdempotencyRecord;
use super::{Item, PageKey, Store, applied, key, keys, record};
use crate::credit_notes::{Credit, CreditNoteEntry};
use crate::invoices::{Document, Invoice, Kind, ProviderMessage, Status, SubmissionState};

/// The attributes of an invoice item besides keys and indexes.
#[derive(Serialize, Deserialize)]
struct InvoiceAttributes {
    id: String,
    organization_id: String,
    batch_id: Option<String>,
    reference_code: String,
    created_at: String,
    status: Status,
    attempts: u32,
    last_error: Option<String>,
    number: Option<String>,
    cufe: Option<String>,
    qr_url: Option<String>,
    #[serde(default)]
    public_url: Option<String>,
    provider_errors: Vec<ProviderMessage>,
    #[serde(default)]
    provider_notices: Vec<ProviderMessage>,
    #[serde(default)]
    provider_cleared: Option<bool>,
    updated_at: String,
    accepted_at: Option<String>,
    /// The input, totals and lines as JSON: written once, read whole, never queried.
    document: String,
    /// A credit note's: what it credits, as JSON (written once, read whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credit: Option<String>,
    /// A credit note's invoice, what a list of one invoice's notes filters on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credited_invoice_id: Option<String>,
    /// An invoice's credit notes by id: a map, so that a note's end updates its own entry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    credit_notes: BTreeMap<String, CreditNoteEntry>,
    /// Moves with every change of `credit_notes` that a new note makes: what keeps two notes at
    /// once from crediting the same part of an invoice.
    #[serde(default)]
    credit_version: u64,
}

/// The item of an invoice, with the index attributes its state puts it in.
pub(crate) fn invoice_item(invoice: &Invoice, recover_at_ms: Option<i64>) -> anyhow::Result<Item> {
    let state = &invoice.state;
    let attributes = InvoiceAttributes {
        id: invoice.id.clone(),
        organization_id: invoice.organization_id.clone(),
        batch_id: invoice.batch_id.clone(),
        reference_code: invoice.document.input.reference_code.as_str().to_owned(),
        created_at: invoice.created_at.clone(),
        status: state.status,
        attempts: state.attempts,
        last_error: state.last_error.clone(),
        number: state.number.clone(),
        cufe: state.cufe.clone(),
        qr_url: state.qr_url.clone(),
        public_url: state.public_url.clone(),
        provider_errors: state.provider_errors.clone(),
        provider_notices: state.provider_notices.clone(),
        provider_cleared: state.provider_cleared,
        updated_at: state.updated_at.clone(),
        accepted_at: state.accepted_at.clone(),
        document: serde_json::to_string(&invoice.document)?,
        credit: invoice.credit.as_ref().map(serde_json::to_string).transpose()?,
        credited_invoice_id: invoice.credit.as_ref().map(|credit| credit.invoice_id.clone()),
        credit_notes: invoice.credit_notes.clone(),
        credit_version: 0,
    };
    let org = &invoice.organization_id;
    let kind = invoice.kind();
    let mut item = super::item(
        &attributes,
        keys::document_partition(kind, org, &invoice.id),
        keys::document(kind, &invoice.id),
    )?;
    let mut set = |name: &str, value: String| item.insert(name.to_owned(), AttributeValue::S(value));
    let shard = keys::invoice_shard(&invoice.id);
    set(
        "GSI1PK",
        keys::documents_by_status(kind, org, state.status.as_str(), shard),
    );
    set("GSI1SK", keys::document(kind, &invoice.id));
    if let Some(batch) = &invoice.batch_id {
        set("GSI2PK", keys::by_batch(org, batch, shard));
        set("GSI2SK", keys::invoice(&invoice.id));
    }
    if let Some(due) = recover_at_ms {
        set("GSI3PK", keys::recovery_shard(&invoice.id));
        set("GSI3SK", keys::recovery_due(due, org, &invoice.id));
    }
    Ok(item)
}

/// The invoice (or credit note) an item holds.
pub(crate) fn invoice_of(item: Item) -> anyhow::Result<Invoice> {
    Ok(versioned_invoice_of(item)?.0)
}

/// The invoice an item holds, with the version of its credit notes.
pub(crate) fn versioned_invoice_of(item: Item) -> anyhow::Result<(Invoice, u64)> {
    let attributes: InvoiceAttributes = record(item)?;
    let document: Document = serde_json::from_str(&attributes.document).context("an invoice's document")?;
    let credit: Option<Credit> = attributes
        .credit
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .context("a credit note's credit")?;
    let invoice = Invoice {
        id: attributes.id,
        organization_id: attributes.organization_id,
        batch_id: attributes.batch_id,
        created_at: attributes.created_at,
        state: SubmissionState {
            status: attributes.status,
            attempts: attributes.attempts,
            last_error: attributes.last_error,
            number: attributes.number,
            cufe: attributes.cufe,
            qr_url: attributes.qr_url,
            public_url: attributes.public_url,
            provider_errors: attributes.provider_errors,
            provider_notices: attributes.provider_notices,
            provider_cleared: attributes.provider_cleared,
            updated_at: attributes.updated_at,
            accepted_at: attributes.accepted_at,
        },
        document,
        credit,
        credit_notes: attributes.credit_notes,
    };
    Ok((invoice, attributes.credit_version))
}

/// Why an invoice was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateInvoiceError {
    #[error("reference code {reference_code} is used by invoice {existing_id}")]
    DuplicateReference {
        reference_code: String,
        existing_id: String,
    },
    #[error("the idempotency key was used already")]
    IdempotencyKeyUsed,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Which invoices (or credit notes) a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    pub kind: Kind,
    pub status: Option<Status>,
    pub batch_id: Option<String>,
    /// Credit notes of this invoice only.
    pub invoice_id: Option<String>,
}

/// Why a `failed` (or a corrected `rejected`) invoice could not go back to `queued`.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("the invoice is no longer in the state it was retried from")]
    StateChanged,
    #[error("the idempotency key was used already")]
    IdempotencyKeyUsed,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// An invoice, a batch, or an organization's numbering ranges, waiting in the recovery index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryEntry {
    pub org_id: String,
    /// The invoice's id, the batch's, or the organization's.
    pub id: String,
    pub kind: Recovering,
    due_key: String,
}

/// What a recovery entry waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovering {
    /// An invoice, to be queued (again).
    Invoice,
    /// A credit note, to be queued (again).
    CreditNote,
    /// A webhook event whose fan-out was not done: to be announced again.
    Event,
    /// A pending webhook delivery whose message is late, maybe lost: to be queued again (its
    /// id is `<webhook>#<event>`).
    Delivery,
    /// A batch whose ingest or completion is due ([`Store::due_for_recovery`]).
    Batch,
    /// A connected organization whose numbering ranges are due to be checked.
    NumberingRanges,
}

/// The page key of an invoice list: the id of the last invoice shown.
const BEFORE: &str = "before";

impl Store {
    pub(crate) fn put_if_absent(&self, item: Item) -> anyhow::Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()?,
            )
            .build())
    }

    /// Stores a new invoice, its reference code's uniqueness item and, with an idempotency key,
    /// the record that replays this creation, in one transaction.
    pub async fn create_invoice(
        &self,
        invoice: &Invoice,
        recover_at_ms: i64,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), CreateInvoiceError> {
        let org = &invoice.organization_id;
        let reference_code = invoice.document.input.reference_code.as_str();
        let reference = super::item(
            &serde_json::json!({"invoice_id": invoice.id}),
            keys::reference_partition(org, reference_code),
            keys::reference(reference_code),
        )?;
        let mut actions = vec![
            self.put_if_absent(invoice_item(invoice, Some(recover_at_ms))?)?,
            self.put_if_absent(reference)?,
        ];
        if let Some(record) = idempotency {
            actions.push(self.put_idempotency(org, record)?);
        }
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(refusal) if refusal.at(2) => Err(CreateInvoiceError::IdempotencyKeyUsed),
            Err(refusal) if refusal.at(1) => {
                let existing_id = self
                    .invoice_of_reference(org, reference_code)
                    .await?
                    .unwrap_or_default();
                Err(CreateInvoiceError::DuplicateReference {
                    reference_code: reference_code.to_owned(),
                    existing_id,
                })
            }
            Err(refusal) => Err(refusal.into_error("storing an invoice").into()),
        }
    }

    /// The invoice that holds a reference code in an organization.
    pub async fn invoice_of_reference(
        &self,
        org_id: &str,
        reference_code: &str,
    ) -> anyhow::Result<Option<String>> {
        self.document_of_reference(Kind::Invoice, org_id, reference_code)
            .await
    }

    /// The document of `kind` that holds a reference code in an organization.
    pub async fn document_of_reference(
        &self,
        kind: Kind,
        org_id: &str,
        reference_code: &str,
    ) -> anyhow::Result<Option<String>> {
        let item = self
            .get(
                keys::reference_partition(org_id, reference_code),
                keys::document_reference(kind, reference_code),
                false,
            )
            .await?;
        Ok(item.and_then(|item| item.get("invoice_id")?.as_s().ok().cloned()))
    }

    /// One invoice of one organization.
    pub async fn get_invoice(&self, org_id: &str, invoice_id: &str) -> anyhow::Result<Option<Invoice>> {
        self.get_document(Kind::Invoice, org_id, invoice_id).await
    }

    /// One document of `kind` of one organization.
    pub async fn get_document(&self, kind: Kind, org_id: &str, id: &str) -> anyhow::Result<Option<Invoice>> {
        self.get(
            keys::document_partition(kind, org_id, id),
            keys::document(kind, id),
            true,
        )
        .await?
        .map(invoice_of)
        .transpose()
    }

    /// A page of an organization's invoices, newest first. A list's invoices (all of them, one
    /// status's in GSI1, one batch's in GSI2, filtered by status there) are spread over
    /// [`keys::SHARDS`] partitions: a page queries them all at once, each below where the last
    /// page ended, and keeps the newest `limit` of what they read down to the newest invoice at
    /// which one of them stopped reading (below it, that partition is unread). So every invoice
    /// comes once and in order; a filtered page may come back short, even empty, with a cursor.
    pub async fn list_invoices(
        &self,
        org_id: &str,
        filter: &InvoiceFilter,
        limit: u32,
        after: Option<&PageKey>,
    ) -> anyhow::Result<(Vec<Invoice>, Option<PageKey>)> {
        let before = after.and_then(|key| key.get(BEFORE)).map(String::as_str);
        let shards = (0..keys::SHARDS).map(|shard| self.list_shard(org_id, filter, shard, limit, before));
        let mut invoices = Vec::new();
        let mut floor: Option<String> = None;
        for (shard_invoices, stopped_at) in futures_util::future::try_join_all(shards).await? {
            invoices.extend(shard_invoices);
            floor = floor.max(stopped_at);
        }
        invoices.retain(|invoice: &Invoice| floor.as_ref().is_none_or(|floor| invoice.id >= *floor));
        invoices.sort_by(|a, b| b.id.cmp(&a.id));
        let limit = usize::try_from(limit)?;
        let next = if invoices.len() > limit {
            invoices.truncate(limit);
            invoices.last().map(|invoice| invoice.id.clone())
        } else {
            floor
        };
        Ok((invoices, next.map(|id| PageKey::from([(BEFORE.to_owned(), id)]))))
    }

    /// Up to `limit` invoices of one shard of a list, newest first, older than `before`, and the
    /// invoice at which the query stopped reading, if it did.
    async fn list_shard(
        &self,
        org_id: &str,
        filter: &InvoiceFilter,
        shard: u32,
        limit: u32,
        before: Option<&str>,
    ) -> anyhow::Result<(Vec<Invoice>, Option<String>)> {
        let kind = filter.kind;
        let (index, partition, sort, key) = match (&filter.batch_id, filter.status) {
            (Some(batch), _) => (
                Some("GSI2"),
                "GSI2PK",
                "GSI2SK",
                keys::by_batch(org_id, batch, shard),
            ),
            (None, Some(status)) => (
                Some("GSI1"),
                "GSI1PK",
                "GSI1SK",
                keys::documents_by_status(kind, org_id, status.as_str(), shard),
            ),
            (None, None) => (None, "PK", "SK", keys::documents(kind, org_id, shard)),
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .scan_index_forward(false)
            .limit(i32::try_from(limit)?)
            .expression_attribute_values(":pk", AttributeValue::S(key));
        query = match before {
            Some(id) => query
                .key_condition_expression(format!("{partition} = :pk AND {sort} < :before"))
                .expression_attribute_values(":before", AttributeValue::S(keys::document(kind, id))),
            None => query.key_condition_expression(format!("{partition} = :pk")),
        };
        if let (Some(_), Some(status)) = (&filter.batch_id, filter.status) {
            query = query
                .filter_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", AttributeValue::S(status.as_str().to_owned()));
        }
        if let Some(invoice_id) = &filter.invoice_id {
            query = query
                .filter_expression("credited_invoice_id = :invoice")
                .expression_attribute_values(":invoice", AttributeValue::S(invoice_id.clone()));
        }
        let output = query.send().await.map_err(aws_sdk_dynamodb::Error::from)?;
        let stopped_at = output
            .last_evaluated_key
            .as_ref()
            .and_then(|last| {
                let sort_key = last.get("SK")?.as_s().ok()?;
                sort_key
                    .strip_prefix(keys::INVOICE_PREFIX)
                    .or_else(|| sort_key.strip_prefix(keys::CREDIT_NOTE_PREFIX))
            })
            .map(str::to_owned);
        let invoices = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(invoice_of)
            .collect::<anyhow::Result<_>>()?;
        Ok((invoices, stopped_at))
    }

    /// Stores `invoice`, read as `was` (`failed`, or `rejected` and now corrected) and now
    /// `queued` again, with the idempotency record of the request, if any, provided it is still
    /// as it was read: a failed invoice moves back as it is; a rejected one is replaced whole by
    /// its correction, and only if the provider holds no rejected bill of it (deleted, or never
    /// kept: `provider_cleared` true or null). An invoice
    /// of a batch takes its place among the batch's pending invoices again, and the batch is
    /// processing again.
    pub async fn requeue_invoice(
        &self,
        invoice: &Invoice,
        was: Status,
        recover_at_ms: i64,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), RetryError> {
        let (org_id, invoice_id) = (&invoice.organization_id, &invoice.id);
        let now = &invoice.state.updated_at;
        let (requeue, back) = if was == Status::Rejected {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(invoice_item(invoice, Some(recover_at_ms))?))
                // Its bill deleted at the provider, or never kept there (`null`).
                .condition_expression(
                    "#status = :rejected AND (attribute_not_exists(provider_cleared) \
                     OR attribute_type(provider_cleared, :null) OR provider_cleared = :cleared)",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":rejected", s(Status::Rejected.as_str()))
                .expression_attribute_values(":null", s("NULL"))
                .expression_attribute_values(":cleared", AttributeValue::Bool(true))
                .build()
                .map_err(anyhow::Error::from)?;
            let counts = Counts {
                rejected: -1,
                ..Counts::default()
            };
            (TransactWriteItem::builder().put(put).build(), counts)
        } else {
            let change = Change::new(
                keys::invoice_partition(org_id, invoice_id),
                keys::invoice(invoice_id),
                "SET #status = :queued, updated_at = :now, GSI1PK = :by_status, GSI3PK = :shard, GSI3SK = :due",
            )
            .condition("#status = :failed")
            .name("#status", "status")
            .value(":queued", s(Status::Queued.as_str()))
            .value(":failed", s(Status::Failed.as_str()))
            .value(":now", s(now))
            .value(
                ":by_status",
                s(keys::by_status(
                    org_id,
                    Status::Queued.as_str(),
                    keys::invoice_shard(invoice_id),
                )),
            )
            .value(":shard", s(keys::recovery_shard(invoice_id)))
            .value(":due", s(keys::recovery_due(recover_at_ms, org_id, invoice_id)));
            let counts = Counts {
                failed: -1,
                ..Counts::default()
            };
            (change.into_action(&self.table)?, counts)
        };
        let mut actions = vec![requeue];
        if let Some(batch) = &invoice.batch_id {
            actions.push(counts_change(org_id, batch, &back, now).into_action(&self.table)?);
        }
        let idempotency_action = actions.len();
        if let Some(record) = idempotency {
            actions.push(self.put_idempotency(org_id, record)?);
        }
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(refusal) if refusal.at(idempotency_action) => Err(RetryError::IdempotencyKeyUsed),
            Err(refusal) if refusal.at(0) => Err(RetryError::StateChanged),
            Err(refusal) => Err(RetryError::Store(refusal.into_error("re-queueing an invoice"))),
        }
    }

    /// Up to `limit` invoices of one recovery shard that were due by `now_ms`.
    pub async fn due_for_recovery(
        &self,
        shard: u32,
        now_ms: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<RecoveryEntry>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI3")
            .key_condition_expression("GSI3PK = :shard AND GSI3SK <= :now")
            .expression_attribute_values(":shard", AttributeValue::S(keys::recovery_partition(shard)))
            .expression_attribute_values(":now", AttributeValue::S(format!("{now_ms:015}~")))
            .limit(i32::try_from(limit)?)
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        Ok(output
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                let due_key = item.get("GSI3SK")?.as_s().ok()?.clone();
                let sort_key = item.get("SK")?.as_s().ok()?;
                let mut parts = due_key.splitn(3, '#');
                let (_, org_id, id) = (parts.next()?, parts.next()?, parts.next()?);
                Some(RecoveryEntry {
                    org_id: org_id.to_owned(),
                    id: id.to_owned(),
                    kind: if sort_key.starts_with(keys::BATCH_PREFIX) {
                        Recovering::Batch
                    } else if sort_key == keys::ORG_PROFILE {
                        Recovering::NumberingRanges
                    } else if sort_key.starts_with(keys::CREDIT_NOTE_PREFIX) {
                        Recovering::CreditNote
                    } else if sort_key.starts_with(keys::EVENT_PREFIX) {
                        Recovering::Event
                    } else if sort_key.starts_with(keys::DELIVERY_PREFIX) {
                        Recovering::Delivery
                    } else {
                        Recovering::Invoice
                    },
                    due_key: due_key.clone(),
                })
            })
            .collect())
    }

    /// Moves an entry's recovery time to `due_ms`, unless it moved on meanwhile.
    pub async fn postpone_recovery(&self, entry: &RecoveryEntry, due_ms: i64) -> anyhow::Result<()> {
        let next = keys::recovery_due(due_ms, &entry.org_id, &entry.id);
        let item_key = match entry.kind {
            Recovering::Invoice => key(
                keys::invoice_partition(&entry.org_id, &entry.id),
                keys::invoice(&entry.id),
            ),
            Recovering::CreditNote => key(
                keys::document_partition(Kind::CreditNote, &entry.org_id, &entry.id),
                keys::document(Kind::CreditNote, &entry.id),
            ),
            Recovering::Event => key(
                keys::event_partition(&entry.org_id, &entry.id),
                keys::event(&entry.id),
            ),
            Recovering::Delivery => key(
                keys::org(&entry.org_id),
                super::deliveries::delivery_key(&entry.id),
            ),
            Recovering::Batch => key(keys::org(&entry.org_id), keys::batch(&entry.id)),
            Recovering::NumberingRanges => key(keys::org(&entry.org_id), keys::ORG_PROFILE.to_owned()),
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .update_expression("SET GSI3SK = :next")
            .condition_expression("GSI3SK = :current")
            .expression_attribute_values(":next", AttributeValue::S(next))
            .expression_attribute_values(":current", AttributeValue::S(entry.due_key.clone()))
            .send()
            .await;
        applied(result).map(|_| ())
    }
}

//! Invoices in the table: created with their reference-code uniqueness item (and idempotency
//! record) in one transaction, read by id, listed newest first by organization, status or
//! batch, and indexed for recovery while they wait for submission.

use anyhow::Context;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::batches::{Counts, counts_change};
use super::change::{Change, s};
use super::idempotency::IdempotencyRecord;
use super::{Item, PageKey, Store, applied, key, keys, page_key, record, start_key};
use crate::invoices::{Document, Invoice, ProviderMessage, Status, SubmissionState};

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
    };
    let org = &invoice.organization_id;
    let mut item = super::item(&attributes, keys::org(org), keys::invoice(&invoice.id))?;
    let mut set = |name: &str, value: String| item.insert(name.to_owned(), AttributeValue::S(value));
    set("GSI1PK", keys::by_status(org, state.status.as_str()));
    set("GSI1SK", keys::invoice(&invoice.id));
    if let Some(batch) = &invoice.batch_id {
        set("GSI2PK", keys::by_batch(org, batch));
        set("GSI2SK", keys::invoice(&invoice.id));
    }
    if let Some(due) = recover_at_ms {
        set("GSI3PK", keys::recovery_shard(&invoice.id));
        set("GSI3SK", keys::recovery_due(due, org, &invoice.id));
    }
    Ok(item)
}

/// The invoice an item holds.
pub(crate) fn invoice_of(item: Item) -> anyhow::Result<Invoice> {
    let attributes: InvoiceAttributes = record(item)?;
    let document: Document = serde_json::from_str(&attributes.document).context("an invoice's document")?;
    Ok(Invoice {
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
    })
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

/// Which invoices a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    pub status: Option<Status>,
    pub batch_id: Option<String>,
}

/// Why a `failed` invoice could not go back to `queued`.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("the invoice is not failed any more")]
    NoLongerFailed,
    #[error("the idempotency key was used already")]
    IdempotencyKeyUsed,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// An invoice, or a batch, waiting in the recovery index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryEntry {
    pub org_id: String,
    /// The invoice's id, or the batch's.
    pub id: String,
    pub is_batch: bool,
    due_key: String,
}

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
            keys::org(org),
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
        let item = self
            .get(keys::org(org_id), keys::reference(reference_code), false)
            .await?;
        Ok(item.and_then(|item| item.get("invoice_id")?.as_s().ok().cloned()))
    }

    /// One invoice of one organization.
    pub async fn get_invoice(&self, org_id: &str, invoice_id: &str) -> anyhow::Result<Option<Invoice>> {
        self.get(keys::org(org_id), keys::invoice(invoice_id), true)
            .await?
            .map(invoice_of)
            .transpose()
    }

    /// A page of an organization's invoices, newest first: one `Query` on the table, the status
    /// index or the batch index (filtered by status there, so a page may come back short).
    pub async fn list_invoices(
        &self,
        org_id: &str,
        filter: &InvoiceFilter,
        limit: u32,
        after: Option<&PageKey>,
    ) -> anyhow::Result<(Vec<Invoice>, Option<PageKey>)> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(false)
            .limit(i32::try_from(limit)?)
            .set_exclusive_start_key(start_key(after))
            .expression_attribute_values(":prefix", AttributeValue::S(keys::INVOICE_PREFIX.to_owned()));
        query = match (&filter.batch_id, filter.status) {
            (Some(batch), status) => {
                let query = query
                    .index_name("GSI2")
                    .key_condition_expression("GSI2PK = :pk AND begins_with(GSI2SK, :prefix)")
                    .expression_attribute_values(":pk", AttributeValue::S(keys::by_batch(org_id, batch)));
                match status {
                    Some(status) => query
                        .filter_expression("#status = :status")
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_values(
                            ":status",
                            AttributeValue::S(status.as_str().to_owned()),
                        ),
                    None => query,
                }
            }
            (None, Some(status)) => query
                .index_name("GSI1")
                .key_condition_expression("GSI1PK = :pk AND begins_with(GSI1SK, :prefix)")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::by_status(org_id, status.as_str())),
                ),
            (None, None) => query
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(keys::org(org_id))),
        };
        let output = query.send().await.map_err(aws_sdk_dynamodb::Error::from)?;
        let invoices = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(invoice_of)
            .collect::<anyhow::Result<_>>()?;
        Ok((invoices, page_key(output.last_evaluated_key.as_ref())))
    }

    /// Stores `invoice`, read as `failed` and now `queued` again (with the idempotency record of
    /// the request, if any), provided it is still `failed`. An invoice of a batch takes its place
    /// among the batch's pending invoices again, and the batch is processing again.
    pub async fn requeue_failed_invoice(
        &self,
        invoice: &Invoice,
        recover_at_ms: i64,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), RetryError> {
        let (org_id, invoice_id) = (&invoice.organization_id, &invoice.id);
        let now = &invoice.state.updated_at;
        let requeue = Change::new(
            keys::org(org_id),
            keys::invoice(invoice_id),
            "SET #status = :queued, updated_at = :now, GSI1PK = :by_status, GSI3PK = :shard, GSI3SK = :due",
        )
        .condition("#status = :failed")
        .name("#status", "status")
        .value(":queued", s(Status::Queued.as_str()))
        .value(":failed", s(Status::Failed.as_str()))
        .value(":now", s(now))
        .value(":by_status", s(keys::by_status(org_id, Status::Queued.as_str())))
        .value(":shard", s(keys::recovery_shard(invoice_id)))
        .value(":due", s(keys::recovery_due(recover_at_ms, org_id, invoice_id)));
        let mut actions = vec![requeue.into_action(&self.table)?];
        if let Some(batch) = &invoice.batch_id {
            let back = Counts {
                failed: -1,
                ..Counts::default()
            };
            actions.push(counts_change(org_id, batch, &back, now).into_action(&self.table)?);
        }
        let idempotency_action = actions.len();
        if let Some(record) = idempotency {
            actions.push(self.put_idempotency(org_id, record)?);
        }
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(refusal) if refusal.at(idempotency_action) => Err(RetryError::IdempotencyKeyUsed),
            Err(refusal) if refusal.at(0) => Err(RetryError::NoLongerFailed),
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
                    is_batch: sort_key.starts_with(keys::BATCH_PREFIX),
                    due_key: due_key.clone(),
                })
            })
            .collect())
    }

    /// Moves an invoice's recovery time to `due_ms`, unless the invoice moved on meanwhile.
    pub async fn postpone_recovery(&self, entry: &RecoveryEntry, due_ms: i64) -> anyhow::Result<()> {
        let next = keys::recovery_due(due_ms, &entry.org_id, &entry.id);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org(&entry.org_id), keys::invoice(&entry.id))))
            .update_expression("SET GSI3SK = :next")
            .condition_expression("GSI3SK = :current")
            .expression_attribute_values(":next", AttributeValue::S(next))
            .expression_attribute_values(":current", AttributeValue::S(entry.due_key.clone()))
            .send()
            .await;
        applied(result).map(|_| ())
    }
}

//! The DynamoDB store: one table (layout in docs/DATA_MODEL.md), one client, and one function
//! per use case, each a fixed number of round trips. Items convert to and from records with
//! `serde_dynamo` in one place ([`item`], [`record`]).

mod batch_recovery;
mod batches;
mod budget;
mod change;
mod credit_notes;
mod deliveries;
mod events;
mod idempotency;
mod invoices;
pub mod keys;
mod lockout;
mod organizations;
mod sessions;
mod submission;
pub mod units;
mod users;
mod webhooks;

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::SdkConfig;

pub use batch_recovery::{Member, Tally};
pub use batches::{
    BatchRecord, BatchStatus, Counts, Decided, GroupRefusal, STORE_GROUP, StoredInvoice, Written,
};
pub use budget::{AccountState, Block, Lane, PaceCell, Reservation};
pub use credit_notes::CreateCreditNoteError;
pub use deliveries::{Delivery, DeliveryStatus};
pub use events::{EVENT_RETENTION_SECONDS, EventRecord};
pub use idempotency::{IdempotencyRecord, Replay};
pub use invoices::{CreateInvoiceError, InvoiceFilter, Recovering, RecoveryEntry, RetryError};
pub use lockout::Guess;
pub use organizations::{ProviderProfile, ReadRanges};
pub use sessions::Session;
pub use submission::{Claim, Guard, Terminal};
pub use users::{Credentials, EmailTaken, OrganizationRecord, UserRecord};
pub use webhooks::{SigningSecret, WebhookEndpoint, WebhookWriteError};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Where a page ended: the `LastEvaluatedKey` of a query (all our keys are strings).
pub type PageKey = BTreeMap<String, String>;

/// The table and the client that reaches it.
#[derive(Clone, Debug)]
pub struct Store {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// The webhooks queue, where the events this store writes are announced.
    announcer: Option<crate::queue::Queue>,
}

impl Store {
    pub fn new(sdk: &SdkConfig, table: &str) -> Self {
        Self {
            client: crate::aws::dynamodb(sdk),
            table: table.to_owned(),
            announcer: None,
        }
    }

    /// This store, announcing the events it writes on the webhooks queue `queue`.
    pub fn announcing_to(mut self, queue: crate::queue::Queue) -> Self {
        self.announcer = Some(queue);
        self
    }

    /// Items of an organization whose sort key starts with `prefix`, a page at a time.
    pub(crate) async fn query_prefix<T: DeserializeOwned>(
        &self,
        org_id: &str,
        prefix: &str,
        forward: bool,
        limit: u32,
        after: Option<&PageKey>,
    ) -> anyhow::Result<(Vec<T>, Option<PageKey>)> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(keys::org(org_id)))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .scan_index_forward(forward)
            .limit(i32::try_from(limit)?)
            .set_exclusive_start_key(start_key(after))
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        let records = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(record)
            .collect::<anyhow::Result<_>>()?;
        Ok((records, page_key(output.last_evaluated_key.as_ref())))
    }

    /// Puts a whole item, unconditionally.
    pub(crate) async fn put(&self, item: Item) -> anyhow::Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        Ok(())
    }

    /// One item by its keys; `consistent` when a write made a moment ago must be seen.
    pub(crate) async fn get(&self, pk: String, sk: String, consistent: bool) -> anyhow::Result<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(aws_sdk_dynamodb::Error::from)?;
        Ok(output.item)
    }

    /// The record of one item by its keys, if it is there.
    pub(crate) async fn get_record<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
        consistent: bool,
    ) -> anyhow::Result<Option<T>> {
        self.get(pk, sk, consistent).await?.map(record).transpose()
    }
}

/// `Ok(true)` when a conditional write was applied, `Ok(false)` when its condition did not hold.
pub(crate) fn applied<T, E, R>(result: Result<T, SdkError<E, R>>) -> anyhow::Result<bool>
where
    E: ProvideErrorMetadata,
    aws_sdk_dynamodb::Error: From<SdkError<E, R>>,
{
    match result {
        Ok(_) => Ok(true),
        Err(error)
            if error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(error) => Err(aws_sdk_dynamodb::Error::from(error).into()),
    }
}

/// The item of `record` under key (`pk`, `sk`).
pub(crate) fn item<T: Serialize>(record: &T, pk: String, sk: String) -> anyhow::Result<Item> {
    let mut item: Item = serde_dynamo::to_item(record).context("converting a record to an item")?;
    item.insert("PK".to_owned(), AttributeValue::S(pk));
    item.insert("SK".to_owned(), AttributeValue::S(sk));
    Ok(item)
}

/// The record an item holds (its keys and index attributes are ignored).
pub(crate) fn record<T: DeserializeOwned>(item: Item) -> anyhow::Result<T> {
    serde_dynamo::from_item(item).context("reading a record from an item")
}

/// The key of an item by its partition and sort key.
pub(crate) fn key(pk: String, sk: String) -> Item {
    HashMap::from([
        ("PK".to_owned(), AttributeValue::S(pk)),
        ("SK".to_owned(), AttributeValue::S(sk)),
    ])
}

/// A page key from a `LastEvaluatedKey`; non-string keys cannot occur in this table.
pub(crate) fn page_key(last: Option<&Item>) -> Option<PageKey> {
    last.map(|item| {
        item.iter()
            .filter_map(|(name, value)| Some((name.clone(), value.as_s().ok()?.clone())))
            .collect()
    })
}

/// Where a page of a sharded list starts: its shard (recorded in the page key as `shard`) and the
/// key to start after in it.
pub(crate) fn shard_and_start(after: Option<&PageKey>) -> (u32, Option<Item>) {
    let shard = after.and_then(|key| key.get(SHARD)?.parse().ok()).unwrap_or(0);
    let start = after
        .map(|key| {
            key.iter()
                .filter(|(name, _)| name.as_str() != SHARD)
                .map(|(name, value)| (name.clone(), AttributeValue::S(value.clone())))
                .collect::<Item>()
        })
        .filter(|start| !start.is_empty());
    (shard, start)
}

/// The page after one of `shard`: further in it, or the next shard from its start.
pub(crate) fn next_shard_page(shard: u32, last: Option<&Item>) -> Option<PageKey> {
    let (shard, last) = match page_key(last) {
        Some(last) => (shard, last),
        None if shard + 1 < keys::SHARDS => (shard + 1, PageKey::new()),
        None => return None,
    };
    let mut key = last;
    key.insert(SHARD.to_owned(), shard.to_string());
    Some(key)
}

const SHARD: &str = "shard";

/// The `ExclusiveStartKey` of a page key.
pub(crate) fn start_key(key: Option<&PageKey>) -> Option<Item> {
    key.map(|key| {
        key.iter()
            .map(|(name, value)| (name.clone(), AttributeValue::S(value.clone())))
            .collect()
    })
}

/// Why a transaction did not apply.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The actions (by index) whose condition did not hold; nothing was written.
    Conditions(Vec<usize>),
    Failed(anyhow::Error),
}

impl Refusal {
    /// Whether action `index` failed its condition.
    pub(crate) fn at(&self, index: usize) -> bool {
        matches!(self, Refusal::Conditions(failed) if failed.contains(&index))
    }

    pub(crate) fn into_error(self, what: &'static str) -> anyhow::Error {
        match self {
            Refusal::Conditions(failed) => {
                anyhow::anyhow!("{what}: the conditions of actions {failed:?} failed")
            }
            Refusal::Failed(error) => error.context(what),
        }
    }
}

/// How many times a transaction cancelled by a conflicting one (or throttled) is tried.
const TRANSACTION_TRIES: u32 = 4;

impl Store {
    /// Writes `actions` in one transaction: all or nothing. A cancellation that says nothing
    /// about the actions' conditions (another transaction on the same items, throttling) is
    /// tried again after a jittered pause, up to [`TRANSACTION_TRIES`] times.
    pub(crate) async fn transact(
        &self,
        actions: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<(), Refusal> {
        let mut tries = 1;
        loop {
            let Err(error) = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await
            else {
                return Ok(());
            };
            let reasons: Vec<String> = match error.as_service_error() {
                Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
                    cancelled,
                )) => cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().unwrap_or_default().to_owned())
                    .collect(),
                _ => Vec::new(),
            };
            let failed: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, code)| *code == "ConditionalCheckFailed")
                .map(|(index, _)| index)
                .collect();
            if !failed.is_empty() {
                return Err(Refusal::Conditions(failed));
            }
            let passing = reasons.iter().any(|code| {
                matches!(
                    code.as_str(),
                    "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
                )
            }) || error.as_service_error().and_then(|e| e.code())
                == Some("TransactionInProgressException");
            if !passing || tries == TRANSACTION_TRIES {
                return Err(Refusal::Failed(aws_sdk_dynamodb::Error::from(error).into()));
            }
            tracing::info!(
                ?reasons,
                tries,
                "a transaction was cancelled by a conflict: trying again"
            );
            tokio::time::sleep(conflict_pause(tries)).await;
            tries += 1;
        }
    }
}

/// A pause before try `tries + 1`: up to 50 ms after the first, doubling each try, drawn at
/// random so that twins that conflicted do not meet again.
fn conflict_pause(tries: u32) -> std::time::Duration {
    let ceiling = 25u64 << tries.min(6);
    std::time::Duration::from_millis(fastrand::u64(ceiling / 4..=ceiling))
}

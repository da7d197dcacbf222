//! The DynamoDB store: one table (layout in docs/DATA_MODEL.md), one client, and one function
//! per use case, each a fixed number of round trips. Items convert to and from records with
//! `serde_dynamo` in one place ([`item`], [`record`]).

mod idempotency;
mod invoices;
pub mod keys;
mod lockout;
mod sessions;
mod submission;
mod users;

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::SdkConfig;

pub use idempotency::{IdempotencyRecord, Replay};
pub use invoices::{CreateInvoiceError, InvoiceFilter, RecoveryEntry, RetryError};
pub use lockout::LoginAttempts;
pub use sessions::Session;
pub use submission::{Claim, Guard, Terminal};
pub use users::{Credentials, EmailTaken, OrganizationRecord, UserRecord};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Where a page ended: the `LastEvaluatedKey` of a query (all our keys are strings).
pub type PageKey = BTreeMap<String, String>;

/// The table and the client that reaches it.
#[derive(Clone, Debug)]
pub struct Store {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Store {
    pub fn new(sdk: &SdkConfig, table: &str) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: table.to_owned(),
        }
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

/// The `ExclusiveStartKey` of a page key.
pub(crate) fn start_key(key: Option<&PageKey>) -> Option<Item> {
    key.map(|key| {
        key.iter()
            .map(|(name, value)| (name.clone(), AttributeValue::S(value.clone())))
            .collect()
    })
}

/// The reason codes of a cancelled transaction, in action order (`None` when not cancelled).
pub(crate) fn cancellation_codes(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    >,
) -> Option<Vec<String>> {
    match error.as_service_error()? {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
            cancelled,
        ) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

//! A log line per DynamoDB write request, when the `dynamodb_writes` target is enabled at debug
//! (`RUST_LOG=info,dynamodb_writes=debug`; the local stack's `--log-level`): each item it
//! writes, its key, its size, the index keys it sets or removes, and whether the write applied
//! (a failed condition or a cancelled transaction still costs DynamoDB write units, but moves
//! nothing). A `BatchWriteItem`'s unprocessed items are left out: they are sent, and logged,
//! again. `make bench` replays these lines to count the write units every partition key (of the
//! table and of each index) receives per second. Off, it costs one check a request.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde::Serialize;

use crate::store::units::item_size;

/// The key attributes of the table's indexes (partition, then sort key of each).
pub const INDEX_KEYS: [&str; 6] = ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK"];

type Attributes = HashMap<String, AttributeValue>;

/// One item a request writes, as the ledger records it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ItemWrite {
    pub pk: String,
    pub sk: String,
    /// `put`, `update`, `delete` or `check` (a transaction's condition check).
    pub kind: &'static str,
    /// Part of a transaction (DynamoDB charges those twice).
    pub transactional: bool,
    /// The item's size by DynamoDB's rules for a put; for an update, what it sets.
    pub size: usize,
    /// Index keys the write sets.
    pub set: HashMap<&'static str, String>,
    /// Index keys the write removes.
    pub remove: Vec<&'static str>,
    /// The write took place (its conditions held, its transaction went through).
    pub applied: bool,
}

/// A request's writes, from before it is sent until its answer says how it went.
#[derive(Debug)]
struct Pending(Vec<ItemWrite>);

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

/// The SDK interceptor that logs every write request's items.
#[derive(Debug)]
pub struct WriteLedger;

impl Intercept for WriteLedger {
    fn name(&self) -> &'static str {
        "WriteLedger"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if tracing::enabled!(target: "dynamodb_writes", tracing::Level::DEBUG) {
            let writes = items_written(context.input());
            if !writes.is_empty() {
                cfg.interceptor_state().store_put(Pending(writes));
            }
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Pending(writes)) = cfg.load::<Pending>() else {
            return Ok(());
        };
        let output = context.output_or_error().and_then(Result::ok);
        let unprocessed: Vec<(String, String)> = output
            .and_then(|output| output.downcast_ref::<BatchWriteItemOutput>())
            .and_then(|output| output.unprocessed_items.as_ref())
            .into_iter()
            .flat_map(|tables| tables.values().flatten())
            .filter_map(|request| match (&request.put_request, &request.delete_request) {
                (Some(put), _) => Some(Some(&put.item)),
                (None, Some(delete)) => Some(Some(&delete.key)),
                (None, None) => None,
            })
            .map(|key| (text(key, "PK"), text(key, "SK")))
            .collect();
        let writes: Vec<ItemWrite> = writes
            .iter()
            .filter(|write| !unprocessed.contains(&(write.pk.clone(), write.sk.clone())))
            .map(|write| ItemWrite {
                applied: output.is_some(),
                ..write.clone()
            })
            .collect();
        let writes = serde_json::to_string(&writes)?;
        let at_ms = crate::clock::epoch_ms(crate::clock::now());
        tracing::debug!(target: "dynamodb_writes", at_ms, writes, "dynamodb write");
        Ok(())
    }
}

/// The items a request writes (none for a read).
fn items_written(input: &aws_smithy_runtime_api::client::interceptors::context::Input) -> Vec<ItemWrite> {
    if let Some(put) = input.downcast_ref::<PutItemInput>() {
        return put
            .item
            .as_ref()
            .map(|item| vec![put_of(item, false)])
            .unwrap_or_default();
    }
    if let Some(update) = input.downcast_ref::<UpdateItemInput>() {
        return vec![update_of(
            update.key.as_ref(),
            update.update_expression.as_deref(),
            update.expression_attribute_names.as_ref(),
            update.expression_attribute_values.as_ref(),
            false,
        )];
    }
    if let Some(delete) = input.downcast_ref::<DeleteItemInput>() {
        return vec![keyed(delete.key.as_ref(), "delete", false)];
    }
    if let Some(batch) = input.downcast_ref::<BatchWriteItemInput>() {
        return batch
            .request_items
            .iter()
            .flat_map(|tables| tables.values().flatten())
            .filter_map(|request| match (&request.put_request, &request.delete_request) {
                (Some(put), _) => Some(put_of(&put.item, false)),
                (None, Some(delete)) => Some(keyed(Some(&delete.key), "delete", false)),
                (None, None) => None,
            })
            .collect();
    }
    if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
        return transaction
            .transact_items
            .iter()
            .flatten()
            .filter_map(|action| {
                if let Some(put) = &action.put {
                    Some(put_of(&put.item, true))
                } else if let Some(update) = &action.update {
                    Some(update_of(
                        Some(&update.key),
                        Some(&update.update_expression),
                        update.expression_attribute_names.as_ref(),
                        update.expression_attribute_values.as_ref(),
                        true,
                    ))
                } else if let Some(delete) = &action.delete {
                    Some(keyed(Some(&delete.key), "delete", true))
                } else {
                    action
                        .condition_check
                        .as_ref()
                        .map(|check| keyed(Some(&check.key), "check", true))
                }
            })
            .collect();
    }
    Vec::new()
}

/// A key's text; the email of an `EMAIL#` or `LOGIN#` key is left out (a log is no place for it).
fn text(item: Option<&Attributes>, name: &str) -> String {
    let value = item
        .and_then(|item| item.get(name))
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default();
    match value.split_once('#') {
        Some((kind @ ("EMAIL" | "LOGIN"), _)) => format!("{kind}#-"),
        _ => value,
    }
}

fn keyed(key: Option<&Attributes>, kind: &'static str, transactional: bool) -> ItemWrite {
    ItemWrite {
        pk: text(key, "PK"),
        sk: text(key, "SK"),
        kind,
        transactional,
        size: key.map_or(0, item_size),
        ..ItemWrite::default()
    }
}

fn put_of(item: &Attributes, transactional: bool) -> ItemWrite {
    let mut write = keyed(Some(item), "put", transactional);
    for name in INDEX_KEYS {
        match item.get(name).and_then(|value| value.as_s().ok()) {
            Some(value) => {
                write.set.insert(name, value.clone());
            }
            None => write.remove.push(name),
        }
    }
    write
}

/// An update: the index keys its `SET name = :value` assignments and its `REMOVE` name.
fn update_of(
    key: Option<&Attributes>,
    expression: Option<&str>,
    names: Option<&HashMap<String, String>>,
    values: Option<&Attributes>,
    transactional: bool,
) -> ItemWrite {
    let mut write = keyed(key, "update", transactional);
    write.size += values.map_or(0, item_size);
    let resolve = |token: &str| -> String {
        names
            .and_then(|names| names.get(token))
            .cloned()
            .unwrap_or_else(|| token.to_owned())
    };
    let tokens: Vec<&str> = expression
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|token| !token.is_empty())
        .collect();
    let mut clause = "";
    for (at, token) in tokens.iter().enumerate() {
        let upper = token.to_ascii_uppercase();
        if ["SET", "REMOVE", "ADD", "DELETE"].contains(&upper.as_str()) {
            clause = if upper == "SET" {
                "SET"
            } else if upper == "REMOVE" {
                "REMOVE"
            } else {
                ""
            };
            continue;
        }
        let Some(index_key) = INDEX_KEYS.into_iter().find(|name| *name == resolve(token)) else {
            continue;
        };
        match clause {
            "REMOVE" => write.remove.push(index_key),
            "SET" if tokens.get(at + 1) == Some(&"=") => {
                if let Some(value) = tokens
                    .get(at + 2)
                    .and_then(|placeholder| values?.get(*placeholder)?.as_s().ok())
                {
                    write.set.insert(index_key, value.clone());
                }
            }
            _ => {}
        }
    }
    write
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    #[test]
    fn an_update_names_the_index_keys_it_sets_and_removes() {
        let key = HashMap::from([("PK".to_owned(), s("ORG#a")), ("SK".to_owned(), s("INV#b"))]);
        let values = HashMap::from([
            (":k".to_owned(), s("ORG#a#STATUS#accepted#3")),
            (":n".to_owned(), s("now")),
        ]);
        let names = HashMap::from([("#g".to_owned(), "GSI1PK".to_owned())]);
        let write = update_of(
            Some(&key),
            Some("SET updated_at = :n, #g = :k REMOVE lease_token, GSI3PK, GSI3SK"),
            Some(&names),
            Some(&values),
            true,
        );
        assert_eq!(write.pk, "ORG#a");
        assert_eq!(
            write.set.get("GSI1PK").map(String::as_str),
            Some("ORG#a#STATUS#accepted#3")
        );
        assert_eq!(write.remove, vec!["GSI3PK", "GSI3SK"]);
        assert_eq!(write.size, 2 + 5 + 2 + 5 + 2 + 23 + 2 + 3);
    }

    #[test]
    fn the_email_of_a_credentials_or_lockout_key_is_left_out() {
        for (pk, logged) in [
            ("EMAIL#ana@example.com", "EMAIL#-"),
            ("LOGIN#ana@example.com", "LOGIN#-"),
            ("ORG#a", "ORG#a"),
        ] {
            let key = HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s("EMAIL"))]);
            let write = keyed(Some(&key), "delete", false);
            assert_eq!((write.pk.as_str(), write.sk.as_str()), (logged, "EMAIL"));
        }
    }

    #[test]
    fn a_put_removes_the_index_keys_its_item_lacks() {
        let item = HashMap::from([
            ("PK".to_owned(), s("ORG#a")),
            ("SK".to_owned(), s("INV#b")),
            ("GSI2PK".to_owned(), s("ORG#a#BATCH#c#1")),
        ]);
        let write = put_of(&item, false);
        assert_eq!(write.set.len(), 1);
        assert_eq!(
            write.remove,
            vec!["GSI1PK", "GSI1SK", "GSI2SK", "GSI3PK", "GSI3SK"]
        );
    }
}

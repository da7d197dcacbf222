//! An update of one item, written on its own (`UpdateItem`) or as one action of a transaction:
//! one description, two ways to send it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::{Store, applied, key};

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[derive(Clone, Debug)]
pub(crate) struct Change {
    pk: String,
    sk: String,
    expression: String,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Change {
    pub(crate) fn new(pk: String, sk: String, expression: impl Into<String>) -> Self {
        Self {
            pk,
            sk,
            expression: expression.into(),
            condition: None,
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }

    pub(crate) fn condition(mut self, condition: impl Into<String>) -> Self {
        self.condition = Some(condition.into());
        self
    }

    pub(crate) fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.to_owned(), name.to_owned());
        self
    }

    pub(crate) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// The change as an action of a transaction.
    pub(crate) fn into_action(self, table: &str) -> anyhow::Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key(self.pk, self.sk)))
            .update_expression(self.expression)
            .set_condition_expression(self.condition)
            .set_expression_attribute_names((!self.names.is_empty()).then_some(self.names))
            .set_expression_attribute_values((!self.values.is_empty()).then_some(self.values))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl Store {
    /// Writes a change on its own; `false` when its condition did not hold.
    pub(crate) async fn apply(&self, change: Change) -> anyhow::Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(change.pk, change.sk)))
            .update_expression(change.expression)
            .set_condition_expression(change.condition)
            .set_expression_attribute_names((!change.names.is_empty()).then_some(change.names))
            .set_expression_attribute_values((!change.values.is_empty()).then_some(change.values))
            .send()
            .await;
        applied(result)
    }
}

//! What DynamoDB charges for a write: an item's size by its rules, and the write units of it.

use aws_sdk_dynamodb::types::AttributeValue;

use super::Item;

/// A write unit covers this many bytes of an item.
const UNIT_BYTES: usize = 1024;

/// An item's size as DynamoDB counts it: each attribute's name and value.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number.len().div_ceil(2) + 1,
        AttributeValue::B(bytes) => bytes.as_ref().len(),
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|number| number.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|blob| blob.as_ref().len()).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|value| 1 + value_size(value)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, value)| 1 + name.len() + value_size(value))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// The write units of writing an item of `size` bytes once (a transaction writes twice).
pub fn write_units(size: usize) -> u64 {
    u64::try_from(size.div_ceil(UNIT_BYTES).max(1)).unwrap_or(u64::MAX)
}

//! Which numbering range an invoice (or a credit note) takes: the one it names, which must be one
//! of its organization's account's active ranges of its document as last read (never read,
//! Factus checks it); else the organization's default range for that document; else none, and
//! Factus takes the account's only active one (`numbering_range_id` is required only when
//! several are).

use std::collections::BTreeMap;

use crate::store::ReadRanges;

/// DIAN's document code of a sales invoice.
pub const SALES_INVOICE: &str = "21";
/// DIAN's document code of a credit note.
pub const CREDIT_NOTE: &str = "22";

/// The range of an invoice that names `named`, of an organization whose defaults are
/// `defaults`; `Err` with why the named one cannot be.
pub fn settle(
    named: Option<u64>,
    defaults: &BTreeMap<String, u64>,
    ranges: Option<&ReadRanges>,
) -> Result<Option<u64>, String> {
    settle_for(SALES_INVOICE, named, defaults, ranges)
}

/// The range of a document of DIAN's code `document` that names `named`; see [`settle`].
pub fn settle_for(
    document: &str,
    named: Option<u64>,
    defaults: &BTreeMap<String, u64>,
    ranges: Option<&ReadRanges>,
) -> Result<Option<u64>, String> {
    let what = if document == SALES_INVOICE {
        "sales invoices"
    } else {
        "credit notes"
    };
    let Some(id) = named else {
        return Ok(defaults.get(document).copied());
    };
    let Some(read) = ranges else {
        return Ok(Some(id));
    };
    match read.ranges.iter().find(|range| range.id == id) {
        Some(range) if range.document == document && range.active && !range.expired => Ok(Some(id)),
        Some(_) => Err(format!(
            "numbering range {id} is not an active range of {what} (document {document}) in force"
        )),
        None => Err(format!(
            "numbering range {id} is not one of the account's (GET /v1/organization/numbering-ranges lists them)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::provider::ranges::NumberingRange;

    #[test]
    fn a_named_range_must_be_an_active_sales_range_of_the_account_else_the_default_is_taken() {
        let range = |id: u64, document: &str, active: bool| {
            NumberingRange::of_row(&json!({"id": id, "document": document, "prefix": "P", "from": 1,
                "to": 100000, "current": 1, "is_active": active, "is_expired": false}))
            .unwrap()
        };
        let read = ReadRanges {
            ranges: vec![range(8, "21", true), range(9, "22", true), range(10, "21", false)],
            read_at_ms: 0,
        };
        let defaults = BTreeMap::from([("21".to_owned(), 8)]);
        assert_eq!(settle(Some(8), &defaults, Some(&read)), Ok(Some(8)));
        assert!(
            settle(Some(9), &defaults, Some(&read)).is_err(),
            "a credit note range"
        );
        assert!(settle(Some(10), &defaults, Some(&read)).is_err(), "inactive");
        assert!(
            settle(Some(77), &defaults, Some(&read))
                .unwrap_err()
                .contains("not one of the account's")
        );
        assert_eq!(
            settle(Some(77), &defaults, None),
            Ok(Some(77)),
            "never read: Factus checks it"
        );
        assert_eq!(settle(None, &defaults, Some(&read)), Ok(Some(8)));
        assert_eq!(settle(None, &BTreeMap::new(), Some(&read)), Ok(None));
    }
}

//! An account's numbering ranges (`rangos-de-numeracion/facturacion/obtener-rangos.md`, the SDK's
//! `NumberingRange`), read from the list's rows (whose `document` holds the document's name, not
//! its code, as the SDK notes), and what an organization must hear about them: a range with less
//! than 5 % or fewer than 100 numbers left, or whose DIAN resolution ends within 30 days.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, Month};

/// A range as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberingRange {
    pub id: u64,
    /// DIAN's document code: 21 sales invoice, 22 credit note, 23 debit note...
    pub document: String,
    pub prefix: String,
    pub from: u64,
    pub to: u64,
    /// The next number it gives.
    pub current: u64,
    pub resolution_number: Option<String>,
    /// The last day of its DIAN resolution (YYYY-MM-DD), if it has one.
    pub valid_until: Option<String>,
    pub active: bool,
    pub expired: bool,
}

/// A range the organization must hear about, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeWarning {
    pub numbering_range_id: u64,
    pub message: String,
}

/// Fewer numbers left than this is a warning.
const FEW_NUMBERS: u64 = 100;
/// A resolution ending within this many days is a warning.
const ENDS_SOON_DAYS: i64 = 30;

impl NumberingRange {
    /// A row of `GET /v2/numbering-ranges`; `None` when it cannot be read.
    pub fn of_row(row: &Value) -> Option<Self> {
        let number = |key: &str| match row.get(key)? {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        let text = |key: &str| {
            row.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        let flag = |key: &str| match row.get(key) {
            Some(Value::Bool(flag)) => *flag,
            Some(Value::Number(number)) => number.as_u64() == Some(1),
            Some(Value::String(text)) => matches!(text.as_str(), "1" | "true"),
            _ => false,
        };
        let document = text("document")?;
        let code = codes::NUMBERING_RANGE_DOCUMENTS
            .iter()
            .find(|known| known.code == document || known.name.eq_ignore_ascii_case(&document))
            .map_or(document, |known| known.code.to_owned());
        Some(Self {
            id: number("id")?,
            document: code,
            prefix: text("prefix").unwrap_or_default(),
            from: number("from")?,
            to: number("to")?,
            current: number("current")?,
            resolution_number: text("resolution_number"),
            valid_until: text("end_date").map(|end| end.chars().take(10).collect()),
            active: flag("is_active"),
            expired: flag("is_expired"),
        })
    }

    /// The numbers it has left.
    pub fn remaining(&self) -> u64 {
        (self.to + 1).saturating_sub(self.current.max(self.from))
    }

    /// Why the organization must hear about it, as of `today`: only active ranges in force.
    fn warnings(&self, today: Date) -> Vec<String> {
        if !self.active || self.expired {
            return Vec::new();
        }
        let mut warnings = Vec::new();
        let size = (self.to + 1).saturating_sub(self.from);
        let left = self.remaining();
        if left < FEW_NUMBERS || left.saturating_mul(20) < size {
            warnings.push(format!(
                "numbering range {} ({}) has {left} of its {size} numbers left: ask DIAN for a new one",
                self.id, self.prefix
            ));
        }
        let ends = self.valid_until.as_deref().and_then(iso_date);
        if let Some(ends) = ends
            && (ends - today).whole_days() <= ENDS_SOON_DAYS
        {
            warnings.push(format!(
                "the DIAN resolution of numbering range {} ({}) ends on {ends}",
                self.id, self.prefix
            ));
        }
        warnings
    }
}

/// A `YYYY-MM-DD` date.
fn iso_date(text: &str) -> Option<Date> {
    let mut parts = text.splitn(3, '-').map(str::parse::<u16>);
    let (year, month, day) = (parts.next()?.ok()?, parts.next()?.ok()?, parts.next()?.ok()?);
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()
}

/// What the organization must hear about its ranges, as of `today`.
pub fn warnings(ranges: &[NumberingRange], today: Date) -> Vec<RangeWarning> {
    ranges
        .iter()
        .flat_map(|range| {
            range.warnings(today).into_iter().map(|message| RangeWarning {
                numbering_range_id: range.id,
                message,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bills(current: u64, end_date: &str) -> NumberingRange {
        NumberingRange::of_row(&json!({
            "id": 8, "document": "Factura de Venta", "prefix": "SETP", "from": 990000000, "to": 995000000,
            "current": current, "resolution_number": "18760000001", "start_date": "2019-01-19",
            "end_date": end_date, "technical_key": "693f", "is_expired": 0, "is_active": 1,
        }))
        .unwrap()
    }

    #[test]
    fn a_list_row_is_read_with_its_documents_code() {
        let range = bills(990000001, "2030-01-19");
        assert_eq!(
            (
                range.document.as_str(),
                range.remaining(),
                range.valid_until.as_deref()
            ),
            ("21", 5_000_000, Some("2030-01-19"))
        );
        let note = NumberingRange::of_row(&json!({"id": "9", "document": "22", "prefix": "NC", "from": 1,
            "to": 999999999, "current": 1, "resolution_number": null, "end_date": null,
            "is_expired": false, "is_active": true}))
        .unwrap();
        assert_eq!(
            (note.document.as_str(), note.active, note.valid_until),
            ("22", true, None)
        );
        assert_eq!(NumberingRange::of_row(&json!({"id": 1})), None);
    }

    #[test]
    fn few_numbers_left_or_a_resolution_ending_soon_is_a_warning_of_an_active_range() {
        let today = iso_date("2026-12-01").unwrap();
        assert_eq!(iso_date("2026-13-01"), None);
        assert_eq!(warnings(&[bills(990000001, "2030-01-19")], today), []);
        // 5 % of 5,000,001 numbers is 250,000: 249,999 left warns, 250,001 does not.
        assert_eq!(warnings(&[bills(994_750_002, "2030-01-19")], today).len(), 1);
        assert_eq!(warnings(&[bills(994_750_000, "2030-01-19")], today), []);
        let small = NumberingRange {
            from: 1,
            to: 1000,
            current: 950,
            ..bills(1, "2030-01-19")
        };
        let found = warnings(&[small], today);
        assert!(
            found[0].message.contains("has 51 of its 1000 numbers left"),
            "{found:?}"
        );
        let ending = warnings(&[bills(990000001, "2026-12-31")], today);
        assert_eq!(ending.len(), 1);
        assert!(ending[0].message.contains("ends on 2026-12-31"));
        assert_eq!(warnings(&[bills(990000001, "2027-01-01")], today), []);
        let inactive = NumberingRange {
            active: false,
            ..bills(995_000_000, "2026-12-02")
        };
        assert_eq!(warnings(&[inactive], today), []);
    }
}

//! A batch (lote) as a client uploads it: a JSON `{"invoices": [...]}` or a CSV (see
//! [`crate::domain::batch_csv`]), read into the invoices that are valid and the inputs that are
//! not, each of those with every problem it has. Every invoice is validated by the same code as
//! `POST /v1/invoices`; a reference code used twice in one batch makes each of its invoices
//! invalid.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::invoice::InvoiceInput;
use crate::json::{Json, Object, as_array};
use crate::validation::{FieldError, Problems};

/// The most invoices one batch may hold.
pub const MAX_INVOICES: usize = 10_000;
/// The most invalid inputs a batch records; the rest are counted in `invalid_count`.
pub const MAX_RECORDED_INVALID: usize = 1_000;
/// The most problems recorded of one invalid input; the rest are counted in `errors_not_shown`.
pub const MAX_RECORDED_PROBLEMS: usize = 20;
/// The most characters of a text an error record keeps (a reference code, a field, a message);
/// a longer one is cut and ends in `…`. A record stays under 40 KB, far from DynamoDB's 400 KB.
pub const MAX_RECORDED_TEXT: usize = 200;

/// One input of a batch that was not stored, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidInput {
    /// Its position in a JSON batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Its first record in a CSV batch (the header is line 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub reference_code: Option<String>,
    pub errors: Vec<InputError>,
    /// Problems beyond the first [`MAX_RECORDED_PROBLEMS`], not recorded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub errors_not_shown: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    /// The field's path in a JSON invoice, or its column in a CSV.
    pub field: String,
    /// The CSV record the problem is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub message: String,
}

/// Where an input was in the upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Its index in a JSON batch.
    Index(usize),
    /// Its first record in a CSV (the header is line 1).
    Line(u64),
}

/// A batch, read.
#[derive(Debug, Default)]
pub struct Parsed {
    pub valid: Vec<(Position, InvoiceInput)>,
    pub invalid: Invalid,
}

/// The invalid inputs of a batch: every one counted, the first [`MAX_RECORDED_INVALID`] of the
/// upload kept (by position, whatever order they were found in), each cut to its bounds: whatever
/// the upload holds, what is kept of it is small.
#[derive(Debug, Default)]
pub struct Invalid {
    recorded: Vec<InvalidInput>,
    count: usize,
    /// Once full: the kept entry placed last in the upload, the first to give way.
    last_kept: Option<(usize, Place)>,
}

/// Where an input was in the upload, in upload order.
type Place = (Option<usize>, Option<u64>);

impl Invalid {
    /// Counts `entry`, and keeps it, within bounds, if it is among the first of the upload.
    pub fn push(&mut self, entry: InvalidInput) {
        self.count += 1;
        if self.recorded.len() < MAX_RECORDED_INVALID {
            self.recorded.push(entry.bounded());
            if self.recorded.len() == MAX_RECORDED_INVALID {
                self.last_kept = self.find_last_kept();
            }
            return;
        }
        // Full: the entry replaces the last-placed one kept, if it comes before it (entries
        // mostly arrive in order, so this is mostly one comparison).
        if let Some((at, place)) = self.last_kept
            && entry.place() < place
        {
            self.recorded[at] = entry.bounded();
            self.last_kept = self.find_last_kept();
        }
    }

    fn find_last_kept(&self) -> Option<(usize, Place)> {
        self.recorded
            .iter()
            .enumerate()
            .max_by_key(|(_, kept)| kept.place())
            .map(|(at, kept)| (at, kept.place()))
    }

    /// How many inputs are invalid, recorded or not.
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The inputs kept, in input order once [`Invalid::sort`] ran.
    pub fn recorded(&self) -> &[InvalidInput] {
        &self.recorded
    }

    /// Puts the kept inputs in input order.
    pub fn sort(&mut self) {
        self.recorded.sort_by_key(InvalidInput::place);
        if self.last_kept.is_some() {
            self.last_kept = self.find_last_kept();
        }
    }
}

/// `text`, or its first [`MAX_RECORDED_TEXT`] characters and `…`.
fn cut(text: String) -> String {
    match text.char_indices().nth(MAX_RECORDED_TEXT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// Why a whole upload is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// More invoices than [`MAX_INVOICES`].
    TooMany(usize),
    /// Not readable at all (400).
    Unreadable {
        message: String,
        details: Vec<FieldError>,
    },
    /// Readable, but not a batch (422).
    NotABatch(Vec<FieldError>),
}

impl InvalidInput {
    /// The entry of an invoice at `position` (of reference `code`) refused for one `field`.
    pub fn of_field(position: Position, code: &str, field: &str, message: String) -> Self {
        let line = match position {
            Position::Line(line) => Some(line),
            Position::Index(_) => None,
        };
        let error = InputError {
            field: field.to_owned(),
            line,
            message,
        };
        Self::at(position, Some(code.to_owned()), vec![error])
    }

    pub fn at(position: Position, reference_code: Option<String>, errors: Vec<InputError>) -> Self {
        let (index, line) = match position {
            Position::Index(index) => (Some(index), None),
            Position::Line(line) => (None, Some(line)),
        };
        Self {
            index,
            line,
            reference_code,
            errors,
            errors_not_shown: 0,
        }
    }

    /// Where it was in the upload, for ordering.
    fn place(&self) -> Place {
        (self.index, self.line)
    }

    /// The input with its first [`MAX_RECORDED_PROBLEMS`] problems and every text cut.
    fn bounded(mut self) -> Self {
        if self.errors.len() > MAX_RECORDED_PROBLEMS {
            self.errors_not_shown += self.errors.len() - MAX_RECORDED_PROBLEMS;
            self.errors.truncate(MAX_RECORDED_PROBLEMS);
        }
        self.reference_code = self.reference_code.map(cut);
        for error in &mut self.errors {
            error.field = cut(std::mem::take(&mut error.field));
            error.message = cut(std::mem::take(&mut error.message));
        }
        self
    }
}

/// Reads a JSON batch.
pub fn parse_json(body: &Json) -> Result<Parsed, Refused> {
    let mut problems = Problems::new();
    let invoices = Object::read(body, "", &mut problems).and_then(|mut root| {
        let invoices = root
            .required("invoices", &mut problems)
            .and_then(|v| as_array(v, "invoices", &mut problems));
        root.finish(&mut problems);
        invoices
    });
    let Some(invoices) = invoices.filter(|_| problems.is_empty()) else {
        return Err(Refused::NotABatch(problems.into_errors()));
    };
    if invoices.is_empty() {
        return Err(Refused::NotABatch(vec![FieldError::new(
            "invoices",
            "must hold at least one invoice",
        )]));
    }
    if invoices.len() > MAX_INVOICES {
        return Err(Refused::TooMany(invoices.len()));
    }
    let mut parsed = Parsed::default();
    for (index, (_, value)) in invoices.into_iter().enumerate() {
        let mut problems = Problems::new();
        match InvoiceInput::parse(value, "", &mut problems) {
            Some(input) if problems.is_empty() => parsed.valid.push((Position::Index(index), input)),
            _ => {
                let reference = reference_of(value);
                let errors = problems
                    .into_errors()
                    .into_iter()
                    .map(|e| InputError {
                        field: e.field,
                        line: None,
                        message: e.message,
                    })
                    .collect();
                parsed
                    .invalid
                    .push(InvalidInput::at(Position::Index(index), reference, errors));
            }
        }
    }
    Ok(reject_repeated_references(parsed))
}

fn reference_of(value: &Json) -> Option<String> {
    match value {
        Json::Object(members) => match members.get("reference_code") {
            Some(Json::String(code)) => Some(code.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// A reference code used by more than one invoice of the batch makes each of them invalid:
/// which one the client meant cannot be told.
pub(crate) fn reject_repeated_references(mut parsed: Parsed) -> Parsed {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (_, input) in &parsed.valid {
        *counts
            .entry(input.reference_code.as_str().to_owned())
            .or_default() += 1;
    }
    let (valid, repeated): (Vec<_>, Vec<_>) = parsed
        .valid
        .into_iter()
        .partition(|(_, input)| counts[input.reference_code.as_str()] == 1);
    parsed.valid = valid;
    for (position, input) in repeated {
        let code = input.reference_code.as_str();
        let message = format!("{code} is used by {} invoices of this batch", counts[code]);
        parsed
            .invalid
            .push(InvalidInput::of_field(position, code, "reference_code", message));
    }
    parsed.invalid.sort();
    parsed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn invoice(reference: &str) -> serde_json::Value {
        json!({
            "reference_code": reference, "payment_form": "cash",
            "customer": {"identification_type": "CC", "identification": "1020304050",
                         "legal_organization": "person", "name": "Ana", "email": "ana@x.co"},
            "items": [{"code_reference": "S", "name": "Servicio", "quantity": 1, "price": 1000, "tax_rate": 19}]
        })
    }

    fn parse(value: serde_json::Value) -> Result<Parsed, Refused> {
        parse_json(&crate::json::parse(value.to_string().as_bytes()).unwrap())
    }

    #[test]
    fn an_empty_batch_says_it_needs_an_invoice() {
        let refused = parse(json!({"invoices": []})).unwrap_err();
        assert_eq!(
            refused,
            Refused::NotABatch(vec![FieldError::new(
                "invoices",
                "must hold at least one invoice"
            )])
        );
    }

    #[test]
    fn valid_and_invalid_invoices_are_told_apart_by_index() {
        let mut broken = invoice("B");
        broken["items"][0]["quantity"] = json!(0);
        let parsed = parse(json!({"invoices": [invoice("A"), broken, invoice("C")]})).unwrap();
        assert_eq!(
            parsed.valid.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [Position::Index(0), Position::Index(2)]
        );
        assert_eq!(parsed.invalid.count(), 1);
        let invalid = parsed.invalid.recorded();
        assert_eq!(invalid[0].index, Some(1));
        assert_eq!(invalid[0].reference_code.as_deref(), Some("B"));
        assert_eq!(invalid[0].errors[0].field, "items[0].quantity");
    }

    #[test]
    fn a_reference_used_twice_in_a_batch_invalidates_both() {
        let parsed = parse(json!({"invoices": [invoice("A"), invoice("B"), invoice("A")]})).unwrap();
        assert_eq!(parsed.valid.len(), 1);
        let invalid: Vec<Option<usize>> = parsed.invalid.recorded().iter().map(|i| i.index).collect();
        assert_eq!(invalid, [Some(0), Some(2)]);
        assert!(
            parsed.invalid.recorded()[0].errors[0]
                .message
                .contains("used by 2 invoices")
        );
    }

    #[test]
    fn what_is_not_a_batch_is_refused_whole() {
        assert!(matches!(parse(json!([invoice("A")])), Err(Refused::NotABatch(_))));
        assert!(matches!(
            parse(json!({"invoices": "A"})),
            Err(Refused::NotABatch(_))
        ));
        assert!(matches!(
            parse(json!({"invoices": [], "extra": 1})),
            Err(Refused::NotABatch(_))
        ));
        let too_many = serde_json::Value::Array(vec![json!(null); MAX_INVOICES + 1]);
        assert_eq!(
            parse(json!({"invoices": too_many})).unwrap_err(),
            Refused::TooMany(MAX_INVOICES + 1)
        );
    }
}

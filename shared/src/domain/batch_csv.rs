//! A batch as CSV, as Colombian spreadsheets export it: a header row (columns in any order, the
//! optional ones may be left out), one row per item, rows sharing a `reference_code` (adjacent or
//! not) forming one invoice whose invoice-level columns must agree. UTF-8 with or without a BOM,
//! or `charset=windows-1252`; CRLF or LF; RFC 4180 quoting; `,` or `;` as the delimiter, and with
//! `;` decimal commas (`45.000`, `1.234,56`: the numbers module reads them). Each row becomes the JSON shape of an invoice and goes
//! through the same validation; problems name the CSV record (line) and column. Cells are kept
//! verbatim: nothing is evaluated (`=SUM(A1)` stays text).

use std::collections::{BTreeMap, HashMap};

use super::batch::{
    InputError, Invalid, InvalidInput, MAX_INVOICES, Parsed, Position, Refused, reject_repeated_references,
};
use super::invoice::InvoiceInput;
use crate::json::Json;
use crate::validation::{FieldError, Problems};
use numbers::Numbers;

/// Invoice-level columns and where each goes in an invoice.
const INVOICE_COLUMNS: [(&str, &str); 17] = [
    ("reference_code", "reference_code"),
    ("payment_form", "payment_form"),
    ("payment_due_date", "payment_due_date"),
    ("payment_method_code", "payment_method_code"),
    ("observation", "observation"),
    ("numbering_range_id", "numbering_range_id"),
    ("currency", "currency"),
    ("send_email", "send_email"),
    ("customer_identification_type", "customer.identification_type"),
    ("customer_identification", "customer.identification"),
    ("customer_dv", "customer.dv"),
    ("customer_legal_organization", "customer.legal_organization"),
    ("customer_name", "customer.name"),
    ("customer_email", "customer.email"),
    ("customer_address", "customer.address"),
    ("customer_phone", "customer.phone"),
    ("customer_municipality_code", "customer.municipality_code"),
];

/// Item columns and their field in an item.
const ITEM_COLUMNS: [(&str, &str); 11] = [
    ("item_code", "code_reference"),
    ("item_name", "name"),
    ("quantity", "quantity"),
    ("price", "price"),
    ("discount_rate", "discount_rate"),
    ("discount_amount", "discount_amount"),
    ("tax_rate", "tax_rate"),
    ("taxes", "taxes"),
    ("unit_measure", "unit_measure"),
    ("is_excluded", "is_excluded"),
    ("withholding_taxes", "withholding_taxes"),
];

const REQUIRED: [&str; 11] = [
    "reference_code",
    "payment_form",
    "customer_identification_type",
    "customer_identification",
    "customer_legal_organization",
    "customer_name",
    "customer_email",
    "item_code",
    "item_name",
    "quantity",
    "price",
];

mod numbers;

/// Columns that hold numbers, read by the file's decimal mark.
const NUMERIC: [&str; 5] = [
    "quantity",
    "price",
    "discount_rate",
    "discount_amount",
    "tax_rate",
];

fn invoice_columns() -> impl Iterator<Item = (&'static str, &'static str)> {
    INVOICE_COLUMNS.into_iter()
}

fn known(column: &str) -> bool {
    column_name(column).is_some()
}

/// The documented name of `column`, if it is one: rows keep it instead of a copy per cell.
fn column_name(column: &str) -> Option<&'static str> {
    invoice_columns()
        .chain(ITEM_COLUMNS)
        .map(|(name, _)| name)
        .find(|name| *name == column)
}

fn unreadable(message: impl Into<String>, details: Vec<FieldError>) -> Refused {
    Refused::Unreadable {
        message: message.into(),
        details,
    }
}

/// The text of the upload: UTF-8 (a BOM is dropped) unless the content type says windows-1252.
fn decode(body: &[u8], charset: Option<&str>) -> Result<String, Refused> {
    match charset.map(str::to_ascii_lowercase).as_deref() {
        Some("windows-1252" | "cp1252" | "iso-8859-1" | "latin1") => Ok(encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(body)
            .0
            .into_owned()),
        None | Some("utf-8" | "utf8") => {
            let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
            String::from_utf8(body.to_vec()).map_err(|_| {
                unreadable(
                    "the CSV is not UTF-8: send it as UTF-8, or say text/csv; charset=windows-1252",
                    Vec::new(),
                )
            })
        }
        Some(other) => Err(unreadable(
            format!("the charset {other} is not supported: use utf-8 or windows-1252"),
            Vec::new(),
        )),
    }
}

/// `;` when the header has more semicolons than commas (a spreadsheet in Spanish), else `,`.
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// A row of the upload, as the CSV reader read it: one buffer for all of its cells. 10,000 rows
/// are held at once (an invoice's rows may be anywhere in the file), so a row is kept small.
struct Row {
    line: u64,
    record: csv::StringRecord,
}

/// How the upload's rows read: its columns, in the header's order, and its numbers.
struct Layout {
    columns: Vec<&'static str>,
    numbers: Numbers,
}

impl Layout {
    /// The cell of `column` in `row`, trimmed, or `None` when it is empty.
    fn cell<'r>(&self, row: &'r Row, column: &str) -> Option<&'r str> {
        let index = self.columns.iter().position(|name| *name == column)?;
        Some(row.record.get(index)?.trim()).filter(|cell| !cell.is_empty())
    }

    /// Notes the decimal marks of every number in `rows`, before any is read.
    fn observe<'r>(&mut self, rows: impl Iterator<Item = &'r Row>) {
        for row in rows {
            for column in NUMERIC {
                if let Some(cell) = self.cell(row, column) {
                    self.numbers.observe(cell, row.line, column);
                }
            }
            for column in ["taxes", "withholding_taxes"] {
                let pairs = self.cell(row, column).and_then(code_rate_pairs);
                for (_, rate) in pairs.into_iter().flatten() {
                    self.numbers.observe(rate, row.line, column);
                }
            }
        }
    }
}

/// Reads a CSV batch; `charset` is the content type's, if any.
pub fn parse_csv(body: &[u8], charset: Option<&str>) -> Result<Parsed, Refused> {
    let text = decode(body, charset)?;
    if text.trim().is_empty() {
        return Err(unreadable(
            "the CSV is empty: it needs a header and a row per item",
            Vec::new(),
        ));
    }
    let delimiter = delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(format!("the CSV's header cannot be read: {e}"), Vec::new()))?
        .iter()
        .map(|column| column.trim().to_ascii_lowercase())
        .collect();
    check_header(&header)?;
    let mut layout = Layout {
        columns: header.iter().filter_map(|column| column_name(column)).collect(),
        numbers: Numbers::new(delimiter),
    };

    let mut invalid = Invalid::default();
    // Invoices in the order of their first row; rows of one reference code need not be adjacent.
    let mut groups: Vec<(String, Vec<Row>)> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(format!("the CSV cannot be read: {e}"), Vec::new()))?;
        let line = record.position().map_or(0, |p| p.record() + 1);
        if record.len() != header.len() {
            let message = format!(
                "has {} fields where the header has {}",
                record.len(),
                header.len()
            );
            invalid.push(InvalidInput::at(
                Position::Line(line),
                None,
                vec![InputError {
                    field: "record".into(),
                    line: Some(line),
                    message,
                }],
            ));
            continue;
        }
        let row = Row { line, record };
        let Some(reference) = layout.cell(&row, "reference_code").map(str::to_owned) else {
            let error = InputError {
                field: "reference_code".into(),
                line: Some(line),
                message: "is required".into(),
            };
            invalid.push(InvalidInput::at(Position::Line(line), None, vec![error]));
            continue;
        };
        let index = *group_of.entry(reference.clone()).or_insert_with(|| {
            groups.push((reference, Vec::new()));
            groups.len() - 1
        });
        groups[index].1.push(row);
        if groups.len() > MAX_INVOICES {
            return Err(Refused::TooMany(groups.len()));
        }
    }
    if groups.is_empty() && invalid.is_empty() {
        return Err(Refused::NotABatch(vec![FieldError::new(
            "body",
            "the CSV has a header but no rows",
        )]));
    }

    layout.observe(groups.iter().flat_map(|(_, rows)| rows));

    let mut parsed = Parsed {
        valid: Vec::new(),
        invalid,
    };
    for (reference, rows) in groups {
        let first_line = rows[0].line;
        match invoice_of(&layout, &rows) {
            Ok(input) => parsed.valid.push((Position::Line(first_line), input)),
            Err(errors) => parsed.invalid.push(InvalidInput::at(
                Position::Line(first_line),
                Some(reference),
                errors,
            )),
        }
    }
    Ok(reject_repeated_references(parsed))
}

fn check_header(header: &[String]) -> Result<(), Refused> {
    let mut details = Vec::new();
    for (position, column) in header.iter().enumerate() {
        if !known(column) {
            details.push(FieldError::new(column.as_str(), "is not a known column"));
        } else if header[..position].contains(column) {
            details.push(FieldError::new(column.as_str(), "appears twice in the header"));
        }
    }
    for column in REQUIRED {
        if !header.iter().any(|c| c == column) {
            details.push(FieldError::new(
                column,
                "is a required column and the header lacks it",
            ));
        }
    }
    if details.is_empty() {
        Ok(())
    } else {
        Err(unreadable("the CSV's header is not the documented one", details))
    }
}

/// The JSON shape of one invoice from its rows, or the problems of its rows.
fn invoice_of(layout: &Layout, rows: &[Row]) -> Result<InvoiceInput, Vec<InputError>> {
    let first = &rows[0];
    let mut errors = Vec::new();
    for row in &rows[1..] {
        for (column, _) in invoice_columns() {
            if let (Some(mine), Some(theirs)) = (layout.cell(row, column), layout.cell(first, column))
                && mine != theirs
            {
                errors.push(InputError {
                    field: column.to_owned(),
                    line: Some(row.line),
                    message: format!(
                        "is {mine:?} here but {theirs:?} on line {}: an invoice's rows must agree",
                        first.line
                    ),
                });
            }
        }
    }
    let mut invoice: BTreeMap<String, Json> = BTreeMap::new();
    let mut customer: BTreeMap<String, Json> = BTreeMap::new();
    for (column, field) in invoice_columns() {
        let Some(cell) = layout.cell(first, column) else {
            continue;
        };
        let value = match column {
            "numbering_range_id" => Json::Number(cell.to_owned()),
            "send_email" => flag(cell.to_owned()),
            _ => Json::String(cell.to_owned()),
        };
        match field.strip_prefix("customer.") {
            Some(field) => customer.insert(field.to_owned(), value),
            None => invoice.insert(field.to_owned(), value),
        };
    }
    if !customer.is_empty() {
        invoice.insert("customer".to_owned(), Json::Object(customer));
    }
    let mut items = Vec::new();
    for row in rows {
        let mut item = BTreeMap::new();
        for (column, field) in ITEM_COLUMNS {
            let Some(cell) = layout.cell(row, column) else {
                continue;
            };
            let mut refuse = |message: String| {
                errors.push(InputError {
                    field: column.to_owned(),
                    line: Some(row.line),
                    message,
                });
            };
            let value = match column {
                "is_excluded" => flag(cell.to_owned()),
                "withholding_taxes" | "taxes" => {
                    let Some(pairs) = code_rate_pairs(cell) else {
                        let example = if column == "taxes" {
                            "01:19|04:8"
                        } else {
                            "06:2.5|07:0.97"
                        };
                        refuse(format!("must be code:rate pairs joined by | ({example})"));
                        continue;
                    };
                    let mut list = Vec::new();
                    for (code, rate) in pairs {
                        match layout.numbers.read(rate) {
                            Ok(rate) => list.push(Json::Object(BTreeMap::from([
                                ("code".to_owned(), Json::String(code.to_owned())),
                                ("rate".to_owned(), Json::String(rate)),
                            ]))),
                            Err(message) => refuse(message),
                        }
                    }
                    Json::Array(list)
                }
                _ if NUMERIC.contains(&column) => match layout.numbers.read(cell) {
                    Ok(number) => Json::String(number),
                    Err(message) => {
                        refuse(message);
                        continue;
                    }
                },
                _ => Json::String(cell.to_owned()),
            };
            item.insert(field.to_owned(), value);
        }
        items.push(Json::Object(item));
    }
    invoice.insert("items".to_owned(), Json::Array(items));
    let mut problems = Problems::new();
    let input = InvoiceInput::parse(&Json::Object(invoice), "", &mut problems);
    errors.extend(
        problems
            .into_errors()
            .into_iter()
            .map(|problem| located(problem, rows)),
    );
    match input {
        Some(input) if errors.is_empty() => Ok(input),
        _ => Err(errors),
    }
}

/// A yes/no cell as a JSON boolean; anything else stays text, for validation to name.
fn flag(cell: String) -> Json {
    match cell.to_lowercase().as_str() {
        "true" | "1" | "si" | "sí" | "yes" => Json::Bool(true),
        "false" | "0" | "no" => Json::Bool(false),
        _ => Json::String(cell),
    }
}

/// `06:2.5|07:0,97` as its (code, rate) pairs, trimmed; `None` when malformed.
fn code_rate_pairs(cell: &str) -> Option<Vec<(&str, &str)>> {
    cell.split('|')
        .map(|pair| {
            let (code, rate) = pair.split_once(':')?;
            Some((code.trim(), rate.trim()))
        })
        .collect()
}

/// A problem at a JSON path (`items[2].quantity`), at its CSV column and line instead.
fn located(problem: FieldError, rows: &[Row]) -> InputError {
    let field = problem.field;
    let (column, line) = if let Some(rest) = field.strip_prefix("items[") {
        let (index, member) = rest.split_once(']').unwrap_or((rest, ""));
        let member = member.trim_start_matches('.');
        let name = member.split(['.', '[']).next().unwrap_or_default();
        let column = ITEM_COLUMNS
            .iter()
            .find(|(_, f)| *f == name)
            .map_or(name, |(c, _)| c);
        let line = index
            .parse::<usize>()
            .ok()
            .and_then(|i| rows.get(i))
            .map(|row| row.line);
        (column.to_owned(), line)
    } else {
        let column = invoice_columns()
            .find(|(_, f)| *f == field)
            .map_or(field.as_str(), |(c, _)| c);
        (column.replace('.', "_"), Some(rows[0].line))
    };
    InputError {
        field: column,
        line,
        message: problem.message,
    }
}

#[cfg(test)]
mod tests;

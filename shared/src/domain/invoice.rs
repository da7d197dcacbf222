//! An invoice as a client submits it (docs/API.md, `InvoiceInput`), parsed once into types that
//! cannot hold an invalid invoice, and that meets Factus's rules: what the provider would refuse
//! is refused here, with its path (`customer.dv`, `items[3].taxes[0].rate`). JSON bodies and CSV
//! rows (as a JSON tree) go through the same code, so a batch validates exactly as a single
//! invoice does. The customer and the items have their own modules.

mod customer;
mod item;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use customer::{Customer, IdentificationType, LegalOrganization};
pub use item::{Discount, Item, MAX_ITEMS, Tax, TaxCode, Withholding, WithholdingCode};

use super::money::parse_decimal;
use super::text::bounded;
use crate::json::{Json, Object, as_bool, as_number_text};
use crate::validation::Problems;

const MAX_REFERENCE: usize = 64;
const MAX_NAME: usize = 200;
/// The most an invoice's document may take as stored: its item stays within DynamoDB's 400 KB
/// with room for its state and its credit notes' entries.
const MAX_STORED_BYTES: usize = 300_000;
/// Invoices of more items than this are measured against [`MAX_STORED_BYTES`].
const MEASURED_FROM_ITEMS: usize = 100;
const MAX_CODE: usize = 50;
const MAX_OBSERVATION: usize = 250;
const MAX_ADDRESS: usize = 200;

/// `[A-Za-z0-9._-]{1,64}`, unique per organization.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReferenceCode(String);

impl ReferenceCode {
    pub fn parse(text: &str) -> Result<Self, String> {
        let valid = !text.is_empty()
            && text.len() <= MAX_REFERENCE
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "must be 1 to {MAX_REFERENCE} of letters, digits, '.', '_' and '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentForm {
    Cash,
    Credit,
}

impl PaymentForm {
    /// DIAN's code ("Códigos de formas de pago"): 1 contado, 2 crédito.
    pub fn dian_code(self) -> &'static str {
        match self {
            Self::Cash => "1",
            Self::Credit => "2",
        }
    }
}

/// A valid invoice, with every default filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceInput {
    pub reference_code: ReferenceCode,
    pub payment_form: PaymentForm,
    /// `YYYY-MM-DD`; required for credit.
    pub payment_due_date: Option<String>,
    pub payment_method_code: String,
    pub numbering_range_id: Option<u64>,
    pub currency: String,
    pub observation: Option<String>,
    /// Whether the provider e-mails the customer the issued invoice (Factus's default: yes).
    pub send_email: bool,
    pub customer: Customer,
    pub items: Vec<Item>,
}

/// Reads a decimal field (a JSON number or a numeric string, read exactly).
fn decimal(
    object: &mut Object<'_>,
    key: &'static str,
    required: bool,
    decimals: u32,
    digits: u32,
    problems: &mut Problems,
) -> Option<Decimal> {
    let path = object.path_of(key);
    let value = if required {
        object.required(key, problems)?
    } else {
        object.optional(key)?
    };
    let text = as_number_text(value, &path, problems)?;
    parse_decimal(text, decimals, digits)
        .map_err(|message| problems.add(&path, message))
        .ok()
}

fn optional_text(
    object: &mut Object<'_>,
    key: &'static str,
    max: usize,
    problems: &mut Problems,
) -> Option<String> {
    let path = object.path_of(key);
    let text = object.optional_str(key, problems)?;
    if text.trim().is_empty() {
        return None;
    }
    bounded(text, max)
        .map_err(|message| problems.add(&path, message))
        .ok()
}

/// The optional `numbering_range_id` of an invoice or a credit note: a positive integer.
pub(super) fn numbering_range_id(root: &mut Object<'_>, problems: &mut Problems) -> Option<u64> {
    let path = root.path_of("numbering_range_id");
    let value = root.optional("numbering_range_id")?;
    let text = as_number_text(value, &path, problems)?;
    match text.parse::<u64>() {
        Ok(id) if (1..=1_000_000_000).contains(&id) => Some(id),
        _ => {
            problems.add(&path, "must be a positive integer");
            None
        }
    }
}

fn code(text: &str, max: usize) -> Result<String, String> {
    if !text.is_empty() && text.len() <= max && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(text.to_owned())
    } else {
        Err(format!("must be 1 to {max} letters or digits"))
    }
}

fn digits(text: &str, min: usize, max: usize) -> Result<String, String> {
    if (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(format!("must be {min} to {max} digits"))
    }
}

fn parse_date(text: &str) -> Result<String, &'static str> {
    let invalid = "must be a date as YYYY-MM-DD";
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts[..] else {
        return Err(invalid);
    };
    let digits = |part: &str, count: usize| part.len() == count && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return Err(invalid);
    }
    let number = |part: &str| part.parse::<u16>().map_err(|_| invalid);
    let month =
        time::Month::try_from(u8::try_from(number(month)?).map_err(|_| invalid)?).map_err(|_| invalid)?;
    let day = u8::try_from(number(day)?).map_err(|_| invalid)?;
    time::Date::from_calendar_date(i32::from(number(year)?), month, day).map_err(|_| invalid)?;
    Ok(text.to_owned())
}

impl InvoiceInput {
    /// Parses one invoice at `path` (`""` for a body, `invoices[3]` in a batch). `None` when
    /// anything is wrong; every problem is in `problems`.
    pub fn parse(value: &Json, path: &str, problems: &mut Problems) -> Option<Self> {
        let before = problems.len();
        let mut root = Object::read(value, path, problems)?;
        let reference_code = root.parsed("reference_code", problems, ReferenceCode::parse);
        let payment_form = root.parsed("payment_form", problems, |form| match form {
            "cash" => Ok(PaymentForm::Cash),
            "credit" => Ok(PaymentForm::Credit),
            _ => Err("must be cash or credit"),
        });
        let due_path = root.path_of("payment_due_date");
        let payment_due_date = match root.optional_str("payment_due_date", problems) {
            Some(date) if !date.is_empty() => parse_date(date).map_err(|m| problems.add(&due_path, m)).ok(),
            _ => {
                if payment_form == Some(PaymentForm::Credit) {
                    problems.add(&due_path, "is required when payment_form is credit");
                }
                None
            }
        };
        let method_path = root.path_of("payment_method_code");
        let payment_method_code = match root.optional_str("payment_method_code", problems) {
            Some(method) if !method.is_empty() => match codes::name(codes::PAYMENT_METHODS, method) {
                Some(_) => Some(method.to_owned()),
                None => {
                    let known: Vec<&str> = codes::PAYMENT_METHODS.iter().map(|row| row.code).collect();
                    problems.add(
                        &method_path,
                        format!("must be one of DIAN's payment methods: {}", known.join(", ")),
                    );
                    None
                }
            },
            _ => Some("10".to_owned()),
        };
        let numbering_range_id = numbering_range_id(&mut root, problems);
        let currency_path = root.path_of("currency");
        let currency = match root.optional_str("currency", problems) {
            Some("COP") | None | Some("") => Some("COP".to_owned()),
            Some(_) => {
                problems.add(&currency_path, "must be COP");
                None
            }
        };
        let observation = optional_text(&mut root, "observation", MAX_OBSERVATION, problems);
        let email_path = root.path_of("send_email");
        let send_email = root
            .optional("send_email")
            .map_or(Some(true), |value| as_bool(value, &email_path, problems));
        let customer = root
            .required("customer", problems)
            .and_then(|value| customer::parse_customer(value, &root.path_of("customer"), problems));
        let items_path = root.path_of("items");
        let items = root
            .required("items", problems)
            .and_then(|value| item::parse_items(value, &items_path, problems));
        root.finish(problems);
        if problems.len() > before {
            return None;
        }
        let input = Self {
            reference_code: reference_code?,
            payment_form: payment_form?,
            payment_due_date,
            payment_method_code: payment_method_code?,
            numbering_range_id,
            currency: currency?,
            observation,
            send_email: send_email?,
            customer: customer?,
            items: items?,
        };
        let stored = input.stored_bytes();
        if stored > MAX_STORED_BYTES {
            problems.add(
                &items_path,
                format!(
                    "make an invoice of {} KB as stored, more than the {} KB an invoice may take: send fewer items, or shorter names and codes",
                    stored.div_ceil(1_000),
                    MAX_STORED_BYTES / 1_000
                ),
            );
            return None;
        }
        Some(input)
    }

    /// The bytes the invoice's document takes as stored (the input, its totals and its lines,
    /// as JSON). Invoices of up to [`MEASURED_FROM_ITEMS`] items are far below
    /// [`MAX_STORED_BYTES`] (2 KB an item at most): they are not measured.
    fn stored_bytes(&self) -> usize {
        if self.items.len() <= MEASURED_FROM_ITEMS {
            return 0;
        }
        let (totals, lines) = super::totals::compute(&self.items);
        let json = |bytes: serde_json::Result<Vec<u8>>| bytes.map_or(0, |bytes| bytes.len());
        json(serde_json::to_vec(self)) + json(serde_json::to_vec(&totals)) + json(serde_json::to_vec(&lines))
    }
}

#[cfg(test)]
mod tests;

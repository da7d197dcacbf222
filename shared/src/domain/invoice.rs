//! An invoice as a client submits it (docs/API.md, `InvoiceInput`), parsed once into types that
//! cannot hold an invalid invoice. Parsing reports every problem with its path
//! (`customer.dv`, `items[3].tax_rate`); JSON bodies and CSV rows (as a JSON tree) go through the
//! same code, so a batch validates exactly as a single invoice does.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::email::Email;
use super::money::parse_decimal;
use super::nit::{Nit, NitError};
use super::text::bounded;
use crate::json::{Json, Object, as_array, as_bool, as_number_text};
use crate::validation::Problems;

pub const MAX_ITEMS: usize = 500;
const MAX_REFERENCE: usize = 64;
const MAX_NAME: usize = 200;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentificationType {
    #[serde(rename = "NIT")]
    Nit,
    #[serde(rename = "CC")]
    CitizenCard,
    #[serde(rename = "CE")]
    ForeignerCard,
    #[serde(rename = "TI")]
    IdentityCard,
    #[serde(rename = "PP")]
    Passport,
    #[serde(rename = "NIT_FOREIGN")]
    ForeignNit,
}

impl IdentificationType {
    const NAMES: [(&'static str, IdentificationType); 6] = [
        ("NIT", Self::Nit),
        ("CC", Self::CitizenCard),
        ("CE", Self::ForeignerCard),
        ("TI", Self::IdentityCard),
        ("PP", Self::Passport),
        ("NIT_FOREIGN", Self::ForeignNit),
    ];

    fn parse(text: &str) -> Result<Self, &'static str> {
        Self::NAMES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, kind)| *kind)
            .ok_or("must be one of NIT, CC, CE, TI, PP, NIT_FOREIGN")
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("NIT", |(name, _)| name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LegalOrganization {
    Company,
    Person,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub identification_type: IdentificationType,
    pub identification: String,
    /// The NIT's check digit; only for `NIT`.
    pub dv: Option<String>,
    pub legal_organization: LegalOrganization,
    pub name: String,
    pub email: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub municipality_code: Option<String>,
}

/// Withholdings (retenciones): on the line's taxable base, or on its tax for ReteIVA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WithholdingCode {
    /// ReteIVA: a share of the line's tax.
    #[serde(rename = "05")]
    ReteIva,
    /// ReteFuente: on the taxable base.
    #[serde(rename = "06")]
    ReteFuente,
    /// ReteICA: on the taxable base.
    #[serde(rename = "07")]
    ReteIca,
}

impl WithholdingCode {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        match text {
            "05" => Ok(Self::ReteIva),
            "06" => Ok(Self::ReteFuente),
            "07" => Ok(Self::ReteIca),
            _ => Err("must be 05 (ReteIVA), 06 (ReteFuente) or 07 (ReteICA)"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReteIva => "05",
            Self::ReteFuente => "06",
            Self::ReteIca => "07",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withholding {
    pub code: WithholdingCode,
    pub rate: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub code_reference: String,
    pub name: String,
    pub quantity: Decimal,
    pub price: Decimal,
    pub discount_rate: Decimal,
    /// 0, 5 or 19; 0 when the item is excluded from VAT.
    pub tax_rate: Decimal,
    pub unit_measure: String,
    pub is_excluded: bool,
    pub withholding_taxes: Vec<Withholding>,
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
            Some(method) if !method.is_empty() => {
                code(method, 3).map_err(|m| problems.add(&method_path, m)).ok()
            }
            _ => Some("10".to_owned()),
        };
        let range_path = root.path_of("numbering_range_id");
        let numbering_range_id = root.optional("numbering_range_id").and_then(|value| {
            let text = as_number_text(value, &range_path, problems)?;
            match text.parse::<u64>() {
                Ok(id) if (1..=1_000_000_000).contains(&id) => Some(id),
                _ => {
                    problems.add(&range_path, "must be a positive integer");
                    None
                }
            }
        });
        let currency_path = root.path_of("currency");
        let currency = match root.optional_str("currency", problems) {
            Some("COP") | None | Some("") => Some("COP".to_owned()),
            Some(_) => {
                problems.add(&currency_path, "must be COP");
                None
            }
        };
        let observation = optional_text(&mut root, "observation", MAX_OBSERVATION, problems);
        let customer = root
            .required("customer", problems)
            .and_then(|value| parse_customer(value, &root.path_of("customer"), problems));
        let items = root
            .required("items", problems)
            .and_then(|value| parse_items(value, &root.path_of("items"), problems));
        root.finish(problems);
        if problems.len() > before {
            return None;
        }
        Some(Self {
            reference_code: reference_code?,
            payment_form: payment_form?,
            payment_due_date,
            payment_method_code: payment_method_code?,
            numbering_range_id,
            currency: currency?,
            observation,
            customer: customer?,
            items: items?,
        })
    }
}

fn parse_customer(value: &Json, path: &str, problems: &mut Problems) -> Option<Customer> {
    let mut customer = Object::read(value, path, problems)?;
    let identification_type = customer.parsed("identification_type", problems, IdentificationType::parse);
    let identification_path = customer.path_of("identification");
    let dv_path = customer.path_of("dv");
    let identification = customer.required_str("identification", problems).map(str::trim);
    let dv = customer
        .optional("dv")
        .and_then(|dv| as_number_text(dv, &dv_path, problems))
        .filter(|dv| !dv.is_empty());
    let (identification, dv) = match (identification_type, identification) {
        (Some(IdentificationType::Nit), Some(number)) => match dv {
            None => {
                problems.add(&dv_path, "is required for a NIT");
                (None, None)
            }
            Some(dv) => match Nit::parse(number, dv) {
                Ok(nit) => (Some(nit.number().to_owned()), Some(nit.dv().to_string())),
                Err(NitError::Number(message)) => {
                    problems.add(&identification_path, message);
                    (None, None)
                }
                Err(NitError::CheckDigit(message)) => {
                    problems.add(&dv_path, message);
                    (None, None)
                }
            },
        },
        (Some(IdentificationType::CitizenCard | IdentificationType::IdentityCard), Some(number)) => (
            digits(number, 3, 15)
                .map_err(|m| problems.add(&identification_path, m))
                .ok(),
            None,
        ),
        (Some(_), Some(number)) => (
            code(number, 20)
                .map_err(|m| problems.add(&identification_path, m))
                .ok(),
            None,
        ),
        _ => (None, None),
    };
    let legal_organization = customer.parsed("legal_organization", problems, |text| match text {
        "company" => Ok(LegalOrganization::Company),
        "person" => Ok(LegalOrganization::Person),
        _ => Err("must be company or person"),
    });
    let name = customer.parsed("name", problems, |name| bounded(name, MAX_NAME));
    let email = customer.parsed("email", problems, Email::parse);
    let address = optional_text(&mut customer, "address", MAX_ADDRESS, problems);
    let phone_path = customer.path_of("phone");
    let phone = optional_text(&mut customer, "phone", 20, problems).filter(|phone| {
        let valid = phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
        if !valid {
            problems.add(&phone_path, "must hold only digits, spaces and + - ( )");
        }
        valid
    });
    let municipality_path = customer.path_of("municipality_code");
    let municipality_code = customer
        .optional_str("municipality_code", problems)
        .filter(|code| !code.is_empty())
        .and_then(|code| {
            digits(code, 5, 5)
                .map_err(|m| problems.add(&municipality_path, m))
                .ok()
        });
    customer.finish(problems);
    Some(Customer {
        identification_type: identification_type?,
        identification: identification?,
        dv,
        legal_organization: legal_organization?,
        name: name?,
        email: email?.to_string(),
        address,
        phone,
        municipality_code,
    })
}

fn parse_items(value: &Json, path: &str, problems: &mut Problems) -> Option<Vec<Item>> {
    let elements = as_array(value, path, problems)?;
    if elements.is_empty() || elements.len() > MAX_ITEMS {
        problems.add(path, format!("must hold 1 to {MAX_ITEMS} items"));
        return None;
    }
    let items: Vec<Option<Item>> = elements
        .iter()
        .map(|(item_path, item)| parse_item(item, item_path, problems))
        .collect();
    items.into_iter().collect()
}

fn parse_item(value: &Json, path: &str, problems: &mut Problems) -> Option<Item> {
    let mut item = Object::read(value, path, problems)?;
    let code_reference = item.parsed("code_reference", problems, |text| bounded(text, MAX_CODE));
    let name = item.parsed("name", problems, |text| bounded(text, MAX_NAME));
    let quantity_path = item.path_of("quantity");
    let quantity = decimal(&mut item, "quantity", true, 6, 9, problems).filter(|quantity| {
        let positive = *quantity > Decimal::ZERO;
        if !positive {
            problems.add(&quantity_path, "must be greater than 0");
        }
        positive
    });
    let price_path = item.path_of("price");
    let price = decimal(&mut item, "price", true, 2, 13, problems).filter(|price| {
        let valid = *price >= Decimal::ZERO;
        if !valid {
            problems.add(&price_path, "must not be negative");
        }
        valid
    });
    let discount_path = item.path_of("discount_rate");
    let discount_rate = match decimal(&mut item, "discount_rate", false, 2, 3, problems) {
        Some(rate) if rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED => {
            problems.add(&discount_path, "must be from 0 to 100");
            None
        }
        Some(rate) => Some(rate),
        None => Some(Decimal::ZERO),
    };
    let excluded_path = item.path_of("is_excluded");
    let is_excluded = item
        .optional("is_excluded")
        .map_or(Some(false), |v| as_bool(v, &excluded_path, problems));
    let tax_path = item.path_of("tax_rate");
    let tax_rate = decimal(&mut item, "tax_rate", false, 2, 3, problems);
    let tax_rate = match (is_excluded, tax_rate) {
        (Some(true), None) => Some(Decimal::ZERO),
        (Some(true), Some(rate)) if rate.is_zero() => Some(Decimal::ZERO),
        (Some(true), Some(_)) => {
            problems.add(&tax_path, "must be 0 or absent when the item is excluded");
            None
        }
        (_, Some(rate)) if [0, 5, 19].iter().any(|allowed| rate == Decimal::from(*allowed)) => Some(rate),
        (_, Some(_)) => {
            problems.add(&tax_path, "must be 0, 5 or 19");
            None
        }
        (Some(false), None) => {
            problems.add(&tax_path, "is required unless the item is excluded");
            None
        }
        (None, None) => None,
    };
    let unit_path = item.path_of("unit_measure");
    let unit_measure = match item.optional_str("unit_measure", problems) {
        Some(unit) if !unit.is_empty() => code(unit, 10).map_err(|m| problems.add(&unit_path, m)).ok(),
        _ => Some("94".to_owned()),
    };
    let withholding_taxes = match item.optional("withholding_taxes") {
        None => Some(Vec::new()),
        Some(value) => parse_withholdings(value, &item.path_of("withholding_taxes"), problems),
    };
    item.finish(problems);
    Some(Item {
        code_reference: code_reference?,
        name: name?,
        quantity: quantity?,
        price: price?,
        discount_rate: discount_rate?,
        tax_rate: tax_rate?,
        unit_measure: unit_measure?,
        is_excluded: is_excluded?,
        withholding_taxes: withholding_taxes?,
    })
}

fn parse_withholdings(value: &Json, path: &str, problems: &mut Problems) -> Option<Vec<Withholding>> {
    let elements = as_array(value, path, problems)?;
    let mut withholdings: Vec<Option<Withholding>> = Vec::new();
    for (element_path, element) in &elements {
        let Some(mut object) = Object::read(element, element_path, problems) else {
            withholdings.push(None);
            continue;
        };
        let code_path = object.path_of("code");
        let code = object.parsed("code", problems, WithholdingCode::parse);
        let rate_path = object.path_of("rate");
        // ReteICA rates are per mil in practice (0.966 % = 9.66 ‰): three decimals.
        let rate = decimal(&mut object, "rate", true, 3, 3, problems).filter(|rate| {
            let valid = *rate >= Decimal::ZERO && *rate <= Decimal::ONE_HUNDRED;
            if !valid {
                problems.add(&rate_path, "must be from 0 to 100");
            }
            valid
        });
        object.finish(problems);
        if let Some(code) = code
            && withholdings.iter().flatten().any(|w| w.code == code)
        {
            problems.add(&code_path, "appears twice on this item");
        }
        withholdings.push(code.zip(rate).map(|(code, rate)| Withholding { code, rate }));
    }
    withholdings.into_iter().collect()
}

#[cfg(test)]
mod tests;

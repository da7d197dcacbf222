//! An invoice's items as Factus takes them: quantity and every rate with at most two decimals, a
//! net price (no tax, no discount), a discount by rate or by amount, a DIAN unit of measure, the
//! item's taxes (`taxes: [{code, rate}]`, one rate per code; `tax_rate` is the shorthand for one
//! IVA rate), and the withholdings the issuer applies to itself (autorretenciones).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{MAX_CODE, MAX_NAME, decimal};
use crate::domain::money::round_cents;
use crate::domain::text::bounded;
use crate::json::{Json, Object, as_array, as_bool};
use crate::validation::Problems;

pub const MAX_ITEMS: usize = 500;
/// Factus takes quantities and rates with at most two decimals.
const RATE_DECIMALS: u32 = 2;
const DEFAULT_UNIT: &str = "94";

/// A tax an item may carry ("Códigos de impuestos").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaxCode {
    /// IVA, the value-added tax: 0, 5 or 19 %.
    #[serde(rename = "01")]
    Iva,
    /// INC, the national consumption tax.
    #[serde(rename = "04")]
    Inc,
    /// The tax on ultra-processed food and drink.
    #[serde(rename = "35")]
    Ultraprocessed,
}

impl TaxCode {
    pub const ALL: [TaxCode; 3] = [Self::Iva, Self::Inc, Self::Ultraprocessed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Iva => "01",
            Self::Inc => "04",
            Self::Ultraprocessed => "35",
        }
    }

    fn parse(text: &str) -> Result<Self, &'static str> {
        Self::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
            .ok_or("must be 01 (IVA), 04 (INC) or 35 (ultra-processed food)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tax {
    pub code: TaxCode,
    pub rate: Decimal,
}

/// A withholding the issuer applies to itself (autorretención): reported, never deducted from
/// what the customer pays. ReteIVA is a share of the line's IVA; the others of its taxable base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WithholdingCode {
    #[serde(rename = "05")]
    ReteIva,
    #[serde(rename = "06")]
    ReteFuente,
    #[serde(rename = "07")]
    ReteIca,
}

impl WithholdingCode {
    pub const ALL: [WithholdingCode; 3] = [Self::ReteIva, Self::ReteFuente, Self::ReteIca];

    pub fn parse(text: &str) -> Result<Self, &'static str> {
        Self::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
            .ok_or("must be 05 (ReteIVA), 06 (ReteFuente) or 07 (ReteICA)")
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

/// An item's discount: a share of its value, or an amount off it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    Rate(Decimal),
    Amount(Decimal),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub code_reference: String,
    pub name: String,
    pub quantity: Decimal,
    /// Per unit, net: no tax, no discount.
    pub price: Decimal,
    pub discount: Discount,
    /// One entry per tax code; no IVA entry when the item is excluded.
    pub taxes: Vec<Tax>,
    /// DIAN's unit-of-measure code.
    pub unit_measure: String,
    /// Excluded from IVA.
    pub is_excluded: bool,
    pub withholding_taxes: Vec<Withholding>,
}

impl Item {
    /// The item's IVA rate, if it has one.
    pub fn iva_rate(&self) -> Option<Decimal> {
        self.taxes
            .iter()
            .find(|tax| tax.code == TaxCode::Iva)
            .map(|tax| tax.rate)
    }
}

fn is_iva_rate(rate: Decimal) -> bool {
    [0, 5, 19].iter().any(|allowed| rate == Decimal::from(*allowed))
}

/// A rate from 0 to 100 with at most two decimals.
fn rate(
    object: &mut Object<'_>,
    key: &'static str,
    required: bool,
    problems: &mut Problems,
) -> Option<Decimal> {
    let path = object.path_of(key);
    decimal(object, key, required, RATE_DECIMALS, 3, problems).filter(|rate| {
        let valid = (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(rate);
        if !valid {
            problems.add(&path, "must be from 0 to 100");
        }
        valid
    })
}

pub(super) fn parse_items(value: &Json, path: &str, problems: &mut Problems) -> Option<Vec<Item>> {
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
    let quantity = decimal(&mut item, "quantity", true, RATE_DECIMALS, 9, problems).filter(|quantity| {
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
    let discount = parse_discount(&mut item, quantity.zip(price), problems);
    let excluded_path = item.path_of("is_excluded");
    let is_excluded = item
        .optional("is_excluded")
        .map_or(Some(false), |v| as_bool(v, &excluded_path, problems));
    let taxes = parse_taxes(&mut item, is_excluded, problems);
    let unit_path = item.path_of("unit_measure");
    let unit_measure = match item.optional_str("unit_measure", problems) {
        Some(unit) if !unit.is_empty() => match codes::unit_measure(unit) {
            Some(_) => Some(unit.to_owned()),
            None => {
                problems.add(
                    &unit_path,
                    "must be one of DIAN's unit-of-measure codes (94 is a unit, KGM a kilogram)",
                );
                None
            }
        },
        _ => Some(DEFAULT_UNIT.to_owned()),
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
        discount: discount?,
        taxes: taxes?,
        unit_measure: unit_measure?,
        is_excluded: is_excluded?,
        withholding_taxes: withholding_taxes?,
    })
}

/// `discount_rate` (0–100) or `discount_amount` (at most the line's value), not both; none is 0 %.
fn parse_discount(
    item: &mut Object<'_>,
    quantity_and_price: Option<(Decimal, Decimal)>,
    problems: &mut Problems,
) -> Option<Discount> {
    let rate = rate(item, "discount_rate", false, problems);
    let amount_path = item.path_of("discount_amount");
    let amount = decimal(item, "discount_amount", false, 2, 13, problems);
    match (rate, amount) {
        (Some(_), Some(_)) => {
            problems.add(&amount_path, "give discount_rate or discount_amount, not both");
            None
        }
        (Some(rate), None) => Some(Discount::Rate(rate)),
        (None, Some(amount)) if amount < Decimal::ZERO => {
            problems.add(&amount_path, "must not be negative");
            None
        }
        (None, Some(amount)) => match quantity_and_price {
            Some((quantity, price)) if amount > round_cents(quantity * price) => {
                problems.add(
                    &amount_path,
                    "must not exceed the item's value (quantity × price)",
                );
                None
            }
            _ => Some(Discount::Amount(amount)),
        },
        (None, None) => Some(Discount::Rate(Decimal::ZERO)),
    }
}

/// The item's taxes, from `taxes` or from the `tax_rate` shorthand (one IVA rate).
fn parse_taxes(
    item: &mut Object<'_>,
    is_excluded: Option<bool>,
    problems: &mut Problems,
) -> Option<Vec<Tax>> {
    let tax_rate_path = item.path_of("tax_rate");
    let taxes_path = item.path_of("taxes");
    let tax_rate = rate(item, "tax_rate", false, problems);
    let listed = match item.optional("taxes") {
        Some(value) => Some(parse_tax_list(value, &taxes_path, problems)?),
        None => None,
    };
    let excluded = is_excluded?;
    let taxes = match (tax_rate, listed) {
        (Some(_), Some(_)) => {
            problems.add(&taxes_path, "give taxes or tax_rate, not both");
            return None;
        }
        (Some(rate), None) if excluded && !rate.is_zero() => {
            problems.add(&tax_rate_path, "must be 0 or absent when the item is excluded");
            return None;
        }
        (Some(_), None) if excluded => Vec::new(),
        (Some(rate), None) if !is_iva_rate(rate) => {
            problems.add(&tax_rate_path, "must be 0, 5 or 19 (IVA)");
            return None;
        }
        (Some(rate), None) => vec![Tax {
            code: TaxCode::Iva,
            rate,
        }],
        (None, Some(taxes)) => taxes,
        (None, None) => Vec::new(),
    };
    if excluded && taxes.iter().any(|tax| tax.code == TaxCode::Iva) {
        problems.add(&taxes_path, "must not hold IVA (01) when the item is excluded");
        return None;
    }
    if !excluded && taxes.is_empty() {
        problems.add(
            &tax_rate_path,
            "is required (or taxes) unless the item is excluded",
        );
        return None;
    }
    Some(taxes)
}

/// A list of `{code, rate}` (taxes or withholdings), each code at most once: `None` when any
/// entry is wrong, every problem reported. `check` may refuse a rate for its code.
fn parse_code_rates<C: Copy + PartialEq>(
    value: &Json,
    path: &str,
    problems: &mut Problems,
    parse_code: fn(&str) -> Result<C, &'static str>,
    check: fn(C, Decimal) -> Result<(), &'static str>,
    twice: &'static str,
) -> Option<Vec<(C, Decimal)>> {
    let before = problems.len();
    let elements = as_array(value, path, problems)?;
    let mut entries: Vec<(C, Decimal)> = Vec::new();
    for (element_path, element) in &elements {
        let Some(mut object) = Object::read(element, element_path, problems) else {
            continue;
        };
        let code_path = object.path_of("code");
        let rate_path = object.path_of("rate");
        let code = object.parsed("code", problems, parse_code);
        let rate = rate(&mut object, "rate", true, problems);
        object.finish(problems);
        let (Some(code), Some(rate)) = (code, rate) else {
            continue;
        };
        if let Err(message) = check(code, rate) {
            problems.add(&rate_path, message);
        } else if entries.iter().any(|(seen, _)| *seen == code) {
            problems.add(&code_path, twice);
        } else {
            entries.push((code, rate));
        }
    }
    (problems.len() == before).then_some(entries)
}

fn parse_tax_list(value: &Json, path: &str, problems: &mut Problems) -> Option<Vec<Tax>> {
    let check = |code, rate| {
        if code == TaxCode::Iva && !is_iva_rate(rate) {
            Err("must be 0, 5 or 19 (IVA)")
        } else {
            Ok(())
        }
    };
    let taxes = parse_code_rates(
        value,
        path,
        problems,
        TaxCode::parse,
        check,
        "appears twice on this item: one rate per tax",
    )?;
    Some(taxes.into_iter().map(|(code, rate)| Tax { code, rate }).collect())
}

fn parse_withholdings(value: &Json, path: &str, problems: &mut Problems) -> Option<Vec<Withholding>> {
    let withholdings = parse_code_rates(
        value,
        path,
        problems,
        WithholdingCode::parse,
        |_, _| Ok(()),
        "appears twice on this item",
    )?;
    Some(
        withholdings
            .into_iter()
            .map(|(code, rate)| Withholding { code, rate })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_the_tables() {
        for code in TaxCode::ALL {
            assert!(codes::name(codes::TAXES, code.as_str()).is_some());
        }
        assert_eq!(codes::TAXES.len(), TaxCode::ALL.len());
        for code in WithholdingCode::ALL {
            assert!(codes::name(codes::WITHHOLDINGS, code.as_str()).is_some());
        }
        assert_eq!(codes::WITHHOLDINGS.len(), WithholdingCode::ALL.len());
    }
}

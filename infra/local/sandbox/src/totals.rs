//! What a document adds up to, computed by the sandbox from the request itself (never taken from
//! the client): per line, value = quantity × price (net: no tax, no discount), the discount by
//! rate or amount, taxable = value − discount, each tax = taxable × rate, all rounded half-up to
//! the cent per line. The total is what the lines are worth with their taxes, plus surcharges,
//! minus document discounts and prepayments. Withholdings are autorretenciones: reported, never
//! taken off what the customer pays (05 on the line's IVA, 06 and 07 on its taxable value).

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

/// A number the API accepts as a JSON string or a JSON number (the docs' examples use both).
pub fn number(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(text) => Decimal::from_str(text.trim()).ok(),
        Value::Number(number) => Decimal::from_str(&number.to_string()).ok(),
        _ => None,
    }
}

/// Rounded half-up to the cent.
pub fn cents(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// An amount as the API writes it: two decimals, no separators.
pub fn money(value: Decimal) -> String {
    format!("{:.2}", cents(value))
}

/// Sums that saturate instead of overflowing (`Decimal`'s operators panic on overflow).
fn sum(values: impl Iterator<Item = Decimal>) -> Decimal {
    values.fold(Decimal::ZERO, Decimal::saturating_add)
}

/// `rate` % of `base`, to the cent.
fn percent(base: Decimal, rate: Decimal) -> Decimal {
    cents(base.saturating_mul(rate) / Decimal::ONE_HUNDRED)
}

fn field(value: &Value, key: &str) -> Decimal {
    value.get(key).and_then(number).unwrap_or_default()
}

/// The tax whose code an excluded entry may omit.
const EXCLUDED_DEFAULT: &str = "01";
const IVA: &str = "01";
const INC: &str = "04";
const ICA: &str = "03";
const RETE_IVA: &str = "05";

/// One tax or withholding of a line.
#[derive(Clone, Debug, PartialEq)]
pub struct Charge {
    pub code: String,
    pub rate: Decimal,
    pub excluded: bool,
    pub base: Decimal,
    pub amount: Decimal,
}

/// One item, worked out.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub quantity: Decimal,
    pub price: Decimal,
    pub discount_rate: Decimal,
    pub discount: Decimal,
    /// quantity × price.
    pub gross: Decimal,
    /// gross − discount: the line's value before taxes.
    pub taxable: Decimal,
    pub taxes: Vec<Charge>,
    pub withholdings: Vec<Charge>,
}

impl Line {
    fn of(item: &Value) -> Self {
        let quantity = field(item, "quantity");
        let price = field(item, "price");
        let gross = cents(quantity.saturating_mul(price));
        let given_rate = field(item, "discount_rate");
        let given_amount = field(item, "discount_amount");
        let (discount_rate, discount) = if given_amount > Decimal::ZERO {
            let rate = if gross.is_zero() {
                Decimal::ZERO
            } else {
                cents(
                    given_amount
                        .saturating_mul(Decimal::ONE_HUNDRED)
                        .checked_div(gross)
                        .unwrap_or(Decimal::MAX),
                )
            };
            (rate, cents(given_amount))
        } else {
            (given_rate, percent(gross, given_rate))
        };
        let taxable = gross.saturating_sub(discount);
        let entries = |key: &str| {
            item.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let taxes: Vec<Charge> = entries("taxes")
            .iter()
            .map(|tax| {
                let excluded = tax.get("is_excluded").and_then(Value::as_bool).unwrap_or(false);
                let code = code(tax).unwrap_or_else(|| EXCLUDED_DEFAULT.to_owned());
                let rate = if excluded {
                    Decimal::ZERO
                } else {
                    field(tax, "rate")
                };
                Charge {
                    code,
                    rate,
                    excluded,
                    base: taxable,
                    amount: percent(taxable, rate),
                }
            })
            .collect();
        let iva = sum(taxes.iter().filter(|tax| tax.code == IVA).map(|tax| tax.amount));
        let withholdings = entries("withholding_taxes")
            .iter()
            .map(|withholding| {
                let code = code(withholding).unwrap_or_default();
                let rate = field(withholding, "rate");
                let base = if code == RETE_IVA { iva } else { taxable };
                Charge {
                    code,
                    rate,
                    excluded: false,
                    base,
                    amount: percent(base, rate),
                }
            })
            .collect();
        Self {
            quantity,
            price,
            discount_rate,
            discount,
            gross,
            taxable,
            taxes,
            withholdings,
        }
    }

    /// The line's taxes.
    pub fn tax(&self) -> Decimal {
        sum(self.taxes.iter().map(|tax| tax.amount))
    }
}

/// A code the API accepts as a string or an integer.
pub fn code(value: &Value) -> Option<String> {
    match value.get("code")? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) if number.is_u64() => Some(number.to_string()),
        _ => None,
    }
}

/// Charges of one tribute, summed by rate: what the document-level `taxes` and
/// `withholding_taxes` report.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub code: String,
    pub excluded: bool,
    /// (rate, base, amount), by rate.
    pub rates: Vec<(Decimal, Decimal, Decimal)>,
}

impl Group {
    pub fn amount(&self) -> Decimal {
        sum(self.rates.iter().map(|(_, _, amount)| *amount))
    }
}

fn group<'a>(charges: impl Iterator<Item = &'a Charge>) -> Vec<Group> {
    let mut groups: BTreeMap<(String, bool), BTreeMap<Decimal, (Decimal, Decimal)>> = BTreeMap::new();
    for charge in charges {
        let rates = groups.entry((charge.code.clone(), charge.excluded)).or_default();
        let sums = rates.entry(charge.rate).or_default();
        sums.0 = sums.0.saturating_add(charge.base);
        sums.1 = sums.1.saturating_add(charge.amount);
    }
    groups
        .into_iter()
        .map(|((code, excluded), rates)| Group {
            code,
            excluded,
            rates: rates
                .into_iter()
                .map(|(rate, (base, amount))| (rate, base, amount))
                .collect(),
        })
        .collect()
}

/// The figures of a whole document.
#[derive(Clone, Debug, PartialEq)]
pub struct Totals {
    pub lines: Vec<Line>,
    /// Σ quantity × price.
    pub gross: Decimal,
    /// Line discounts and document-level discounts.
    pub discount: Decimal,
    /// Σ line values before taxes (DIAN's `LineExtensionAmount`).
    pub line_extension: Decimal,
    /// The value of the lines that carry a tax that is not excluded.
    pub taxable: Decimal,
    pub tax: Decimal,
    /// Document-level surcharges (`allowance_charges` with `is_surcharge`).
    pub surcharge: Decimal,
    /// Document-level discounts (`allowance_charges` without `is_surcharge`).
    pub allowance: Decimal,
    pub prepayment: Decimal,
    pub cash_rounding: Decimal,
    /// What the document is worth: lines + taxes + surcharges − document discounts. The payment
    /// details add up to this plus `cash_rounding_amount`.
    pub before_prepayment: Decimal,
    /// What is left to pay after the prepayments (`totals.total`, DIAN's `PayableAmount`).
    pub total: Decimal,
    /// Σ `payment_details.*.amount`.
    pub payments: Decimal,
}

impl Totals {
    pub fn of(body: &Value) -> Self {
        let list = |key: &str| {
            body.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let lines: Vec<Line> = list("items").iter().map(Line::of).collect();
        let gross = sum(lines.iter().map(|line| line.gross));
        let line_extension = sum(lines.iter().map(|line| line.taxable));
        let taxable = sum(lines
            .iter()
            .filter(|line| line.taxes.iter().any(|tax| !tax.excluded))
            .map(|line| line.taxable));
        let tax = sum(lines.iter().map(Line::tax));
        let charges = list("allowance_charges");
        let charged = |surcharge: bool| -> Decimal {
            sum(charges
                .iter()
                .filter(|charge| {
                    charge
                        .get("is_surcharge")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                        == surcharge
                })
                .map(|charge| cents(field(charge, "amount"))))
        };
        let surcharge = charged(true);
        let allowance = charged(false);
        let prepayment = sum(list("prepayment_details")
            .iter()
            .map(|detail| cents(field(detail, "amount"))));
        let payments = sum(list("payment_details")
            .iter()
            .map(|detail| field(detail, "amount")));
        let line_discounts = sum(lines.iter().map(|line| line.discount));
        let before_prepayment = line_extension
            .saturating_add(tax)
            .saturating_add(surcharge)
            .saturating_sub(allowance);
        Self {
            gross,
            discount: line_discounts.saturating_add(allowance),
            line_extension,
            taxable,
            tax,
            surcharge,
            allowance,
            prepayment,
            cash_rounding: field(body, "cash_rounding_amount"),
            before_prepayment,
            total: before_prepayment.saturating_sub(prepayment),
            payments,
            lines,
        }
    }

    /// The taxes of one code over the whole document.
    pub fn tax_of(&self, code: &str) -> Decimal {
        sum(self
            .lines
            .iter()
            .flat_map(|line| &line.taxes)
            .filter(|tax| tax.code == code)
            .map(|tax| tax.amount))
    }

    pub fn iva(&self) -> Decimal {
        self.tax_of(IVA)
    }

    pub fn inc(&self) -> Decimal {
        self.tax_of(INC)
    }

    pub fn ica(&self) -> Decimal {
        self.tax_of(ICA)
    }

    /// The document's taxes by tribute and rate.
    pub fn tax_groups(&self) -> Vec<Group> {
        group(self.lines.iter().flat_map(|line| &line.taxes))
    }

    /// The document's withholdings (autorretenciones) by tribute and rate.
    pub fn withholding_groups(&self) -> Vec<Group> {
        group(self.lines.iter().flat_map(|line| &line.withholdings))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn amount(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn item(quantity: &str, price: &str, taxes: Value) -> Value {
        json!({"quantity": quantity, "discount_rate": "0.00", "price": price, "taxes": taxes})
    }

    #[test]
    fn the_create_example_adds_up_to_what_its_payment_carries() {
        // crear-y-validar.md: 1 × 10,000 + 3 × 20,000 at 19 % IVA, paid 83,300.
        let iva = json!([{"code": "01", "rate": "19.00"}]);
        let body = json!({
            "payment_details": [{"amount": "83300"}],
            "items": [item("1.00", "10000.00", iva.clone()), item("3.00", "20000.00", iva)],
        });
        let totals = Totals::of(&body);
        assert_eq!(totals.line_extension, amount("70000"));
        assert_eq!(totals.iva(), amount("13300"));
        assert_eq!(totals.total, amount("83300"));
        assert_eq!(totals.payments, totals.total);
    }

    #[test]
    fn autorretenciones_are_reported_but_do_not_change_what_the_customer_pays() {
        // estandar-autorrentenciones.md: 1,000,000 + 19 % IVA paid 1,190,000, with 05 and 06.
        let mut line = item("1.00", "1000000.00", json!([{"code": "01", "rate": "19.00"}]));
        line["withholding_taxes"] = json!([{"code": "05", "rate": "2.00"}, {"code": "06", "rate": "4.00"}]);
        let totals = Totals::of(&json!({"items": [line], "payment_details": [{"amount": "1190000"}]}));
        assert_eq!(totals.total, amount("1190000"));
        assert_eq!(totals.payments, totals.total);
        let withholdings = totals.withholding_groups();
        assert_eq!(withholdings[0].code, "05");
        assert_eq!(
            withholdings[0].rates,
            [(amount("2.00"), amount("190000"), amount("3800"))]
        );
        assert_eq!(withholdings[1].code, "06");
        assert_eq!(withholdings[1].amount(), amount("40000"));
    }

    #[test]
    fn an_excluded_item_carries_no_tax() {
        // estandar-impuesto-excluido.md: one item of 83,300, excluded, paid 83,300.
        let totals =
            Totals::of(&json!({"items": [item("1.00", "83300.00", json!([{"is_excluded": true}]))]}));
        assert_eq!(totals.total, amount("83300"));
        assert_eq!(totals.tax, Decimal::ZERO);
        assert_eq!(totals.taxable, Decimal::ZERO);
        let groups = totals.tax_groups();
        assert_eq!((groups[0].code.as_str(), groups[0].excluded), ("01", true));
    }

    #[test]
    fn cash_rounding_reconciles_the_payments_with_the_total() {
        // redondeo-medios-pago.md: INC 8 % and IVA 19 % lines, paid 100,000 + 160,550, -14.81.
        let inc = json!([{"code": "04", "rate": "8.00"}]);
        let body = json!({
            "cash_rounding_amount": "-14.81",
            "payment_details": [{"amount": "100000"}, {"amount": "160550"}],
            "items": [
                item("1.00", "175925.93", inc.clone()),
                item("2.00", "14814.81", inc),
                item("1.00", "32407.41", json!([{"code": "01", "rate": "19.00"}])),
            ],
        });
        let totals = Totals::of(&body);
        assert_eq!(totals.inc(), amount("16444.44"));
        assert_eq!(totals.iva(), amount("6157.41"));
        assert_eq!(totals.total, amount("260564.81"));
        assert_eq!(totals.payments, totals.total + totals.cash_rounding);
    }

    #[test]
    fn discounts_by_rate_or_amount_surcharges_and_prepayments() {
        let mut by_rate = item("1.00", "50000.00", json!([{"code": "01", "rate": "19.00"}]));
        by_rate["discount_rate"] = json!("20.00");
        let mut by_amount = item("2", "5000", json!([{"code": "01", "rate": 19}]));
        by_amount["discount_amount"] = json!(1000);
        let body = json!({
            "items": [by_rate, by_amount],
            "allowance_charges": [{"concept_type": "03", "is_surcharge": true, "amount": 2000}],
            "prepayment_details": [{"amount": "3300"}],
        });
        let totals = Totals::of(&body);
        assert_eq!(totals.lines[0].discount, amount("10000"));
        assert_eq!(totals.lines[1].discount_rate, amount("10.00"));
        assert_eq!(totals.line_extension, amount("49000"));
        assert_eq!(totals.tax, amount("9310"));
        assert_eq!(totals.before_prepayment, amount("60310"));
        assert_eq!(totals.total, amount("57010"));
    }
}

//! Bills as the provider sees them: the validation of a `bills/validate` body, the totals the
//! provider computes on its own (not with invoicer's code, so that a mismatch would show), the
//! number from a numbering range, and the CUFE.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use shared::domain::cufe::{CufeFields, cufe};

/// An item whose `code_reference` is this is always rejected: how tests force a rejection.
pub const REJECT_TRIGGER: &str = "SANDBOX-REJECT";

/// A numbering range of DIAN's testing environment.
#[derive(Clone, Debug)]
pub struct Range {
    pub id: u64,
    pub prefix: String,
    pub next: u64,
    pub technical_key: String,
}

/// An issued bill.
#[derive(Clone, Debug)]
pub struct Bill {
    pub reference_code: String,
    pub number: String,
    pub cufe: String,
    pub issue_date: String,
    pub issue_time: String,
    pub gross_value: Decimal,
    pub tax_amount: Decimal,
    pub total: Decimal,
    pub customer: Value,
    pub range_id: u64,
}

impl Bill {
    pub fn to_json(&self) -> Value {
        json!({
            "bill": {
                "number": self.number,
                "reference_code": self.reference_code,
                "status": 1,
                "cufe": self.cufe,
                "qr": format!("https://catalogo-vpfe-hab.dian.gov.co/document/searchqr?documentkey={}", self.cufe),
                "validated": format!("{} {}", self.issue_date, &self.issue_time[..8]),
                "issue_date": self.issue_date,
                "issue_time": self.issue_time,
                "numbering_range_id": self.range_id,
                "gross_value": money(self.gross_value),
                "tax_amount": money(self.tax_amount),
                "total": money(self.total),
            },
            "customer": self.customer,
        })
    }
}

fn money(value: Decimal) -> String {
    format!(
        "{:.2}",
        value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    )
}

fn cents(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn number(value: Option<&Value>) -> Option<Decimal> {
    match value? {
        Value::String(text) => Decimal::from_str(text).ok(),
        Value::Number(number) => Decimal::from_str(&number.to_string()).ok(),
        _ => None,
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The provider's own totals of a body: (value before taxes, VAT, total).
pub fn totals(body: &Value) -> (Decimal, Decimal, Decimal) {
    let mut gross = Decimal::ZERO;
    let mut vat = Decimal::ZERO;
    for item in body.get("items").and_then(Value::as_array).into_iter().flatten() {
        let quantity = number(item.get("quantity")).unwrap_or_default();
        let price = number(item.get("price")).unwrap_or_default();
        let discount = number(item.get("discount_rate")).unwrap_or_default();
        let rate = number(item.get("tax_rate")).unwrap_or_default();
        let line = cents(quantity * price);
        let base = line - cents(line * discount / Decimal::ONE_HUNDRED);
        gross += base;
        if item.get("is_excluded").and_then(Value::as_u64) != Some(1) {
            vat += cents(base * rate / Decimal::ONE_HUNDRED);
        }
    }
    (gross, vat, gross + vat)
}

/// The validation errors of a body, by field, as the provider words them.
pub fn validate(body: &Value, ranges: &BTreeMap<u64, Range>) -> BTreeMap<String, Vec<String>> {
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut error = |field: &str, message: &str| {
        errors
            .entry(field.to_owned())
            .or_default()
            .push(message.to_owned())
    };
    if text(body, "reference_code").is_empty() {
        error("reference_code", "El campo reference_code es obligatorio.");
    }
    match text(body, "payment_form") {
        "1" => {}
        "2" if !text(body, "payment_due_date").is_empty() => {}
        "2" => error(
            "payment_due_date",
            "La fecha de vencimiento es obligatoria para pagos a crédito.",
        ),
        _ => error("payment_form", "La forma de pago no es válida."),
    }
    if let Some(range) = body.get("numbering_range_id").and_then(Value::as_u64)
        && !ranges.contains_key(&range)
    {
        error("numbering_range_id", "El rango de numeración no existe.");
    }
    let customer = body.get("customer").cloned().unwrap_or(Value::Null);
    if text(&customer, "identification").is_empty() {
        error(
            "customer.identification",
            "La identificación del cliente es obligatoria.",
        );
    }
    if text(&customer, "names").is_empty() && text(&customer, "company").is_empty() {
        error(
            "customer.names",
            "El nombre o la razón social del cliente es obligatorio.",
        );
    }
    if !text(&customer, "email").contains('@') {
        error("customer.email", "El correo del cliente no es válido.");
    }
    if !["1", "2"].contains(&text(&customer, "legal_organization_id")) {
        error(
            "customer.legal_organization_id",
            "El tipo de organización no es válido.",
        );
    }
    let items = body
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.is_empty() {
        error("items", "La factura debe tener al menos un ítem.");
    }
    for (index, item) in items.iter().enumerate() {
        if text(item, "code_reference") == REJECT_TRIGGER {
            error(
                &format!("items.{index}.code_reference"),
                "Rechazo de prueba del sandbox.",
            );
        }
        if number(item.get("quantity")).is_none_or(|q| q <= Decimal::ZERO) {
            error(
                &format!("items.{index}.quantity"),
                "La cantidad debe ser mayor que cero.",
            );
        }
        if number(item.get("price")).is_none_or(|p| p < Decimal::ZERO) {
            error(&format!("items.{index}.price"), "El precio no es válido.");
        }
        let rate = number(item.get("tax_rate"));
        if !rate.is_some_and(|r| [0, 5, 19].iter().any(|allowed| r == Decimal::from(*allowed))) {
            error(
                &format!("items.{index}.tax_rate"),
                "La tarifa de IVA no es válida.",
            );
        }
    }
    errors
}

/// Issues a bill for a valid body: the next number of its range, the CUFE of DIAN's formula.
pub fn issue(body: &Value, range: &mut Range, issuer_nit: &str, environment: &str) -> Bill {
    let now = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(-5, 0, 0).unwrap_or(time::UtcOffset::UTC));
    let issue_date = format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day());
    let issue_time = format!("{:02}:{:02}:{:02}-05:00", now.hour(), now.minute(), now.second());
    let number = format!("{}{}", range.prefix, range.next);
    range.next += 1;
    let (gross, vat, total) = totals(body);
    let customer = body.get("customer").cloned().unwrap_or(Value::Null);
    let code = cufe(&CufeFields {
        number: &number,
        issue_date: &issue_date,
        issue_time: &issue_time,
        value_before_taxes: gross,
        iva: vat,
        inc: Decimal::ZERO,
        ica: Decimal::ZERO,
        payable: total,
        issuer_nit,
        buyer_identification: text(&customer, "identification"),
        technical_key: &range.technical_key,
        environment,
    });
    Bill {
        reference_code: text(body, "reference_code").to_owned(),
        number,
        cufe: code,
        issue_date,
        issue_time,
        gross_value: gross,
        tax_amount: vat,
        total,
        customer,
        range_id: range.id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({
            "reference_code": "o-FV1", "payment_form": "1",
            "customer": {"identification": "900123456", "company": "ACME", "email": "a@b.co", "legal_organization_id": "1"},
            "items": [
                {"code_reference": "A", "quantity": "2", "price": "10000.00", "discount_rate": "10.00", "tax_rate": "19.00", "is_excluded": 0},
                {"code_reference": "B", "quantity": "1", "price": "500.00", "discount_rate": "0.00", "tax_rate": "0.00", "is_excluded": 1}
            ]
        })
    }

    #[test]
    fn the_provider_computes_its_own_totals() {
        let (gross, vat, total) = totals(&body());
        assert_eq!(
            (gross, vat, total),
            (Decimal::from(18_500), Decimal::from(3_420), Decimal::from(21_920))
        );
    }

    #[test]
    fn invalid_documents_and_the_trigger_are_rejected_with_messages() {
        let ranges = BTreeMap::new();
        assert!(validate(&body(), &ranges).is_empty());
        let mut bad = body();
        bad["payment_form"] = json!("2");
        bad["customer"]["email"] = json!("nope");
        bad["items"][0]["tax_rate"] = json!("16.00");
        bad["items"][1]["code_reference"] = json!(REJECT_TRIGGER);
        let fields: Vec<String> = validate(&bad, &ranges).into_keys().collect();
        assert_eq!(
            fields,
            [
                "customer.email",
                "items.0.tax_rate",
                "items.1.code_reference",
                "payment_due_date"
            ]
        );
    }

    #[test]
    fn numbers_follow_the_range_and_the_cufe_covers_the_bill() {
        let mut range = Range {
            id: 8,
            prefix: "SETP".into(),
            next: 990_000_001,
            technical_key: "k".into(),
        };
        let first = issue(&body(), &mut range, "900373076", "2");
        let second = issue(&body(), &mut range, "900373076", "2");
        assert_eq!(first.number, "SETP990000001");
        assert_eq!(second.number, "SETP990000002");
        assert_eq!(first.cufe.len(), 96);
        assert_ne!(first.cufe, second.cufe);
    }
}

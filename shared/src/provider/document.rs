//! Our invoice in the provider's terms (a Factus-compatible `POST /v1/bills/validate` body), and
//! the provider's bill back in ours.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::domain::invoice::{IdentificationType, LegalOrganization, PaymentForm};
use crate::domain::money::{money, plain};
use crate::invoices::Invoice;

/// The reference code sent to the provider: one provider account serves every organization, so
/// the organization's id namespaces the organization's own code.
pub fn provider_reference(org_id: &str, reference_code: &str) -> String {
    format!("{org_id}-{reference_code}")
}

/// The provider's code of an identification document type.
fn identification_document_id(kind: IdentificationType) -> &'static str {
    match kind {
        IdentificationType::IdentityCard => "2",
        IdentificationType::CitizenCard => "3",
        IdentificationType::ForeignerCard => "5",
        IdentificationType::Nit => "6",
        IdentificationType::Passport => "7",
        IdentificationType::ForeignNit => "10",
    }
}

/// Amounts go as strings: exact, and numeric to the provider's validation.
fn two_decimals(value: Decimal) -> String {
    money(value)
}

/// The body of `POST /v1/bills/validate` for `invoice`.
pub fn validate_request(invoice: &Invoice) -> Value {
    let input = &invoice.document.input;
    let customer = &input.customer;
    let company = customer.legal_organization == LegalOrganization::Company;
    let items: Vec<Value> = input
        .items
        .iter()
        .map(|item| {
            json!({
                "code_reference": item.code_reference,
                "name": item.name,
                "quantity": plain(item.quantity),
                "discount_rate": two_decimals(item.discount_rate),
                "price": two_decimals(item.price),
                "tax_rate": two_decimals(item.tax_rate),
                "unit_measure_id": item.unit_measure,
                "standard_code_id": "1",
                "is_excluded": u8::from(item.is_excluded),
                "tribute_id": "1",
                "withholding_taxes": item.withholding_taxes.iter().map(|w| json!({
                    "code": w.code.as_str(),
                    "withholding_tax_rate": plain(w.rate),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut body = json!({
        "reference_code": provider_reference(&invoice.organization_id, input.reference_code.as_str()),
        "observation": input.observation.clone().unwrap_or_default(),
        "payment_form": if input.payment_form == PaymentForm::Cash { "1" } else { "2" },
        "payment_method_code": input.payment_method_code,
        "customer": {
            "identification": customer.identification,
            "dv": customer.dv,
            "company": if company { customer.name.as_str() } else { "" },
            "trade_name": "",
            "names": if company { "" } else { customer.name.as_str() },
            "address": customer.address,
            "email": customer.email,
            "phone": customer.phone,
            "legal_organization_id": if company { "1" } else { "2" },
            "tribute_id": "21",
            "identification_document_id": identification_document_id(customer.identification_type),
            "municipality_id": customer.municipality_code,
        },
        "items": items,
    });
    if let Some(range) = input.numbering_range_id {
        body["numbering_range_id"] = json!(range);
    }
    if let Some(due) = &input.payment_due_date {
        body["payment_due_date"] = json!(due);
    }
    body
}

/// A bill the provider issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bill {
    pub reference_code: String,
    pub number: String,
    pub cufe: String,
    pub qr_url: String,
    pub total: Option<Decimal>,
    pub customer_identification: Option<String>,
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The bill in a provider answer: `{"data": {"bill": {...}, "customer": {...}}}`, or a bill alone.
pub fn bill_of(answer: &Value) -> Option<Bill> {
    let data = answer.get("data").unwrap_or(answer);
    let bill = data.get("bill").unwrap_or(data);
    let customer = data.get("customer").or_else(|| bill.get("customer"));
    Some(Bill {
        reference_code: text(bill.get("reference_code")?)?,
        number: text(bill.get("number")?)?,
        cufe: text(bill.get("cufe")?)?,
        qr_url: bill
            .get("qr")
            .or_else(|| bill.get("qr_url"))
            .and_then(text)
            .unwrap_or_default(),
        total: bill
            .get("total")
            .and_then(text)
            .and_then(|t| Decimal::from_str_exact(&t).ok()),
        customer_identification: customer.and_then(|c| c.get("identification")).and_then(text),
    })
}

/// Whether an existing bill with our reference code is this invoice's: the same customer and the
/// same total (the issuer is the provider account, the same for every bill).
pub fn is_ours(bill: &Bill, invoice: &Invoice) -> bool {
    let customer = &invoice.document.input.customer.identification;
    bill.customer_identification.as_deref() == Some(customer.as_str())
        && bill.total == Some(invoice.document.totals.total)
}

/// The provider's validation messages from an error answer.
pub fn messages_of(answer: &Value) -> Vec<String> {
    let mut messages = Vec::new();
    if let Some(errors) = answer
        .get("data")
        .and_then(|d| d.get("errors"))
        .and_then(Value::as_object)
    {
        for (field, problems) in errors {
            for problem in problems
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                messages.push(format!("{field}: {problem}"));
            }
        }
    }
    if messages.is_empty()
        && let Some(message) = answer.get("message").and_then(Value::as_str)
    {
        messages.push(message.to_owned());
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bill_is_read_from_the_providers_answer() {
        let answer = json!({"status": "Created", "data": {
            "bill": {"reference_code": "o-FV1", "number": "SETP990000001", "cufe": "abc", "qr": "https://q/1", "total": "23800.00"},
            "customer": {"identification": "900123456"}
        }});
        let bill = bill_of(&answer).unwrap();
        assert_eq!(bill.number, "SETP990000001");
        assert_eq!(bill.total, Some(Decimal::from(23800)));
        assert_eq!(bill.customer_identification.as_deref(), Some("900123456"));
        assert!(bill_of(&json!({"data": {}})).is_none());
    }

    #[test]
    fn validation_messages_name_their_fields() {
        let answer = json!({"message": "Validation error", "data": {"errors": {"customer.email": ["is invalid"], "items.0.price": ["must be numeric", "too large"]}}});
        assert_eq!(
            messages_of(&answer),
            [
                "customer.email: is invalid",
                "items.0.price: must be numeric",
                "items.0.price: too large"
            ]
        );
        assert_eq!(
            messages_of(&json!({"message": "Documento rechazado"})),
            ["Documento rechazado"]
        );
    }
}

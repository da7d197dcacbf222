//! Our invoice in Factus's terms: the exact body of `POST /v2/bills/validate` (Factus v2,
//! `facturas/crear-y-validar.md`): codes where v1 took ids, quantities and rates with two
//! decimals, net prices, `taxes: [{code, rate}]`, the withholdings the issuer applies to itself,
//! and `payment_details` carrying the amount the customer pays; and a credit note's, of
//! `POST /v2/credit-notes/validate` (`notas-credito/crear-y-validar.md`): the same customer,
//! items and payment, with its correction concept and the number of the bill it credits.

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::credit_notes::Credit;
use crate::domain::invoice::{Discount, LegalOrganization, PaymentForm};
use crate::domain::money::money;
use crate::invoices::{Invoice, Kind};

/// DIAN's code of the product standard invoicer's items use: the issuer's own codes.
const STANDARD_CODE: &str = "999";
/// The customer's tribute: not responsible for IVA unless said otherwise ("ZZ").
const CUSTOMER_TRIBUTE: &str = "ZZ";

/// The reference code sent to the provider: one provider account serves every organization, so
/// the organization's id namespaces the organization's own code.
pub fn provider_reference(org_id: &str, reference_code: &str) -> String {
    format!("{org_id}-{reference_code}")
}

/// A document's reference at the provider, with the kind that says where the provider keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderRef {
    pub kind: Kind,
    pub code: String,
}

/// How an owed deletion of a credit note is recorded (a bill's is its reference as it is).
const OWED_CREDIT_NOTE: &str = "credit-note:";

impl ProviderRef {
    /// The reference of `invoice` (or credit note).
    pub fn of(invoice: &Invoice) -> Self {
        Self {
            kind: invoice.kind(),
            code: provider_reference(
                &invoice.organization_id,
                invoice.document.input.reference_code.as_str(),
            ),
        }
    }

    /// How the account's owed deletions record it.
    pub fn owed_key(&self) -> String {
        match self.kind {
            Kind::Invoice => self.code.clone(),
            Kind::CreditNote => format!("{OWED_CREDIT_NOTE}{}", self.code),
        }
    }

    /// The reference an owed deletion records.
    pub fn of_owed_key(key: &str) -> Self {
        match key.strip_prefix(OWED_CREDIT_NOTE) {
            Some(code) => Self {
                kind: Kind::CreditNote,
                code: code.to_owned(),
            },
            None => Self {
                kind: Kind::Invoice,
                code: key.to_owned(),
            },
        }
    }
}

/// The organization and reference code a provider reference was made of, when it is one of ours
/// (an organization id is a 26-character ULID).
pub fn split_reference(reference: &str) -> Option<(&str, &str)> {
    let (org_id, code) = reference.split_at_checked(26)?;
    let code = code.strip_prefix('-')?;
    (ulid::Ulid::from_string(org_id).is_ok() && !code.is_empty()).then_some((org_id, code))
}

/// A quantity or rate as Factus writes it: exactly two decimals (validation allows no more).
fn two_decimals(value: Decimal) -> String {
    money(value)
}

fn insert_some(object: &mut Map<String, Value>, key: &str, value: Option<&String>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), json!(value));
    }
}

fn customer(invoice: &Invoice) -> Value {
    let customer = &invoice.document.input.customer;
    let mut body = Map::new();
    body.insert(
        "identification_document_code".into(),
        json!(customer.identification_type.dian_code()),
    );
    body.insert("identification".into(), json!(customer.identification));
    insert_some(&mut body, "dv", customer.dv.as_ref());
    let name_field = match customer.legal_organization {
        LegalOrganization::Company => "company",
        LegalOrganization::Person => "names",
    };
    body.insert(name_field.into(), json!(customer.name));
    body.insert(
        "legal_organization_code".into(),
        json!(customer.legal_organization.dian_code()),
    );
    body.insert("tribute_code".into(), json!(CUSTOMER_TRIBUTE));
    body.insert("email".into(), json!(customer.email));
    insert_some(&mut body, "address", customer.address.as_ref());
    insert_some(&mut body, "phone", customer.phone.as_ref());
    insert_some(
        &mut body,
        "municipality_code",
        customer.municipality_code.as_ref(),
    );
    Value::Object(body)
}

fn items(invoice: &Invoice) -> Vec<Value> {
    invoice
        .document
        .input
        .items
        .iter()
        .map(|item| {
            let mut taxes: Vec<Value> = item
                .taxes
                .iter()
                .map(|tax| json!({"code": tax.code.as_str(), "rate": two_decimals(tax.rate)}))
                .collect();
            if item.is_excluded {
                taxes.push(json!({"code": "01", "rate": "0.00", "is_excluded": true}));
            }
            let mut body = json!({
                "code_reference": item.code_reference,
                "name": item.name,
                "quantity": two_decimals(item.quantity),
                "price": money(item.price),
                "unit_measure_code": item.unit_measure,
                "standard_code": STANDARD_CODE,
                "taxes": taxes,
            });
            match item.discount {
                Discount::Rate(rate) => body["discount_rate"] = json!(two_decimals(rate)),
                Discount::Amount(amount) => body["discount_amount"] = json!(money(amount)),
            }
            if !item.withholding_taxes.is_empty() {
                body["withholding_taxes"] = item
                    .withholding_taxes
                    .iter()
                    .map(|w| json!({"code": w.code.as_str(), "rate": two_decimals(w.rate)}))
                    .collect();
            }
            body
        })
        .collect()
}

/// The body that creates `invoice` at the provider: a bill's, or a credit note's.
pub fn document_request(invoice: &Invoice) -> Value {
    match &invoice.credit {
        None => bill_request(invoice),
        Some(credit) => credit_note_request(invoice, credit),
    }
}

/// The body of `POST /v2/credit-notes/validate` for `note`: one that references a bill
/// (`customization_id` 20) by its number.
fn credit_note_request(note: &Invoice, credit: &Credit) -> Value {
    let mut body = json!({
        "reference_code": provider_reference(&note.organization_id, note.document.input.reference_code.as_str()),
        "correction_concept_code": credit.concept.dian_code(),
        "customization_id": "20",
        "bill_number": credit.invoice_number,
        "observation": credit.reason,
        "payment_details": [payment(note)],
        "customer": customer(note),
        "items": items(note),
    });
    if let Some(range) = note.document.input.numbering_range_id {
        body["numbering_range_id"] = json!(range);
    }
    body
}

/// The one payment of the amount the customer pays.
fn payment(invoice: &Invoice) -> Value {
    let input = &invoice.document.input;
    let mut payment = json!({
        "payment_form": input.payment_form.dian_code(),
        "payment_method_code": input.payment_method_code,
        "amount": money(invoice.document.totals.payable),
    });
    if input.payment_form == PaymentForm::Credit
        && let Some(due) = &input.payment_due_date
    {
        payment["due_date"] = json!(due);
    }
    payment
}

/// The body of `POST /v2/bills/validate` for `invoice`.
fn bill_request(invoice: &Invoice) -> Value {
    let input = &invoice.document.input;
    let mut body = json!({
        "reference_code": provider_reference(&invoice.organization_id, input.reference_code.as_str()),
        "send_email": input.send_email,
        "payment_details": [payment(invoice)],
        "customer": customer(invoice),
        "items": items(invoice),
    });
    if let Some(range) = input.numbering_range_id {
        body["numbering_range_id"] = json!(range);
    }
    if let Some(observation) = &input.observation {
        body["observation"] = json!(observation);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::invoice::InvoiceInput;
    use crate::validation::Problems;

    fn invoice(body: Value) -> Invoice {
        let json = crate::json::parse(body.to_string().as_bytes()).unwrap();
        let mut problems = Problems::new();
        let input = InvoiceInput::parse(&json, "", &mut problems).unwrap();
        Invoice::new(
            crate::ids::new_id(),
            "01JDQ7Z8X9Y0ABCDEFGHJKMNPQ",
            None,
            input,
            "2026-11-30T00:00:00Z",
        )
    }

    /// Every field of `ours` is in `documented` with the same value, but those `except` names.
    fn agrees(ours: &Value, documented: &Value, path: &str, except: &[&str]) {
        match (ours, documented) {
            (Value::Object(ours), Value::Object(documented)) => {
                for (key, value) in ours {
                    let at = format!("{path}.{key}");
                    if except.contains(&at.as_str()) {
                        continue;
                    }
                    let theirs = documented
                        .get(key)
                        .unwrap_or_else(|| panic!("{at} is not in the documented body"));
                    agrees(value, theirs, &at, except);
                }
            }
            (Value::Array(ours), Value::Array(documented)) => {
                assert_eq!(ours.len(), documented.len(), "{path}");
                for (index, (value, theirs)) in ours.iter().zip(documented).enumerate() {
                    agrees(value, theirs, &format!("{path}.{index}"), except);
                }
            }
            _ => assert_eq!(ours, documented, "{path}"),
        }
    }

    /// `crear-y-validar.md`'s example request (a fixture, copied from Factus's docs), and ours
    /// for the same invoice: every field we send is there, written as Factus writes it.
    /// The invoice of Factus's documented examples, as our clients write it.
    fn documented_invoice() -> Value {
        json!({
            "reference_code": "FACT-2026-0124", "payment_form": "cash", "payment_method_code": "42",
            "customer": {"identification_type": "NIT", "identification": "123456789", "dv": "6",
                         "legal_organization": "company", "name": "Alan company name",
                         "email": "alan.company@email.com", "address": "calle 1 # 1-1",
                         "phone": "1234567890", "municipality_code": "68679"},
            "items": [
                {"code_reference": "PROD-000A", "name": "Producto A", "quantity": "1", "price": "10000", "tax_rate": "19"},
                {"code_reference": "PROD-000B", "name": "Producto B", "quantity": "3", "price": "20000", "tax_rate": "19"}
            ]
        })
    }

    /// Factus's documented credit note annuls the bill of its documented invoice: ours, for
    /// the same invoice, is the same note.
    #[test]
    fn the_documented_credit_note_is_what_we_send() {
        let documented: Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/factus/nota-credito.json")).unwrap();
        let mut ours = invoice(documented_invoice());
        ours.state.status = crate::invoices::Status::Accepted;
        ours.state.number = Some("SETP990002519".to_owned());
        let annulment = crate::domain::credit::CreditRequest {
            reference_code: crate::domain::invoice::ReferenceCode::parse("NOTA-2026-0015").unwrap(),
            concept: crate::domain::credit::CorrectionConcept::Annulment,
            reason: documented["observation"].as_str().unwrap().to_owned(),
            numbering_range_id: None,
            items: None,
        };
        let note = ours
            .credit(
                crate::ids::new_id(),
                annulment,
                Some(1776),
                "2026-12-01T00:00:00Z",
            )
            .unwrap();
        let body = document_request(&note);
        // Ours, beyond the example: the namespaced reference, the check digit, the amount to the
        // cent.
        agrees(
            &body,
            &documented,
            "",
            &[".reference_code", ".customer.dv", ".payment_details.0.amount"],
        );
        assert_eq!(body["payment_details"][0]["amount"], "83300.00");
    }

    #[test]
    fn the_documented_example_is_what_we_send() {
        let documented: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/factus/crear-y-validar.json"
        ))
        .unwrap();
        let mut body = documented_invoice();
        body["numbering_range_id"] = json!(389);
        body["observation"] = json!("Observación de prueba");
        body["items"][1]["taxes"] = json!([{"code": "01", "rate": 19}]);
        body["items"][1].as_object_mut().unwrap().remove("tax_rate");
        let ours = invoice(body);
        let body = bill_request(&ours);
        // Ours, beyond the example: the namespaced reference, the e-mail choice (Factus's default
        // made explicit), the check digit (Factus computes it when absent) and the amount to
        // the cent (the example writes 83300).
        agrees(
            &body,
            &documented,
            "",
            &[
                ".reference_code",
                ".send_email",
                ".customer.dv",
                ".payment_details.0.amount",
            ],
        );
        assert_eq!(
            body["reference_code"],
            "01JDQ7Z8X9Y0ABCDEFGHJKMNPQ-FACT-2026-0124"
        );
        assert_eq!(body["payment_details"][0]["amount"], "83300.00");
        assert_eq!(body["customer"]["dv"], "6");
    }

    #[test]
    fn a_person_credit_an_excluded_item_a_discount_amount_and_self_withholdings() {
        let ours = invoice(json!({
            "reference_code": "B3", "payment_form": "credit", "payment_due_date": "2026-12-31",
            "send_email": false,
            "customer": {"identification_type": "CC", "identification": "123456789",
                         "legal_organization": "person", "name": "Alan Turing", "email": "alan@enigma.co"},
            "items": [
                {"code_reference": "E", "name": "Libro", "quantity": 2, "price": "50000", "is_excluded": true,
                 "discount_amount": "1000"},
                {"code_reference": "S", "name": "Servicio", "quantity": "1.5", "price": "1000000",
                 "taxes": [{"code": "01", "rate": "19"}, {"code": "04", "rate": "8"}],
                 "withholding_taxes": [{"code": "05", "rate": "2"}, {"code": "06", "rate": "4"}]}
            ]
        }));
        let body = bill_request(&ours);
        // 99,000 excluded; 1,500,000 + 285,000 IVA + 120,000 INC: 2,004,000, withholdings aside.
        assert_eq!(
            body["payment_details"],
            json!([{"payment_form": "2", "payment_method_code": "10", "amount": "2004000.00", "due_date": "2026-12-31"}])
        );
        assert_eq!(body["send_email"], json!(false));
        assert_eq!(body["customer"]["names"], "Alan Turing");
        assert_eq!(body["customer"]["identification_document_code"], "13");
        assert!(body["customer"].get("company").is_none() && body["customer"].get("dv").is_none());
        assert_eq!(
            body["items"][0]["taxes"],
            json!([{"code": "01", "rate": "0.00", "is_excluded": true}])
        );
        assert_eq!(body["items"][0]["discount_amount"], "1000.00");
        assert!(body["items"][0].get("discount_rate").is_none());
        assert_eq!(body["items"][1]["quantity"], "1.50");
        assert_eq!(
            body["items"][1]["withholding_taxes"],
            json!([{"code": "05", "rate": "2.00"}, {"code": "06", "rate": "4.00"}])
        );
    }

    #[test]
    fn our_references_split_back_into_organization_and_code() {
        let reference = provider_reference("01JDQ7Z8X9Y0ABCDEFGHJKMNPQ", "FV-1");
        assert_eq!(
            split_reference(&reference),
            Some(("01JDQ7Z8X9Y0ABCDEFGHJKMNPQ", "FV-1"))
        );
        assert_eq!(split_reference("FACT-2026-0124"), None);
        assert_eq!(split_reference("01JDQ7Z8X9Y0ABCDEFGHJKMNPQ-"), None);
    }
}

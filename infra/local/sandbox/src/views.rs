//! Documents as Factus's answers show them: whole (`ViewBillData`, `ViewCreditNoteData`: the
//! create and show answers, `crear-y-validar.md`'s response tables) and as list rows
//! (`BillListItem`, `CreditNoteListItem`: no CUFE, no nested document). Codes are answered as
//! `{code, name}` objects from the reference tables; amounts as strings with two decimals; dates
//! as Factus writes them.

use codes::Code;
use serde_json::{Map, Value, json};

use crate::accounts::{Account, PUBLIC_BASE, municipality};
use crate::clock;
use crate::dian::{self, text};
use crate::ledger::{Document, Kind};
use crate::totals::{Group, Line, money};

/// "Códigos de los recargos y descuentos".
const CHARGE_CONCEPTS: &[Code] = &[
    Code {
        code: "00",
        name: "Descuento no condicionado",
    },
    Code {
        code: "01",
        name: "Descuento condicionado",
    },
    Code {
        code: "02",
        name: "Recargo no condicionado",
    },
    Code {
        code: "03",
        name: "Recargo condicionado",
    },
];

/// `{code, name}` of `code` in `table` (the name is null for a code the table lacks).
pub fn code_name(table: &[Code], code: &str) -> Value {
    json!({"code": code, "name": codes::name(table, code)})
}

fn list<'a>(body: &'a Value, key: &str) -> &'a [Value] {
    body.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// `YYYY-MM-DD` as `DD-MM-YYYY`, as the answers write the dates they echo.
fn day_month_year(date: Option<String>) -> Value {
    match date
        .as_deref()
        .map(|date| date.split('-').collect::<Vec<_>>())
        .as_deref()
    {
        Some([year, month, day]) => json!(format!("{day}-{month}-{year}")),
        _ => Value::Null,
    }
}

/// The customer as documents show it (`data.customer`).
pub fn party(customer: &Value) -> Value {
    let get = |key: &str| text(customer, key);
    let organization = get("legal_organization_code").unwrap_or_default();
    let company = get("company").filter(|_| organization == "1");
    let names = get("names").or_else(|| company.clone()).unwrap_or_default();
    let country = get("country_code").unwrap_or_else(|| "CO".to_owned());
    let country_name = if country.eq_ignore_ascii_case("CO") {
        json!("Colombia")
    } else {
        Value::Null
    };
    json!({
        "identification_document": code_name(codes::IDENTIFICATION_DOCUMENTS, &get("identification_document_code").unwrap_or_default()),
        "identification": get("identification"),
        "dv": dian::customer_dv(customer),
        "graphic_representation_name": company.clone().unwrap_or_else(|| names.clone()),
        "trade_name": get("trade_name"),
        "company": company,
        "names": names,
        "address": get("address"),
        "email": get("email"),
        "phone": get("phone"),
        "legal_organization": code_name(codes::ORGANIZATION_TYPES, &organization),
        "tribute": code_name(codes::CUSTOMER_TRIBUTES, &get("tribute_code").unwrap_or_else(|| "ZZ".to_owned())),
        "country": {"code": country, "name": country_name},
        "municipality": get("municipality_code").map_or(Value::Null, |code| municipality(&code)),
    })
}

fn rates(group: &Group) -> Vec<Value> {
    group
        .rates
        .iter()
        .map(|(rate, base, amount)| json!({"taxable_amount": money(*base), "tax_amount": money(*amount), "rate": money(*rate)}))
        .collect()
}

/// `taxes` of a line or a document.
fn taxes(groups: &[Group]) -> Value {
    groups
        .iter()
        .map(|group| json!({"tribute": code_name(codes::TAXES, &group.code), "is_excluded": group.excluded, "rates": rates(group)}))
        .collect()
}

/// `withholding_taxes` of a line or a document.
fn withholdings(groups: &[Group]) -> Value {
    groups
        .iter()
        .map(|group| {
            json!({"tribute": code_name(codes::WITHHOLDINGS, &group.code), "value": money(group.amount()), "rates": rates(group)})
        })
        .collect()
}

fn item(item: &Value, line: &Line) -> Value {
    let single = |charges: &[crate::totals::Charge]| -> Vec<Group> {
        charges
            .iter()
            .map(|charge| Group {
                code: charge.code.clone(),
                excluded: charge.excluded,
                rates: vec![(charge.rate, charge.base, charge.amount)],
            })
            .collect()
    };
    let unit = text(item, "unit_measure_code").unwrap_or_default();
    let standard = text(item, "standard_code").unwrap_or_default();
    json!({
        "scheme_id": text(item, "scheme_id"),
        "note": text(item, "note"),
        "collection_concept": text(item, "collection_concept_code"),
        "code_reference": text(item, "code_reference"),
        "name": text(item, "name"),
        "quantity": money(line.quantity),
        "unit_measure": {"code": unit, "name": codes::unit_measure(&unit)},
        "standard_code": code_name(codes::PRODUCT_STANDARDS, &standard),
        "discount_rate": money(line.discount_rate),
        "discount": money(line.discount),
        "gross_value": money(line.taxable),
        "taxable_amount": money(line.taxable),
        "tax_amount": money(line.tax()),
        "price": money(line.price),
        "total": money(line.taxable),
        "taxes": taxes(&single(&line.taxes)),
        "withholding_taxes": withholdings(&single(&line.withholdings)),
        "additional_properties": item.get("additional_properties").cloned().unwrap_or_else(|| json!([])),
        "mandate": item.get("mandate").cloned().unwrap_or(Value::Null),
    })
}

fn payment_details(body: &Value) -> Value {
    list(body, "payment_details")
        .iter()
        .map(|detail| {
            let form = text(detail, "payment_form").unwrap_or_default();
            let method = text(detail, "payment_method_code").unwrap_or_default();
            json!({
                "payment_form": code_name(codes::PAYMENT_FORMS, &form),
                "payment_method": code_name(codes::PAYMENT_METHODS, &method),
                "reference_code": text(detail, "reference_code"),
                "amount": money(detail.get("amount").and_then(crate::totals::number).unwrap_or_default()),
                "due_date": day_month_year(text(detail, "due_date")),
            })
        })
        .collect()
}

fn allowance_charges(body: &Value) -> Value {
    list(body, "allowance_charges")
        .iter()
        .map(|charge| {
            let amount = |key: &str| {
                charge
                    .get(key)
                    .and_then(crate::totals::number)
                    .unwrap_or_default()
            };
            let base = amount("base_amount");
            let percentage = if base.is_zero() {
                base
            } else {
                amount("amount")
                    .saturating_mul(rust_decimal::Decimal::ONE_HUNDRED)
                    .checked_div(base)
                    .unwrap_or_default()
            };
            json!({
                "concept_type": code_name(CHARGE_CONCEPTS, &text(charge, "concept_type").unwrap_or_default()),
                "is_surcharge": charge.get("is_surcharge").and_then(Value::as_bool).unwrap_or(false),
                "reason": text(charge, "reason"),
                "base_amount": money(base),
                "percentage": money(percentage),
                "amount": money(amount("amount")),
            })
        })
        .collect()
}

fn billing_period(body: &Value) -> Value {
    match body.get("billing_period") {
        Some(period @ Value::Object(_)) => json!({
            "start_date": day_month_year(text(period, "start_date")), "start_time": text(period, "start_time"),
            "end_date": day_month_year(text(period, "end_date")), "end_time": text(period, "end_time"),
        }),
        _ => Value::Null,
    }
}

fn totals(document: &Document) -> Value {
    let totals = &document.totals;
    json!({
        "prepayment_amount": money(totals.prepayment),
        "gross_amount": money(totals.gross),
        "discount_amount": money(totals.discount),
        "taxable_amount": money(totals.taxable),
        "tax_amount": money(totals.tax),
        "surcharge_amount": money(totals.surcharge),
        "cash_rounding_amount": money(totals.cash_rounding),
        "total": money(totals.total),
    })
}

fn validated_at(document: &Document) -> Value {
    document
        .validated_at()
        .map_or(Value::Null, |at| json!(clock::stamp(at)))
}

/// A document that references another (`related_bill`, `related_notes.credit_notes`).
fn reference(document: &Document) -> Value {
    let mut reference = json!({
        "number": document.number, "reference_code": document.reference_code,
        "status": u8::from(document.is_validated()), "total": money(document.totals.total),
        "created_at": clock::stamp(document.created_at),
    });
    if document.kind == Kind::CreditNote {
        reference["correction_concept_code"] = json!(text(&document.body, "correction_concept_code"));
    }
    reference
}

fn send_email(document: &Document) -> bool {
    document
        .body
        .get("send_email")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

fn has_event(document: &Document, code: &str) -> bool {
    document.events.iter().any(|event| event.code == code)
}

/// A bill becomes a título valor once acknowledged (030), its goods received (032) and accepted
/// (033 or 034).
fn negotiable(document: &Document) -> bool {
    ["030", "032"].iter().all(|code| has_event(document, code))
        && (has_event(document, "033") || has_event(document, "034"))
}

/// The whole document: what create and show answer in `data`.
pub fn document(document: &Document, account: &Account) -> Value {
    let body = &document.body;
    let qr = dian::qr_url(&document.cufe);
    let lines: Vec<Value> = list(body, "items")
        .iter()
        .zip(&document.totals.lines)
        .map(|(body, line)| item(body, line))
        .collect();
    let mut view = json!({
        "reference_code": document.reference_code,
        "number": document.number,
        "is_validated": document.is_validated(),
        "validated_at": validated_at(document),
        "errors": document.errors(),
        "observation": text(body, "observation"),
        "created_at": clock::stamp(document.created_at),
        "billing_period": billing_period(body),
        "payment_details": payment_details(body),
        "numbering_range": document.range.json(),
        "company": account.company.info(body.get("establishment")),
        "customer": party(&document.customer),
        "items": lines,
        "allowance_charges": allowance_charges(body),
        "taxes": taxes(&document.totals.tax_groups()),
        "withholding_taxes": withholdings(&document.totals.withholding_groups()),
        "totals": totals(document),
        "links": {"qr": qr, "public_url": format!("{PUBLIC_BASE}/documents/{}", document.cufe)},
        "qr": qr,
    });
    let extra = match document.kind {
        Kind::Bill => bill_fields(document, account),
        Kind::CreditNote => credit_note_fields(document, account),
    };
    if let (Some(view), Value::Object(extra)) = (view.as_object_mut(), extra) {
        view.extend(extra);
    }
    view
}

fn bill_fields(document: &Document, account: &Account) -> Value {
    let body = &document.body;
    let kind = text(body, "document").unwrap_or_else(|| "01".to_owned());
    let operation = text(body, "operation_type").unwrap_or_else(|| "10".to_owned());
    let credit_notes: Vec<Value> = account
        .credit_notes
        .iter()
        .filter(|note| note.bill_number.as_deref() == Some(document.number.as_str()) && note.is_validated())
        .map(reference)
        .collect();
    let echoed = |key: &str| body.get(key).cloned().unwrap_or_else(|| json!([]));
    json!({
        "order_reference": body.get("order_reference").and_then(|order| text(order, "reference_code")),
        "send_email": send_email(document),
        "has_claim": has_event(document, "031"),
        "is_negotiable_instrument": negotiable(document),
        "document_type": code_name(codes::BILL_DOCUMENTS, &kind),
        "operation_type": code_name(codes::OPERATION_TYPES, &operation),
        "health": body.get("health").cloned().unwrap_or(Value::Null),
        "beneficiary": body.get("beneficiary").cloned().unwrap_or(Value::Null),
        "prepayment_details": echoed("prepayment_details"),
        "related_documents": echoed("related_documents"),
        "related_notes": {"credit_notes": credit_notes, "debit_notes": []},
        "cufe": document.cufe,
    })
}

fn credit_note_fields(document: &Document, account: &Account) -> Value {
    let body = &document.body;
    let correction = text(body, "correction_concept_code").unwrap_or_default();
    let customization = text(body, "customization_id").unwrap_or_else(|| "20".to_owned());
    let bill = document
        .bill_number
        .as_deref()
        .and_then(|number| account.bills.by_number(number))
        .map_or(Value::Null, reference);
    json!({
        "correction_concept": code_name(codes::CREDIT_NOTE_CORRECTIONS, &correction),
        "customization": code_name(codes::CREDIT_NOTE_OPERATIONS, &customization),
        "related_bill": bill,
        "cude": document.cufe,
    })
}

/// A list row: no CUFE, no nested document.
pub fn row(document: &Document, account: &Account) -> Value {
    let customer = party(&document.customer);
    let mut row = Map::new();
    row.insert("api_client_name".into(), json!(account.credentials.client_id));
    row.insert("number".into(), json!(document.number));
    row.insert("reference_code".into(), json!(document.reference_code));
    row.insert("identification".into(), customer["identification"].clone());
    row.insert(
        "graphic_representation_name".into(),
        customer["graphic_representation_name"].clone(),
    );
    row.insert("names".into(), customer["names"].clone());
    row.insert("email".into(), customer["email"].clone());
    row.insert("total".into(), json!(money(document.totals.total)));
    row.insert("errors".into(), document.errors());
    if document.kind == Kind::Bill {
        row.insert("send_email".into(), json!(send_email(document)));
        row.insert("has_claim".into(), json!(has_event(document, "031")));
        row.insert("is_negotiable_instrument".into(), json!(negotiable(document)));
    }
    row.insert("is_validated".into(), json!(document.is_validated()));
    row.insert("validated_at".into(), validated_at(document));
    row.insert("created_at".into(), json!(clock::stamp(document.created_at)));
    Value::Object(row)
}

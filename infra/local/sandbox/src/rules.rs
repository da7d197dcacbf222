//! Factus's input validation of create bodies, rule by rule as the field tables of
//! `facturas/crear-y-validar.md`, `facturas/descripcion-de-campos.md` and
//! `notas-credito/crear-y-validar.md` state them: required fields (Laravel's sense: null, blank
//! text, an empty list or object count as missing), amounts and rates with at most two decimals
//! (as JSON strings or numbers), codes that must be in the reference tables, the conditional
//! requirements (`company`/`names` by organization type, `due_date` for credit, ...), the 250
//! characters of `observation`, and payment details that add up to the document's total (give
//! or take `cash_rounding_amount`, at most ±500.00). Rules that need the account (its numbering
//! ranges, the bill a credit note references) are checked where the account is known.

mod fields;

use codes::{
    CREDIT_NOTE_CORRECTIONS, CREDIT_NOTE_OPERATIONS, CUSTOMER_TRIBUTES, Code, FISCAL_RESPONSIBILITIES,
    IDENTIFICATION_DOCUMENTS, OPERATION_TYPES, ORGANIZATION_TYPES, PAYMENT_FORMS, PAYMENT_METHODS,
    PRODUCT_STANDARDS, TAXES, WITHHOLDINGS,
};
use serde_json::Value;

use crate::totals::{Totals, money};

use fields::{Bounds, Need, Node, Problems, in_table, invalid, numbered, one_of};

/// One broken rule: the field's path (`items.0.quantity`, `customer.municipality_code`) and the
/// message Factus answers for it.
pub type Problem = (String, String);

/// Every documented rule a create-bill body breaks, in the field tables' order; empty when the
/// body conforms.
pub fn check_bill(body: &Value) -> Vec<Problem> {
    let mut problems = Problems::default();
    let p = &mut problems;
    let body = Node::body(body);
    body.text(p, "reference_code", Need::Required);
    body.time_of_day(p, "created_time", Need::Optional);
    let document = body.code(p, "document", Need::Optional, in_table(BILL_DOCUMENTS));
    numbering_range_id(p, &body);
    let operation = body
        .code(p, "operation_type", Need::Optional, in_table(OPERATION_TYPES))
        .unwrap_or_else(|| "10".to_owned());
    currency(p, &body);
    body.boolean(p, "send_email", Need::Optional);
    observation(p, &body);
    prepayment_details(p, &body);
    payment_details(p, &body);
    cash_rounding(p, &body);
    establishment(p, &body);
    billing_period(p, &body, Need::Optional, Need::Optional);
    order_reference(p, &body);
    related_documents(p, &body, Need::required_if(document.as_deref() == Some("03")));
    customer(p, &body, Need::Required);
    items(p, &body, &operation);
    allowance_charges(p, &body);
    let health_operation = ["SS-CUFE", "SS-Reporte", "SS-SinAporte"].contains(&operation.as_str());
    health(p, &body, Need::required_if(health_operation));
    beneficiary(p, &body, Need::required_if(operation == "SS-Recaudo"));
    payment_sum(p, &body);
    problems.0
}

/// Every documented rule a create-credit-note body breaks; empty when it conforms.
pub fn check_credit_note(body: &Value) -> Vec<Problem> {
    let mut problems = Problems::default();
    let p = &mut problems;
    let body = Node::body(body);
    body.text(p, "reference_code", Need::Required);
    body.code(
        p,
        "correction_concept_code",
        Need::Required,
        in_table(CREDIT_NOTE_CORRECTIONS),
    );
    let customization = body
        .code(
            p,
            "customization_id",
            Need::Optional,
            in_table(CREDIT_NOTE_OPERATIONS),
        )
        .unwrap_or_else(|| "20".to_owned());
    let unreferenced = customization == "22";
    body.text(p, "bill_number", Need::required_if(!unreferenced));
    numbering_range_id(p, &body);
    currency(p, &body);
    observation(p, &body);
    payment_details(p, &body);
    cash_rounding(p, &body);
    health(p, &body, Need::Optional);
    establishment(p, &body);
    billing_period(p, &body, Need::required_if(unreferenced), Need::Required);
    customer(p, &body, Need::required_if(unreferenced));
    items(p, &body, "10");
    allowance_charges(p, &body);
    payment_sum(p, &body);
    problems.0
}

/// "Códigos de tipos de documentos para la factura".
const BILL_DOCUMENTS: &[Code] = codes::BILL_DOCUMENTS;

/// The only concept of `allowance_charges` the table offers today: 00, 01 and 02 are struck out
/// there as "disponible próximamente".
const CHARGE_CONCEPTS: &[&str] = &["03"];

/// "Documentos de identificacion para sector salud".
const HEALTH_IDENTIFICATION_DOCUMENTS: &[&str] = &[
    "CC", "CE", "CD", "PA", "SC", "PE", "RC", "TI", "CN", "AS", "MS", "DE", "SI", "PT",
];

/// Health coverage plans that are policies (SOAT, ARL, other policies): they need a policy number.
const POLICY_COVERAGES: &[&str] = &["04", "05", "12"];

const MAX_OBSERVATION: usize = 250;
const MAX_PREPAYMENT_NOTE: usize = 5000;

fn numbering_range_id(problems: &mut Problems, body: &Node) {
    let valid = match body.get("numbering_range_id") {
        None => true,
        Some(Value::Number(number)) => number.is_u64(),
        Some(Value::String(text)) => text.trim().parse::<u64>().is_ok(),
        Some(_) => false,
    };
    if !valid {
        problems.add(
            "numbering_range_id",
            "El campo numbering_range_id debe ser un número entero.".to_owned(),
        );
    }
}

fn currency(problems: &mut Problems, body: &Node) {
    let Some(currency) = body.object(problems, "currency", Need::Optional) else {
        return;
    };
    let kind = currency.text(problems, "type", Need::Required);
    if kind.is_some_and(|kind| kind.len() != 3 || kind.eq_ignore_ascii_case("COP")) {
        problems.add("currency.type", invalid("currency.type"));
    }
    currency.amount(problems, "exchange_rate", Need::Required, Bounds::Positive);
}

fn observation(problems: &mut Problems, body: &Node) {
    body.short_text(problems, "observation", Need::Optional, MAX_OBSERVATION);
}

fn prepayment_details(problems: &mut Problems, body: &Node) {
    for detail in body.members(problems, "prepayment_details", Need::Optional) {
        detail.text(problems, "reference_code", Need::Required);
        detail.date(problems, "received_date", Need::Required);
        detail.amount(problems, "amount", Need::Required, Bounds::NonNegative);
        detail.short_text(problems, "note", Need::Optional, MAX_PREPAYMENT_NOTE);
    }
}

fn payment_details(problems: &mut Problems, body: &Node) {
    for detail in body.members(problems, "payment_details", Need::Required) {
        let form = detail.code(problems, "payment_form", Need::Required, in_table(PAYMENT_FORMS));
        detail.code(
            problems,
            "payment_method_code",
            Need::Required,
            in_table(PAYMENT_METHODS),
        );
        detail.text(problems, "reference_code", Need::Optional);
        detail.amount(problems, "amount", Need::Required, Bounds::NonNegative);
        let due = Need::required_if(form.as_deref() == Some("2"));
        detail.date(problems, "due_date", due);
    }
}

fn cash_rounding(problems: &mut Problems, body: &Node) {
    body.amount(
        problems,
        "cash_rounding_amount",
        Need::Optional,
        Bounds::CashRounding,
    );
}

fn is_municipality(code: &str) -> bool {
    codes::municipality(code).is_some()
}

fn establishment(problems: &mut Problems, body: &Node) {
    let Some(establishment) = body.object(problems, "establishment", Need::Optional) else {
        return;
    };
    for key in ["name", "address", "phone_number", "email"] {
        establishment.text(problems, key, Need::Required);
    }
    establishment.code(problems, "municipality_code", Need::Required, is_municipality);
}

fn billing_period(problems: &mut Problems, body: &Node, need: Need, times: Need) {
    let Some(period) = body.object(problems, "billing_period", need) else {
        return;
    };
    period.date(problems, "start_date", Need::Required);
    period.time_of_day(problems, "start_time", times);
    period.date(problems, "end_date", Need::Required);
    period.time_of_day(problems, "end_time", times);
}

fn order_reference(problems: &mut Problems, body: &Node) {
    let Some(order) = body.object(problems, "order_reference", Need::Optional) else {
        return;
    };
    order.text(problems, "reference_code", Need::Required);
    order.date(problems, "issue_date", Need::Optional);
}

fn related_documents(problems: &mut Problems, body: &Node, need: Need) {
    for document in body.members(problems, "related_documents", need) {
        document.text(problems, "code", Need::Required);
        document.date(problems, "issue_date", Need::Required);
        document.text(problems, "number", Need::Required);
    }
}

fn customer(problems: &mut Problems, body: &Node, need: Need) {
    let Some(customer) = body.object(problems, "customer", need) else {
        return;
    };
    customer.code(
        problems,
        "identification_document_code",
        Need::Required,
        in_table(IDENTIFICATION_DOCUMENTS),
    );
    customer.code(problems, "identification", Need::Required, |_| true);
    customer.code(problems, "dv", Need::Optional, |_| true);
    let organization = customer.code(
        problems,
        "legal_organization_code",
        Need::Required,
        in_table(ORGANIZATION_TYPES),
    );
    customer.code(
        problems,
        "tribute_code",
        Need::Optional,
        in_table(CUSTOMER_TRIBUTES),
    );
    let responsibilities = customer.list(problems, "responsibilities", Need::Optional);
    for (index, responsibility) in responsibilities.iter().enumerate() {
        fields::code(
            problems,
            Some(responsibility),
            &format!("customer.responsibilities.{index}"),
            Need::Required,
            in_table(FISCAL_RESPONSIBILITIES),
        );
    }
    for (key, organization_code) in [("company", "1"), ("names", "2")] {
        let given = customer.text(problems, key, Need::Optional);
        if given.is_none() && organization.as_deref() == Some(organization_code) {
            let path = customer.path(key);
            problems.add(
                &path,
                format!("El campo {path} es obligatorio cuando customer.legal_organization_code es {organization_code}."),
            );
        }
    }
    for key in ["trade_name", "address", "email", "phone", "country_code"] {
        customer.text(problems, key, Need::Optional);
    }
    // The municipality applies to Colombian customers only.
    let colombian = customer
        .get("country_code")
        .and_then(Value::as_str)
        .is_none_or(|country| country.eq_ignore_ascii_case("CO"));
    if colombian {
        customer.code(problems, "municipality_code", Need::Optional, is_municipality);
    }
}

fn items(problems: &mut Problems, body: &Node, operation: &str) {
    for item in body.members(problems, "items", Need::Required) {
        item_fields(problems, &item, operation);
    }
}

fn item_fields(problems: &mut Problems, item: &Node, operation: &str) {
    item.text(problems, "note", Need::Optional);
    item.text(problems, "code_reference", Need::Required);
    item.text(problems, "name", Need::Required);
    let quantity = item.amount(problems, "quantity", Need::Required, Bounds::Positive);
    item.amount(problems, "discount_rate", Need::Optional, Bounds::Percent);
    let discount = item.amount(problems, "discount_amount", Need::Optional, Bounds::NonNegative);
    let price = item.amount(problems, "price", Need::Required, Bounds::NonNegative);
    if let (Some(quantity), Some(price), Some(discount)) = (quantity, price, discount)
        && discount > quantity.saturating_mul(price)
    {
        let path = item.path("discount_amount");
        problems.add(
            &path,
            format!("El campo {path} no puede ser mayor que el valor del ítem."),
        );
    }
    item.code(problems, "unit_measure_code", Need::Required, |code| {
        codes::unit_measure(code).is_some()
    });
    item.code(
        problems,
        "standard_code",
        Need::Required,
        in_table(PRODUCT_STANDARDS),
    );
    for tax in item.members(problems, "taxes", Need::Required) {
        let excluded = tax.boolean(problems, "is_excluded", Need::Optional);
        // An excluded entry may omit its code and rate (the excluded-tax examples do).
        let need = Need::required_if(excluded != Some(true));
        tax.code(problems, "code", need, in_table(TAXES));
        tax.amount(problems, "rate", need, Bounds::Percent);
    }
    for withholding in item.members(problems, "withholding_taxes", Need::Optional) {
        withholding.code(problems, "code", Need::Required, in_table(WITHHOLDINGS));
        withholding.amount(problems, "rate", Need::Required, Bounds::Percent);
    }
    sector_fields(problems, item, operation);
}

/// The fields of mandates (11), transport (12) and health collections (SS-Recaudo).
fn sector_fields(problems: &mut Problems, item: &Node, operation: &str) {
    let scheme_need = Need::required_if(["11", "12", "SS-Recaudo"].contains(&operation));
    let scheme = item.code(problems, "scheme_id", scheme_need, one_of(&["0", "1"]));
    let mandate_need =
        Need::required_if(scheme.as_deref() == Some("1") && ["11", "SS-Recaudo"].contains(&operation));
    if let Some(mandate) = item.object(problems, "mandate", mandate_need) {
        mandate.code(
            problems,
            "identification_document_code",
            Need::Required,
            in_table(IDENTIFICATION_DOCUMENTS),
        );
        mandate.code(problems, "identification", Need::Required, |_| true);
    }
    item.code(
        problems,
        "collection_concept_code",
        Need::required_if(operation == "SS-Recaudo"),
        one_of(&["COP", "CUO", "PAC"]),
    );
    let transport_need = Need::required_if(operation == "12");
    for property in item.members(problems, "additional_properties", transport_need) {
        let kind = property.code(problems, "code", Need::Required, one_of(&["01", "02", "03"]));
        property.text(problems, "value", Need::Required);
        let freight = Need::required_if(kind.as_deref() == Some("03"));
        property.amount(problems, "quantity", freight, Bounds::NonNegative);
        property.code(problems, "unit_measure_code", freight, one_of(&["414", "874"]));
    }
}

fn allowance_charges(problems: &mut Problems, body: &Node) {
    for charge in body.members(problems, "allowance_charges", Need::Optional) {
        charge.code(problems, "concept_type", Need::Required, one_of(CHARGE_CONCEPTS));
        charge.boolean(problems, "is_surcharge", Need::Required);
        charge.text(problems, "reason", Need::Required);
        for key in ["base_amount", "amount"] {
            charge.amount(problems, key, Need::Required, Bounds::NonNegative);
        }
    }
}

fn health(problems: &mut Problems, body: &Node, need: Need) {
    let Some(health) = body.object(problems, "health", need) else {
        return;
    };
    health.text(problems, "provider_code", Need::Required);
    health.code(problems, "payment_method_code", Need::Required, numbered(12));
    let coverage = health.code(problems, "coverage_code", Need::Required, numbered(17));
    health.text(problems, "contract_number", Need::Required);
    let policy = coverage.is_some_and(|coverage| POLICY_COVERAGES.contains(&coverage.as_str()));
    health.text(problems, "policy_number", Need::required_if(policy));
}

fn beneficiary(problems: &mut Problems, body: &Node, need: Need) {
    let Some(beneficiary) = body.object(problems, "beneficiary", need) else {
        return;
    };
    let document = beneficiary.code(
        problems,
        "identification_document_code",
        Need::Required,
        one_of(HEALTH_IDENTIFICATION_DOCUMENTS),
    );
    let unidentified = document.is_some_and(|document| ["SI", "MS", "AS"].contains(&document.as_str()));
    beneficiary.text(
        problems,
        "identification_number",
        Need::required_if(!unidentified),
    );
    for key in ["names", "surnames"] {
        beneficiary.text(problems, key, Need::Optional);
    }
}

/// The payment details add up to what the document is worth (before prepayments, as the
/// prepayment examples pay it), give or take `cash_rounding_amount`. Checked only when the
/// figures it adds are themselves valid.
fn payment_sum(problems: &mut Problems, body: &Node) {
    let figures = [
        "items",
        "payment_details",
        "allowance_charges",
        "prepayment_details",
        "cash_rounding_amount",
    ];
    if figures.iter().any(|prefix| problems.touch(prefix)) {
        return;
    }
    let totals = Totals::of(body.value);
    if totals.payments != totals.before_prepayment.saturating_add(totals.cash_rounding) {
        problems.add(
            "payment_details",
            format!(
                "La suma de los montos de payment_details ({}) debe ser igual al total del documento ({}) más cash_rounding_amount ({}).",
                money(totals.payments),
                money(totals.before_prepayment),
                money(totals.cash_rounding),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde_json::json;

    use super::fields::MAX_AMOUNT;
    use super::*;

    /// `facturas/crear-y-validar.md`'s example request.
    fn documented() -> Value {
        json!({
            "reference_code": "FACT-2026-0124", "document": "01", "numbering_range_id": 389, "operation_type": "10",
            "observation": "Observación de prueba",
            "payment_details": [{"payment_form": "1", "payment_method_code": "42", "reference_code": "pago-001", "amount": "83300"}],
            "cash_rounding_amount": "0.00",
            "customer": {
                "identification_document_code": "31", "identification": "123456789", "company": "Alan company name",
                "trade_name": "Alan trade name", "address": "calle 1 # 1-1", "email": "alan.company@email.com",
                "phone": "1234567890", "legal_organization_code": "1", "tribute_code": "ZZ", "country_code": "CO",
                "responsibilities": ["R-99-PN"], "municipality_code": "68679"
            },
            "items": [
                {"code_reference": "PROD-000A", "name": "Producto A", "quantity": "1.00", "discount_rate": "0.00", "price": "10000.00",
                 "unit_measure_code": "94", "standard_code": "999", "taxes": [{"code": "01", "rate": "19.00"}]},
                {"code_reference": "PROD-000B", "name": "Producto B", "quantity": "3.00", "discount_rate": "0.00", "price": "20000.00",
                 "unit_measure_code": "94", "standard_code": "999", "taxes": [{"code": "01", "rate": "19.00"}]}
            ]
        })
    }

    fn fields(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|(field, _)| field.as_str()).collect()
    }

    #[test]
    fn the_documented_examples_conform() {
        assert_eq!(check_bill(&documented()), []);
        let mut excluded = documented();
        excluded["items"] = json!([{"code_reference": "PROD-000A", "name": "Producto A", "quantity": "1.00",
            "discount_rate": "0.00", "price": "83300.00", "unit_measure_code": "94", "standard_code": "999",
            "taxes": [{"is_excluded": true}]}]);
        assert_eq!(check_bill(&excluded), []);
        // redondeo-medios-pago.md: payment_form as a number, INC, a negative cash rounding.
        let rounded = json!({
            "reference_code": "FACT-2026-0129", "document": "01", "numbering_range_id": 389, "operation_type": "10",
            "payment_details": [
                {"payment_form": 1, "payment_method_code": "48", "reference_code": "REF_PAY_1962-1", "amount": "100000"},
                {"payment_form": 1, "payment_method_code": "10", "reference_code": "REF_PAY_1962-1", "amount": "160550"}
            ],
            "cash_rounding_amount": "-14.81",
            "customer": {"identification_document_code": "13", "identification": "222222222222", "names": "Consumidor Final",
                "address": "kra 37A 5-14", "email": "valjulsansas@gmail.com", "phone": "3015763570",
                "legal_organization_code": "2", "tribute_code": "01"},
            "items": [
                {"code_reference": "11", "name": "BOTELLA AGUA", "quantity": "1.00", "discount_rate": "0.00", "price": "175925.93",
                 "unit_measure_code": "94", "standard_code": "999", "taxes": [{"code": "04", "rate": "8.00"}]},
                {"code_reference": "92", "name": "Energizante", "quantity": "2.00", "discount_rate": "0.00", "price": "14814.81",
                 "unit_measure_code": "94", "standard_code": "999", "taxes": [{"code": "04", "rate": "8.00"}]},
                {"code_reference": "693", "name": "MANZANA VERDE", "quantity": "1.00", "discount_rate": "0.00", "price": "32407.41",
                 "unit_measure_code": "94", "standard_code": "999", "taxes": [{"code": "01", "rate": "19.00"}]}
            ]
        });
        assert_eq!(check_bill(&rounded), []);
        // estandar-autorrentenciones.md: 1,000,000 + 19 % IVA, paid 1,190,000 with 05 and 06 reported.
        let mut withheld = documented();
        withheld["payment_details"] = json!([{"payment_form": "1", "payment_method_code": "47", "reference_code": "pago-001", "amount": "1190000"}]);
        withheld["items"] = json!([{"code_reference": "PROD-000A", "name": "Producto A", "quantity": "1.00", "discount_rate": "0.00",
            "price": "1000000.00", "unit_measure_code": "94", "standard_code": "999", "taxes": [{"code": "01", "rate": "19.00"}],
            "withholding_taxes": [{"code": "05", "rate": "2.00"}, {"code": "06", "rate": "4.00"}]}]);
        assert_eq!(check_bill(&withheld), []);
        let mut note = documented();
        note["correction_concept_code"] = json!("2");
        note["customization_id"] = json!("20");
        note["bill_number"] = json!("SETP990002519");
        assert_eq!(check_credit_note(&note), []);
    }

    #[test]
    fn each_broken_rule_is_named_by_its_field() {
        let mut bad = documented();
        bad["observation"] = json!("x".repeat(251));
        bad["payment_details"][0]["payment_form"] = json!("2");
        bad["payment_details"][0]["payment_method_code"] = json!("99");
        bad["customer"]["identification_document_code"] = json!("99");
        bad["customer"]["municipality_code"] = json!("11000");
        bad["customer"]["company"] = json!("");
        bad["customer"]["tribute_code"] = json!("XX");
        bad["items"][0]["quantity"] = json!("1.005");
        bad["items"][0]["price"] = json!("diez");
        bad["items"][0]["unit_measure_code"] = json!("XYZ");
        bad["items"][0]["standard_code"] = json!("002");
        bad["items"][1]["discount_rate"] = json!(12.345);
        bad["items"][1]["taxes"][0]["code"] = json!("02");
        bad["items"][1]["taxes"][0]["rate"] = json!("19.001");
        bad["items"][1]["withholding_taxes"] = json!([{"code": "09", "rate": "1.234"}]);
        assert_eq!(
            fields(&check_bill(&bad)),
            [
                "observation",
                "payment_details.0.payment_method_code",
                "payment_details.0.due_date",
                "customer.identification_document_code",
                "customer.tribute_code",
                "customer.company",
                "customer.municipality_code",
                "items.0.quantity",
                "items.0.price",
                "items.0.unit_measure_code",
                "items.0.standard_code",
                "items.1.discount_rate",
                "items.1.taxes.0.code",
                "items.1.taxes.0.rate",
                "items.1.withholding_taxes.0.code",
                "items.1.withholding_taxes.0.rate",
            ]
        );
    }

    #[test]
    fn required_fields_and_conditional_ones() {
        assert_eq!(
            fields(&check_bill(&json!({}))),
            ["reference_code", "payment_details", "customer", "items"]
        );
        let mut natural = documented();
        natural["customer"]["legal_organization_code"] = json!("2");
        assert_eq!(fields(&check_bill(&natural)), ["customer.names"]);
        let mut transmission = documented();
        transmission["document"] = json!("03");
        transmission["items"][0]["taxes"] = json!([]);
        assert_eq!(
            fields(&check_bill(&transmission)),
            ["related_documents", "items.0.taxes"]
        );
        let mut unreferenced = documented();
        unreferenced["correction_concept_code"] = json!("9");
        unreferenced["customization_id"] = json!("22");
        unreferenced.as_object_mut().unwrap().remove("customer");
        assert_eq!(
            fields(&check_credit_note(&unreferenced)),
            ["correction_concept_code", "billing_period", "customer"]
        );
        let mut referenced = documented();
        referenced["correction_concept_code"] = json!("2");
        assert_eq!(fields(&check_credit_note(&referenced)), ["bill_number"]);
    }

    #[test]
    fn amounts_have_a_ceiling_and_huge_ones_do_not_overflow() {
        assert_eq!(MAX_AMOUNT.to_string(), "999999999999999.99");
        let mut huge = documented();
        huge["items"][0]["quantity"] = json!("999999999999999.99");
        huge["items"][0]["price"] = json!("999999999999999.99");
        huge["items"][0]["discount_amount"] = json!("999999999999999.99");
        huge["items"][1]["price"] = json!("1000000000000000");
        assert_eq!(fields(&check_bill(&huge)), ["items.1.price"]);
        huge["items"][1]["price"] = json!("999999999999999.99");
        assert_eq!(fields(&check_bill(&huge)), ["payment_details"]);
        let totals = Totals::of(&huge);
        assert!(totals.total > Decimal::ZERO);
    }

    #[test]
    fn payments_add_up_to_the_total_within_the_cash_rounding() {
        let mut short = documented();
        short["payment_details"][0]["amount"] = json!("83000");
        assert_eq!(fields(&check_bill(&short)), ["payment_details"]);
        short["cash_rounding_amount"] = json!("-300.00");
        assert_eq!(check_bill(&short), []);
        short["payment_details"][0]["amount"] = json!("82000");
        short["cash_rounding_amount"] = json!("-1300.00");
        assert_eq!(fields(&check_bill(&short)), ["cash_rounding_amount"]);
        // The autorretenciones example pays the total with its withholdings left in.
        let mut withheld = documented();
        withheld["items"][0]["withholding_taxes"] =
            json!([{"code": "05", "rate": "15.00"}, {"code": "06", "rate": "2.50"}]);
        assert_eq!(check_bill(&withheld), []);
    }
}

use serde_json::{Value, json};

use super::*;

fn valid() -> Value {
    json!({
        "reference_code": "FV-2026-0001",
        "payment_form": "credit",
        "payment_due_date": "2026-12-31",
        "payment_method_code": "10",
        "numbering_range_id": 8,
        "currency": "COP",
        "observation": "optional",
        "customer": {
            "identification_type": "NIT", "identification": "900123456", "dv": "8",
            "legal_organization": "company", "name": "ACME SAS", "email": "ap@acme.co",
            "address": "Cra 7 # 71-21", "phone": "3001234567", "municipality_code": "11001"
        },
        "items": [{
            "code_reference": "SKU-1", "name": "Widget", "quantity": "2", "price": "10000.00",
            "discount_rate": "0", "tax_rate": "19", "unit_measure": "94", "is_excluded": false,
            "withholding_taxes": [{"code": "06", "rate": "2.5"}]
        }]
    })
}

fn parse_value(value: &Value) -> Result<InvoiceInput, Vec<(String, String)>> {
    let json = crate::json::parse(value.to_string().as_bytes()).unwrap();
    let mut problems = Problems::new();
    match InvoiceInput::parse(&json, "", &mut problems) {
        Some(input) if problems.is_empty() => Ok(input),
        _ => Err(problems
            .into_errors()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()),
    }
}

/// `valid()` with the value at `pointer` replaced (`None` removes it).
fn with(pointer: &str, replacement: Option<Value>) -> Value {
    let mut document = valid();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = document.pointer_mut(parent).unwrap();
    match (target, replacement) {
        (Value::Object(map), Some(value)) => {
            map.insert(key.to_owned(), value);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (Value::Array(list), Some(value)) => list[key.parse::<usize>().unwrap()] = value,
        _ => panic!("bad pointer {pointer}"),
    }
    document
}

#[test]
fn the_documented_example_is_valid_and_defaults_are_filled() {
    let input = parse_value(&valid()).unwrap();
    assert_eq!(input.reference_code.as_str(), "FV-2026-0001");
    assert_eq!(input.customer.dv.as_deref(), Some("8"));
    assert_eq!(input.items[0].quantity, Decimal::from(2));

    let minimal = json!({
        "reference_code": "A1", "payment_form": "cash",
        "customer": {"identification_type": "CC", "identification": "1020304050",
                     "legal_organization": "person", "name": "Ana", "email": "ana@x.co"},
        "items": [{"code_reference": "S", "name": "Servicio", "quantity": 1, "price": 0, "tax_rate": 0}]
    });
    let input = parse_value(&minimal).unwrap();
    assert_eq!(input.payment_method_code, "10");
    assert_eq!(input.currency, "COP");
    assert_eq!(input.items[0].unit_measure, "94");
    assert_eq!(input.items[0].discount, Discount::Rate(Decimal::ZERO));
    assert!(input.send_email, "Factus e-mails the customer unless told not to");
    assert!(!input.items[0].is_excluded);
    assert!(input.items[0].withholding_taxes.is_empty());
}

#[test]
fn each_rule_is_reported_at_its_field() {
    let cases: Vec<(&str, Option<Value>, &str, &str)> = vec![
        (
            "/reference_code",
            Some(json!("FV 1")),
            "reference_code",
            "letters, digits",
        ),
        (
            "/reference_code",
            Some(json!("x".repeat(65))),
            "reference_code",
            "1 to 64",
        ),
        ("/reference_code", None, "reference_code", "is required"),
        (
            "/payment_form",
            Some(json!("barter")),
            "payment_form",
            "cash or credit",
        ),
        (
            "/payment_due_date",
            None,
            "payment_due_date",
            "required when payment_form is credit",
        ),
        (
            "/payment_due_date",
            Some(json!("31/12/2026")),
            "payment_due_date",
            "YYYY-MM-DD",
        ),
        (
            "/payment_due_date",
            Some(json!("2026-+1-01")),
            "payment_due_date",
            "YYYY-MM-DD",
        ),
        (
            "/payment_due_date",
            Some(json!("2026-02-30")),
            "payment_due_date",
            "YYYY-MM-DD",
        ),
        (
            "/payment_method_code",
            Some(json!("1 0")),
            "payment_method_code",
            "DIAN's payment methods",
        ),
        (
            "/numbering_range_id",
            Some(json!(-3)),
            "numbering_range_id",
            "positive integer",
        ),
        (
            "/numbering_range_id",
            Some(json!(1.5)),
            "numbering_range_id",
            "positive integer",
        ),
        ("/currency", Some(json!("USD")), "currency", "must be COP"),
        (
            "/observation",
            Some(json!("x".repeat(251))),
            "observation",
            "at most 250",
        ),
        ("/customer", None, "customer", "is required"),
        ("/customer", Some(json!("ACME")), "customer", "must be an object"),
        (
            "/customer/identification_type",
            Some(json!("RUT")),
            "customer.identification_type",
            "one of NIT",
        ),
        (
            "/customer/identification",
            Some(json!("90012345X")),
            "customer.identification",
            "5 to 15 digits",
        ),
        ("/customer/dv", Some(json!("9")), "customer.dv", "DIAN modulo 11"),
        ("/customer/dv", None, "customer.dv", "required for a NIT"),
        (
            "/customer/legal_organization",
            Some(json!("llc")),
            "customer.legal_organization",
            "company or person",
        ),
        (
            "/customer/name",
            Some(json!("  ")),
            "customer.name",
            "must not be empty",
        ),
        (
            "/customer/email",
            Some(json!("ap at acme")),
            "customer.email",
            "email address",
        ),
        (
            "/customer/phone",
            Some(json!("call me")),
            "customer.phone",
            "only digits",
        ),
        (
            "/customer/municipality_code",
            Some(json!("11000")),
            "customer.municipality_code",
            "DIVIPOLA",
        ),
        (
            "/customer/country",
            Some(json!("CO")),
            "customer.country",
            "not a known field",
        ),
        ("/items", Some(json!([])), "items", "1 to 500 items"),
        ("/items", Some(json!({"0": {}})), "items", "must be an array"),
        (
            "/items/0/quantity",
            Some(json!("0")),
            "items[0].quantity",
            "greater than 0",
        ),
        (
            "/items/0/quantity",
            Some(json!("1.001")),
            "items[0].quantity",
            "at most 2 decimal places",
        ),
        (
            "/items/0/quantity",
            Some(json!(true)),
            "items[0].quantity",
            "number or a numeric string",
        ),
        (
            "/items/0/price",
            Some(json!("-1")),
            "items[0].price",
            "must not be negative",
        ),
        (
            "/items/0/price",
            Some(json!("10.001")),
            "items[0].price",
            "at most 2 decimal places",
        ),
        (
            "/items/0/price",
            Some(json!("ten")),
            "items[0].price",
            "must be a number",
        ),
        (
            "/items/0/discount_rate",
            Some(json!("100.5")),
            "items[0].discount_rate",
            "from 0 to 100",
        ),
        (
            "/items/0/tax_rate",
            Some(json!("16")),
            "items[0].tax_rate",
            "0, 5 or 19",
        ),
        (
            "/items/0/tax_rate",
            None,
            "items[0].tax_rate",
            "is required (or taxes) unless the item is excluded",
        ),
        (
            "/items/0/is_excluded",
            Some(json!("no")),
            "items[0].is_excluded",
            "must be a boolean",
        ),
        (
            "/items/0/unit_measure",
            Some(json!("kg/m")),
            "items[0].unit_measure",
            "DIAN's unit-of-measure codes",
        ),
        (
            "/items/0/code_reference",
            None,
            "items[0].code_reference",
            "is required",
        ),
        (
            "/items/0/name",
            Some(json!("x".repeat(201))),
            "items[0].name",
            "at most 200",
        ),
        (
            "/items/0/withholding_taxes",
            Some(json!([{"code": "08", "rate": 1}])),
            "items[0].withholding_taxes[0].code",
            "05 (ReteIVA)",
        ),
        (
            "/items/0/withholding_taxes",
            Some(json!([{"code": "06", "rate": 101}])),
            "items[0].withholding_taxes[0].rate",
            "from 0 to 100",
        ),
        (
            "/items/0/withholding_taxes",
            Some(json!([{"code": "06", "rate": 1}, {"code": "06", "rate": 2}])),
            "items[0].withholding_taxes[1].code",
            "appears twice",
        ),
        (
            "/items/0/colour",
            Some(json!("red")),
            "items[0].colour",
            "not a known field",
        ),
        ("/total", Some(json!("100")), "total", "not a known field"),
        (
            "/send_email",
            Some(json!("yes")),
            "send_email",
            "must be a boolean",
        ),
        (
            "/items/0/withholding_taxes",
            Some(json!([{"code": "07", "rate": "0.966"}])),
            "items[0].withholding_taxes[0].rate",
            "at most 2 decimal places",
        ),
        (
            "/items/0/discount_rate",
            Some(json!("10.005")),
            "items[0].discount_rate",
            "at most 2 decimal places",
        ),
        (
            "/items/0/discount_amount",
            Some(json!("100")),
            "items[0].discount_amount",
            "not both",
        ),
        (
            "/items/0/taxes",
            Some(json!([{"code": "01", "rate": 19}])),
            "items[0].taxes",
            "not both",
        ),
        (
            "/items/0/tax_rate",
            Some(json!("19.5")),
            "items[0].tax_rate",
            "0, 5 or 19",
        ),
    ];
    for (pointer, replacement, field, message) in cases {
        let errors = parse_value(&with(pointer, replacement)).unwrap_err();
        assert_eq!(errors.len(), 1, "{pointer}: {errors:?}");
        assert_eq!(errors[0].0, field, "{pointer}");
        assert!(
            errors[0].1.contains(message),
            "{pointer}: {:?} lacks {message:?}",
            errors[0].1
        );
    }
}

#[test]
fn an_excluded_item_needs_no_tax_rate_and_takes_none() {
    let excluded = with(
        "/items/0",
        Some(
            json!({"code_reference": "E", "name": "Excluded", "quantity": 1, "price": 5, "is_excluded": true}),
        ),
    );
    assert!(parse_value(&excluded).unwrap().items[0].taxes.is_empty());
    let taxed = with(
        "/items/0",
        Some(
            json!({"code_reference": "E", "name": "E", "quantity": 1, "price": 5, "is_excluded": true, "tax_rate": 19}),
        ),
    );
    assert_eq!(parse_value(&taxed).unwrap_err()[0].0, "items[0].tax_rate");
}

#[test]
fn every_problem_of_an_invoice_is_reported_at_once() {
    let mut document = valid();
    document["reference_code"] = json!("");
    document["customer"]["dv"] = json!("1");
    document["items"][0]["quantity"] = json!(0);
    document["items"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "no code", "quantity": 1, "price": 1, "tax_rate": 7}));
    let fields: Vec<String> = parse_value(&document)
        .unwrap_err()
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(
        fields,
        [
            "reference_code",
            "customer.dv",
            "items[0].quantity",
            "items[1].code_reference",
            "items[1].tax_rate"
        ]
    );
}

#[test]
fn more_than_500_items_are_refused() {
    let item = valid()["items"][0].clone();
    let too_many = with("/items", Some(Value::Array(vec![item; 501])));
    assert_eq!(
        parse_value(&too_many).unwrap_err()[0],
        ("items".to_owned(), "must hold 1 to 500 items".to_owned())
    );
}

#[test]
fn an_invoice_too_large_to_store_is_refused_at_its_items() {
    let item = |name: &str| {
        let mut item = valid()["items"][0].clone();
        item["name"] = json!(name);
        item["code_reference"] = json!("C".repeat(50));
        item["taxes"] = json!([{"code": "01", "rate": "19"}, {"code": "04", "rate": "8"}]);
        item.as_object_mut().unwrap().remove("tax_rate");
        item
    };
    let largest = with("/items", Some(Value::Array(vec![item(&"N".repeat(200)); 500])));
    let (field, message) = parse_value(&largest).unwrap_err().remove(0);
    assert_eq!(field, "items");
    assert!(
        message.contains("KB as stored, more than the 300 KB"),
        "{message}"
    );
    let many = with("/items", Some(Value::Array(vec![item("Widget"); 500])));
    assert!(parse_value(&many).is_ok(), "500 items of short names are stored");
}

#[test]
fn numbers_are_exact_whatever_their_json_form() {
    let document = with("/items/0/price", Some(json!(0.1)));
    assert_eq!(
        parse_value(&document).unwrap().items[0].price,
        Decimal::from_str_exact("0.1").unwrap()
    );
    let huge = r#"123456789012345678901234567890"#;
    let text = valid()
        .to_string()
        .replace(r#""price":"10000.00""#, &format!(r#""price":{huge}"#));
    let json = crate::json::parse(text.as_bytes()).unwrap();
    let mut problems = Problems::new();
    assert!(InvoiceInput::parse(&json, "", &mut problems).is_none());
    assert_eq!(problems.into_errors()[0].field, "items[0].price");
}

#[test]
fn a_batch_path_prefixes_every_field() {
    let document = with("/customer/email", Some(json!("nope")));
    let json = crate::json::parse(document.to_string().as_bytes()).unwrap();
    let mut problems = Problems::new();
    assert!(InvoiceInput::parse(&json, "invoices[7]", &mut problems).is_none());
    assert_eq!(problems.into_errors()[0].field, "invoices[7].customer.email");
}

/// `valid()` with its first item replaced by `item`.
fn with_item(item: Value) -> Value {
    with("/items/0", Some(item))
}

#[test]
fn taxes_are_factus_codes_with_one_rate_each() {
    let item = |taxes: Value| json!({"code_reference": "M", "name": "Menú", "quantity": 1, "price": 10000, "taxes": taxes});
    let both = parse_value(&with_item(item(
        json!([{"code": "01", "rate": 19}, {"code": "04", "rate": "8"}]),
    )))
    .unwrap();
    assert_eq!(
        both.items[0].taxes,
        [
            Tax {
                code: TaxCode::Iva,
                rate: Decimal::from(19)
            },
            Tax {
                code: TaxCode::Inc,
                rate: Decimal::from(8)
            }
        ]
    );
    let cases = [
        (
            json!([{"code": "02", "rate": 8}]),
            "items[0].taxes[0].code",
            "01 (IVA), 04 (INC) or 35",
        ),
        (
            json!([{"code": "04", "rate": 8}, {"code": "04", "rate": 16}]),
            "items[0].taxes[1].code",
            "one rate per tax",
        ),
        (
            json!([{"code": "01", "rate": 16}]),
            "items[0].taxes[0].rate",
            "0, 5 or 19",
        ),
        (
            json!([{"code": "04", "rate": "8.125"}]),
            "items[0].taxes[0].rate",
            "at most 2 decimal places",
        ),
        (json!([{"code": "04"}]), "items[0].taxes[0].rate", "is required"),
        (json!([]), "items[0].tax_rate", "unless the item is excluded"),
        (json!({"code": "01"}), "items[0].taxes", "must be an array"),
    ];
    for (taxes, field, message) in cases {
        let errors = parse_value(&with_item(item(taxes.clone()))).unwrap_err();
        assert_eq!(errors.len(), 1, "{taxes}: {errors:?}");
        assert_eq!(errors[0].0, field, "{taxes}");
        assert!(errors[0].1.contains(message), "{taxes}: {:?}", errors[0].1);
    }
    let mut excluded = item(json!([{"code": "01", "rate": 0}]));
    excluded["is_excluded"] = json!(true);
    assert_eq!(
        parse_value(&with_item(excluded)).unwrap_err()[0].0,
        "items[0].taxes"
    );
    let mut excluded_with_inc = item(json!([{"code": "04", "rate": 8}]));
    excluded_with_inc["is_excluded"] = json!(true);
    assert_eq!(
        parse_value(&with_item(excluded_with_inc)).unwrap().items[0]
            .taxes
            .len(),
        1
    );
}

#[test]
fn a_discount_by_amount_is_at_most_the_items_value() {
    let item = |amount: &str| json!({"code_reference": "M", "name": "M", "quantity": 2, "price": "500.00", "tax_rate": 19, "discount_amount": amount});
    assert_eq!(
        parse_value(&with_item(item("1000.00"))).unwrap().items[0].discount,
        Discount::Amount(Decimal::from(1000))
    );
    let errors = parse_value(&with_item(item("1000.01"))).unwrap_err();
    assert_eq!(errors[0].0, "items[0].discount_amount");
    assert!(errors[0].1.contains("must not exceed"));
    assert_eq!(
        parse_value(&with_item(item("-1"))).unwrap_err()[0].0,
        "items[0].discount_amount"
    );
}

#[test]
fn the_code_tables_decide_municipalities_units_and_documents() {
    assert_eq!(
        parse_value(&with("/customer/municipality_code", Some(json!("68679"))))
            .unwrap()
            .customer
            .municipality_code
            .as_deref(),
        Some("68679")
    );
    assert_eq!(
        parse_value(&with("/items/0/unit_measure", Some(json!("KGM"))))
            .unwrap()
            .items[0]
            .unit_measure,
        "KGM"
    );
    let passport = json!({"identification_type": "PPT", "identification": "AB123", "legal_organization": "person",
                          "name": "Ana", "email": "ana@x.co"});
    let input = parse_value(&with("/customer", Some(passport))).unwrap();
    assert_eq!(input.customer.identification_type.dian_code(), "48");
    assert_eq!(
        parse_value(&with("/payment_method_code", Some(json!("ZZZ"))))
            .unwrap()
            .payment_method_code,
        "ZZZ"
    );
}

use rust_decimal::Decimal;

use super::*;
use crate::domain::invoice::WithholdingCode;

const HEADER: &str = "reference_code,payment_form,customer_identification_type,customer_identification,customer_dv,customer_legal_organization,customer_name,customer_email,item_code,item_name,quantity,price,tax_rate,withholding_taxes";

fn row(reference: &str, item: &str, quantity: &str) -> String {
    format!(
        "{reference},cash,NIT,900123456,8,company,ACME SAS,ap@acme.co,{item},Widget,{quantity},1000.00,19,"
    )
}

fn csv(rows: &[String]) -> Vec<u8> {
    format!("{HEADER}\n{}\n", rows.join("\n")).into_bytes()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str_exact(text).unwrap()
}

#[test]
fn rows_of_one_reference_code_form_one_invoice_adjacent_or_not() {
    let parsed = parse_csv(
        &csv(&[
            row("FV-1", "A", "1"),
            row("FV-2", "B", "2"),
            row("FV-1", "C", "3"),
        ]),
        None,
    )
    .unwrap();
    assert!(parsed.invalid.is_empty(), "{:?}", parsed.invalid);
    let references: Vec<&str> = parsed
        .valid
        .iter()
        .map(|(_, i)| i.reference_code.as_str())
        .collect();
    assert_eq!(references, ["FV-1", "FV-2"]);
    let items: Vec<&str> = parsed.valid[0]
        .1
        .items
        .iter()
        .map(|i| i.code_reference.as_str())
        .collect();
    assert_eq!(items, ["A", "C"]);
    assert_eq!(parsed.valid[0].0, Position::Line(2));
    assert_eq!(parsed.valid[1].0, Position::Line(3));
}

#[test]
fn a_bom_crlf_and_quoted_commas_and_newlines_are_read() {
    let text = format!(
        "\u{feff}{HEADER}\r\nFV-1,cash,NIT,900123456,8,company,\"ACME, SAS\",ap@acme.co,A,\"Widget\nlarge\",1,10,19,\r\nFV-2,cash,NIT,900123456,8,company,ACME,ap@acme.co,B,Widget,1,10,19,\r\n"
    );
    let parsed = parse_csv(text.as_bytes(), None).unwrap();
    assert!(parsed.invalid.is_empty(), "{:?}", parsed.invalid);
    assert_eq!(parsed.valid[0].1.customer.name, "ACME, SAS");
    assert_eq!(parsed.valid[0].1.items[0].name, "Widget\nlarge");
    // A quoted field spanning lines is one record: the next invoice is record 3.
    assert_eq!(parsed.valid[1].0, Position::Line(3));
}

#[test]
fn semicolons_bring_decimal_commas() {
    let header = HEADER.replace(',', ";");
    let text = format!(
        "{header}\nFV-1;cash;NIT;900123456;8;company;ACME SAS;ap@acme.co;A;Widget;2,5;1.234,56;19;06:2,5|07:0,97\n"
    );
    let parsed = parse_csv(text.as_bytes(), None).unwrap();
    assert!(parsed.invalid.is_empty(), "{:?}", parsed.invalid);
    let item = &parsed.valid[0].1.items[0];
    assert_eq!((item.quantity, item.price), (d("2.5"), d("1234.56")));
    assert_eq!(item.withholding_taxes[1].code, WithholdingCode::ReteIca);
    assert_eq!(item.withholding_taxes[1].rate, d("0.97"));
}

#[test]
fn a_semicolon_file_s_points_group_thousands_as_excel_in_colombia_writes_them() {
    let header = HEADER.replace(',', ";");
    let text = format!(
        "{header}\nFV-1;cash;NIT;900123456;8;company;ACME SAS;ap@acme.co;A;Widget;1;45.000;19;\n\
         FV-2;cash;NIT;900123456;8;company;ACME SAS;ap@acme.co;A;Widget;1;1.234.567,50;19;\n"
    );
    let parsed = parse_csv(text.as_bytes(), None).unwrap();
    assert!(parsed.invalid.is_empty(), "{:?}", parsed.invalid);
    assert_eq!(parsed.valid[0].1.items[0].price, d("45000"));
    assert_eq!(parsed.valid[1].1.items[0].price, d("1234567.50"));
}

#[test]
fn an_amount_two_readings_could_take_is_refused_at_its_line_and_column() {
    let header = HEADER.replace(',', ";");
    let text = format!(
        "{header}\nFV-1;cash;NIT;900123456;8;company;ACME SAS;ap@acme.co;A;Widget;1;19.5;19;\n\
         FV-2;cash;NIT;900123456;8;company;ACME SAS;ap@acme.co;A;Widget;1;1.234;19;\n"
    );
    let parsed = parse_csv(text.as_bytes(), None).unwrap();
    assert_eq!(parsed.valid.len(), 1, "the unambiguous row stands");
    let error = &parsed.invalid.recorded()[0].errors[0];
    assert_eq!((error.field.as_str(), error.line), ("price", Some(3)));
    assert!(
        error.message.contains("line 2, column price"),
        "{}",
        error.message
    );
}

#[test]
fn windows_1252_is_honoured_and_non_utf8_without_it_is_refused() {
    let mut body = csv(&[row("FV-1", "A", "1")]);
    let name = body.windows(8).position(|w| w == b"ACME SAS").unwrap();
    body.splice(name..name + 8, b"Ferreter\xeda".iter().copied());
    let parsed = parse_csv(&body, Some("windows-1252")).unwrap();
    assert_eq!(parsed.valid[0].1.customer.name, "Ferretería");
    let refused = parse_csv(&body, None).unwrap_err();
    assert!(
        matches!(refused, Refused::Unreadable { ref message, .. } if message.contains("not UTF-8")),
        "{refused:?}"
    );
    assert!(matches!(
        parse_csv(&body, Some("shift_jis")),
        Err(Refused::Unreadable { .. })
    ));
}

#[test]
fn a_header_missing_a_column_or_with_an_unknown_one_is_refused() {
    let missing = HEADER.replace("customer_email,", "");
    let text = format!("{missing}\n");
    let Err(Refused::Unreadable { details, .. }) = parse_csv(text.as_bytes(), None) else {
        panic!()
    };
    assert_eq!(
        details,
        [FieldError::new(
            "customer_email",
            "is a required column and the header lacks it"
        )]
    );
    let unknown = format!("{HEADER},colour\n");
    let Err(Refused::Unreadable { details, .. }) = parse_csv(unknown.as_bytes(), None) else {
        panic!()
    };
    assert_eq!(details[0].field, "colour");
}

#[test]
fn rows_of_one_invoice_must_agree_on_its_columns() {
    let other = row("FV-1", "B", "1").replace("cash", "credit");
    let parsed = parse_csv(&csv(&[row("FV-1", "A", "1"), other]), None).unwrap();
    assert!(parsed.valid.is_empty());
    let error = &parsed.invalid.recorded()[0].errors[0];
    assert_eq!((error.field.as_str(), error.line), ("payment_form", Some(3)));
    assert!(error.message.contains("line 2"), "{}", error.message);
}

#[test]
fn problems_name_their_line_and_column() {
    let parsed = parse_csv(
        &csv(&[
            row("FV-1", "A", "1"),
            row("FV-2", "B", "1"),
            row("FV-1", "C", "0"),
        ]),
        None,
    )
    .unwrap();
    assert_eq!(parsed.valid.len(), 1);
    let entry = &parsed.invalid.recorded()[0];
    assert_eq!(
        (entry.line, entry.reference_code.as_deref()),
        (Some(2), Some("FV-1"))
    );
    let error = &entry.errors[0];
    assert_eq!((error.field.as_str(), error.line), ("quantity", Some(4)));
    let bad_dv = row("FV-3", "A", "1").replace(",8,", ",7,");
    let parsed = parse_csv(&csv(&[bad_dv]), None).unwrap();
    let error = &parsed.invalid.recorded()[0].errors[0];
    assert_eq!((error.field.as_str(), error.line), ("customer_dv", Some(2)));
}

#[test]
fn empty_files_header_only_and_short_records_are_told_apart() {
    assert!(matches!(parse_csv(b"", None), Err(Refused::Unreadable { .. })));
    assert!(matches!(
        parse_csv(b"\r\n", None),
        Err(Refused::Unreadable { .. })
    ));
    assert!(matches!(
        parse_csv(format!("{HEADER}\n").as_bytes(), None),
        Err(Refused::NotABatch(_))
    ));
    let parsed = parse_csv(&csv(&["FV-1,cash".to_owned(), row("FV-2", "A", "1")]), None).unwrap();
    assert_eq!(parsed.valid.len(), 1);
    assert_eq!(parsed.invalid.recorded()[0].errors[0].field, "record");
    assert_eq!(parsed.invalid.recorded()[0].line, Some(2));
}

#[test]
fn a_formula_looking_cell_is_kept_as_written() {
    let formula = row("FV-1", "A", "1").replace("Widget", "\"=HYPERLINK(\"\"http://x\"\")\"");
    let parsed = parse_csv(&csv(&[formula]), None).unwrap();
    assert_eq!(parsed.valid[0].1.items[0].name, "=HYPERLINK(\"http://x\")");
}

#[test]
fn withholding_pairs_are_read_and_malformed_ones_named() {
    let with = row("FV-1", "A", "1").replace(",19,", ",19,06:2.5|05:15");
    let parsed = parse_csv(&csv(&[with]), None).unwrap();
    assert_eq!(parsed.valid[0].1.items[0].withholding_taxes.len(), 2);
    let malformed = row("FV-2", "A", "1").replace(",19,", ",19,06-2.5");
    let parsed = parse_csv(&csv(&[malformed]), None).unwrap();
    assert_eq!(parsed.invalid.recorded()[0].errors[0].field, "withholding_taxes");
}

#[test]
fn more_than_10000_invoices_are_refused() {
    let rows: Vec<String> = (0..=MAX_INVOICES)
        .map(|i| row(&format!("FV-{i}"), "A", "1"))
        .collect();
    assert_eq!(
        parse_csv(&csv(&rows), None).unwrap_err(),
        Refused::TooMany(MAX_INVOICES + 1)
    );
}

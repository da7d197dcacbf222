use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;

/// `cell` read in a file separated by `delimiter` whose other number cells are `others`.
fn read_among(delimiter: u8, others: &[&str], cell: &str) -> Result<String, String> {
    let mut numbers = Numbers::new(delimiter);
    for (line, other) in others.iter().enumerate() {
        numbers.observe(other, line as u64 + 2, "price");
    }
    numbers.observe(cell, others.len() as u64 + 2, "price");
    numbers.read(cell)
}

#[test]
fn the_spellings_real_exports_use_read_as_written() {
    // (who writes it, delimiter, the file's other number cells, the cell as the CSV reader gives it,
    // what it reads as)
    let cases: &[(&str, u8, &[&str], &str, &str)] = &[
        ("Excel es-CO", b';', &[], "45.000", "45000"),
        ("Excel es-CO", b';', &[], "45000", "45000"),
        ("Excel es-CO", b';', &[], "1.234.567,50", "1234567.50"),
        ("Excel es-CO", b';', &["45.000"], "2,5", "2.5"),
        ("Excel es-CO", b';', &[], "0,97", "0.97"),
        ("Excel es-CO", b';', &[], "1,234", "1.234"),
        ("Excel es-CO currency", b';', &[], "$ 45.000,00", "45000.00"),
        ("Excel es-CO negative", b';', &[], "-1.500,5", "-1500.5"),
        ("Excel en-US", b',', &[], "45000.50", "45000.50"),
        ("Excel en-US quoted", b',', &[], "45,000.00", "45000.00"),
        ("Excel en-US quoted", b',', &["19.5"], "1,500", "1500"),
        ("Excel en-US currency", b',', &[], "$45,000.00", "45000.00"),
        ("Excel en-US", b',', &[], "0.500", "0.500"),
        ("Excel en-US", b',', &[], "1.234", "1.234"),
        ("LibreOffice es-CO", b',', &[], "45.000,50", "45000.50"),
        ("LibreOffice es-CO", b',', &["45.000,50"], "2,5", "2.5"),
        ("LibreOffice es-CO", b';', &["1.234,5"], "1.234.567", "1234567"),
        ("Google Sheets es-CO", b',', &[], "1.234,50", "1234.50"),
        ("Google Sheets en-US", b',', &[], "1,234.50", "1234.50"),
        ("a decimal point in a ; file", b';', &["2"], "19.5", "19.5"),
        ("not a number", b';', &[], "abc", "abc"),
        ("not a number", b',', &[], "1e5", "1e5"),
    ];
    for (who, delimiter, others, cell, expected) in cases {
        assert_eq!(
            read_among(*delimiter, others, cell).as_deref(),
            Ok(*expected),
            "{who}: {cell:?}"
        );
    }
}

#[test]
fn a_value_two_readings_could_take_is_refused_naming_where_the_other_mark_is() {
    // `1.234` in a `;` file whose other cells use decimal points.
    let error = read_among(b';', &["2", "19.5"], "1.234").unwrap_err();
    assert!(
        error.contains("reads two ways") && error.contains("line 3"),
        "{error}"
    );
    // `45.000` in a `,` file whose other cells use decimal commas.
    let error = read_among(b',', &["45,50"], "45.000").unwrap_err();
    assert!(
        error.contains("reads two ways") && error.contains("','"),
        "{error}"
    );
    assert!(read_among(b',', &["45,50"], "1,500").is_err());
}

#[test]
fn a_file_mixing_decimal_marks_is_refused_at_the_cells_against_its_rule() {
    let error = read_among(b';', &["45,50"], "19.5").unwrap_err();
    assert!(
        error.contains("one decimal mark") && error.contains("line 2"),
        "{error}"
    );
    // The cell that follows the delimiter's rule is not the one blamed.
    assert_eq!(read_among(b';', &["19.5"], "45,50").as_deref(), Ok("45.50"));
    let error = read_among(b',', &["1.5"], "45,50").unwrap_err();
    assert!(error.contains("one decimal mark"), "{error}");
}

#[test]
fn a_repeated_mark_groups_thousands_and_says_which_mark_is_the_decimal_one() {
    // `1,234,567` in a `;` file: commas group, so `1,500` could be fifteen hundred.
    let error = read_among(b';', &["1,234,567"], "1,500").unwrap_err();
    assert!(error.contains("reads two ways"), "{error}");
    // `.` groups in one cell and is a decimal point in another.
    let error = read_among(b';', &["19.5"], "1.234.567").unwrap_err();
    assert!(error.contains("groups thousands"), "{error}");
    assert_eq!(read_among(b';', &["45,5"], "1.234.567").as_deref(), Ok("1234567"));
}

#[test]
fn marks_no_reading_makes_a_number_are_refused() {
    for cell in ["1.23,4", "4,5,6", "1.2.3", "12,34.5", "1.", "1,,5", "0.000.000"] {
        assert!(read_among(b';', &[], cell).is_err(), "{cell}");
        assert!(read_among(b',', &[], cell).is_err(), "{cell}");
    }
}

/// An amount as a spreadsheet writes it with `decimal` as the mark, thousands grouped or not.
fn written(amount: Decimal, decimal: char, group: bool) -> String {
    let text = amount.to_string();
    let (integer, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let separator = if decimal == ',' { '.' } else { ',' };
    let mut integer_text = String::new();
    for (at, digit) in integer.chars().enumerate() {
        if group && at > 0 && (integer.len() - at) % 3 == 0 {
            integer_text.push(separator);
        }
        integer_text.push(digit);
    }
    if fraction.is_empty() {
        integer_text
    } else {
        format!("{integer_text}{decimal}{fraction}")
    }
}

proptest! {
    /// Any column of amounts written in either dialect, grouped or not, reads back to itself.
    #[test]
    fn any_amount_written_in_either_dialect_reads_back_to_itself(
        amounts in prop::collection::vec((0u64..10_000_000_000, 0u32..7, any::<bool>()), 1..20),
        semicolons in any::<bool>(),
    ) {
        let (delimiter, decimal) = if semicolons { (b';', ',') } else { (b',', '.') };
        let column: Vec<(Decimal, String)> = amounts
            .iter()
            .map(|(units, scale, group)| {
                let amount = Decimal::from_i128_with_scale(i128::from(*units), *scale);
                (amount, written(amount, decimal, *group))
            })
            .collect();
        let mut numbers = Numbers::new(delimiter);
        for (line, (_, cell)) in column.iter().enumerate() {
            numbers.observe(cell, line as u64 + 2, "price");
        }
        for (amount, cell) in &column {
            let read = numbers.read(cell).map_err(TestCaseError::fail)?;
            prop_assert_eq!(Decimal::from_str_exact(&read).ok(), Some(*amount), "{:?}", cell);
        }
    }
}

//! The CUFE (and the credit notes' CUDE) as DIAN's Anexo Técnico defines it: the lowercase hex
//! SHA-384 of the document's number, issue date and time, value before taxes, `01`+IVA, `04`+INC,
//! `03`+ICA, payable total, issuer NIT, buyer identification, technical key (the software PIN
//! for a CUDE) and environment, concatenated with every amount at two decimals.

use aws_lc_rs::digest::{SHA384, digest};
use rust_decimal::Decimal;

use crate::totals::money;

/// What a CUFE covers, in the formula's order.
#[derive(Clone, Debug)]
pub struct CufeFields<'a> {
    /// Prefix and consecutive, e.g. `SETP990000001`.
    pub number: &'a str,
    /// `YYYY-MM-DD`.
    pub issue_date: &'a str,
    /// `HH:MM:SS-05:00`.
    pub issue_time: &'a str,
    /// The sum of the lines before taxes (`LineExtensionAmount`).
    pub value_before_taxes: Decimal,
    /// Tax `01`.
    pub iva: Decimal,
    /// Tax `04`.
    pub inc: Decimal,
    /// Tax `03`.
    pub ica: Decimal,
    /// What the buyer pays (`PayableAmount`).
    pub payable: Decimal,
    /// Without its check digit.
    pub issuer_nit: &'a str,
    pub buyer_identification: &'a str,
    /// The numbering range's technical key for a CUFE; the software PIN for a CUDE.
    pub technical_key: &'a str,
    /// `1` production, `2` testing.
    pub environment: &'a str,
}

/// The CUFE (or CUDE) of `fields`: 96 lowercase hex digits.
pub fn cufe(fields: &CufeFields) -> String {
    let text = format!(
        "{}{}{}{}01{}04{}03{}{}{}{}{}{}",
        fields.number,
        fields.issue_date,
        fields.issue_time,
        money(fields.value_before_taxes),
        money(fields.iva),
        money(fields.inc),
        money(fields.ica),
        money(fields.payable),
        fields.issuer_nit,
        fields.buyer_identification,
        fields.technical_key,
        fields.environment,
    );
    sha384_hex(&text)
}

/// The lowercase hex SHA-384 of `text`, as DIAN's unique codes (CUFE, CUDE) write it.
pub fn sha384_hex(text: &str) -> String {
    digest(&SHA384, text.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dians_published_example_gives_its_cufe() {
        let fields = CufeFields {
            number: "323200000129",
            issue_date: "2019-01-16",
            issue_time: "10:53:10-05:00",
            value_before_taxes: Decimal::new(150_000_000, 2),
            iva: Decimal::new(28_500_000, 2),
            inc: Decimal::ZERO,
            ica: Decimal::ZERO,
            payable: Decimal::new(178_500_000, 2),
            issuer_nit: "700085371",
            buyer_identification: "800199436",
            technical_key: "693ff6f2a553c3646a063436fd4dd9ded0311471",
            environment: "1",
        };
        assert_eq!(
            cufe(&fields),
            "8bb918b19ba22a694f1da11c643b5e9de39adf60311cf179179e9b33381030bcd4c3c3f156c506ed5908f9276f5bd9b4"
        );
    }
}

//! The CUFE (código único de factura electrónica), as DIAN defines it: SHA-384 over the
//! concatenation of the invoice's number, issue date and time, value before taxes, each tax's
//! code and amount (01 IVA, 04 INC, 03 ICA), payable total, the issuer's NIT, the buyer's
//! identification, the numbering range's technical key and the environment (1 production,
//! 2 testing). Amounts are written with two decimals.

use aws_lc_rs::digest;
use rust_decimal::Decimal;

use super::money::money;

/// The fields the CUFE covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CufeFields<'a> {
    pub number: &'a str,
    /// `YYYY-MM-DD`.
    pub issue_date: &'a str,
    /// `HH:MM:SS-05:00`.
    pub issue_time: &'a str,
    pub value_before_taxes: Decimal,
    pub iva: Decimal,
    pub inc: Decimal,
    pub ica: Decimal,
    pub payable: Decimal,
    pub issuer_nit: &'a str,
    pub buyer_identification: &'a str,
    pub technical_key: &'a str,
    /// `1` production, `2` testing.
    pub environment: &'a str,
}

/// The CUFE of an invoice, lower-case hex.
pub fn cufe(fields: &CufeFields<'_>) -> String {
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
    digest::digest(&digest::SHA384, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_of_dians_technical_annex() {
        let example = CufeFields {
            number: "323200000129",
            issue_date: "2019-01-16",
            issue_time: "10:53:10-05:00",
            value_before_taxes: Decimal::from(1_500_000),
            iva: Decimal::from(285_000),
            inc: Decimal::ZERO,
            ica: Decimal::ZERO,
            payable: Decimal::from(1_785_000),
            issuer_nit: "700085371",
            buyer_identification: "800199436",
            technical_key: "693ff6f2a553c3646a063436fd4dd9ded0311471",
            environment: "1",
        };
        assert_eq!(
            cufe(&example),
            "8bb918b19ba22a694f1da11c643b5e9de39adf60311cf179179e9b33381030bcd4c3c3f156c506ed5908f9276f5bd9b4"
        );
    }
}

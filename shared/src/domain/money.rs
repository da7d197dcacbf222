//! Exact decimal numbers: read from the text a client sent (never through a float), bounded in
//! size and decimal places, rounded half-up to the cent, and written back.

use rust_decimal::{Decimal, RoundingStrategy};

/// Reads a decimal from its exact text (`"2.50"`, `"1e3"`), with at most `max_decimals`
/// significant decimal places and an absolute value below `10^max_integer_digits`.
pub fn parse_decimal(text: &str, max_decimals: u32, max_integer_digits: u32) -> Result<Decimal, String> {
    let text = text.trim();
    let too_large = || format!("must have at most {max_integer_digits} digits before the decimal point");
    if text.is_empty() {
        return Err("must be a number".to_owned());
    }
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str_exact(text)
    };
    let value = match parsed {
        Ok(value) => value.normalize(),
        Err(
            rust_decimal::Error::ExceedsMaximumPossibleValue
            | rust_decimal::Error::LessThanMinimumPossibleValue,
        ) => {
            return Err(too_large());
        }
        Err(_) if well_formed(text) => return Err(too_large()),
        Err(_) => return Err("must be a number".to_owned()),
    };
    if value.scale() > max_decimals {
        return Err(format!("must have at most {max_decimals} decimal places"));
    }
    if value.abs() >= Decimal::from(10u64.pow(max_integer_digits)) {
        return Err(too_large());
    }
    // `-0` is zero.
    Ok(if value.is_zero() { Decimal::ZERO } else { value })
}

/// Whether `text` is shaped like a decimal number: `[+-]digits[.digits][e[+-]digits]`.
fn well_formed(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (
            mantissa,
            Some(exponent.strip_prefix(['+', '-']).unwrap_or(exponent)),
        ),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    !whole.is_empty()
        && all_digits(whole)
        && all_digits(fraction)
        && exponent.is_none_or(|e| !e.is_empty() && all_digits(e))
}

/// Rounds half away from zero ("half-up" for amounts) to two decimals.
pub fn round_cents(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Money as the API writes it: a string with exactly two decimals.
pub fn money(value: Decimal) -> String {
    format!("{:.2}", round_cents(value))
}

/// A quantity or rate as the API writes it: exact, without trailing zeros.
pub fn plain(value: Decimal) -> String {
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    #[test]
    fn numbers_are_read_exactly() {
        assert_eq!(parse_decimal("0.1", 2, 12), Ok(d("0.1")));
        assert_eq!(parse_decimal("10000.00", 2, 12), Ok(d("10000")));
        assert_eq!(
            parse_decimal("2.500", 2, 12),
            Ok(d("2.5")),
            "trailing zeros are not decimals"
        );
        assert_eq!(parse_decimal("1e3", 2, 12), Ok(d("1000")));
        assert_eq!(parse_decimal("-0", 2, 12), Ok(Decimal::ZERO));
        assert_eq!(parse_decimal("1.000001", 6, 9), Ok(d("1.000001")));
    }

    #[test]
    fn bad_numbers_say_what_is_wrong() {
        assert_eq!(
            parse_decimal("1.001", 2, 12).unwrap_err(),
            "must have at most 2 decimal places"
        );
        assert_eq!(
            parse_decimal("1e400", 2, 12).unwrap_err(),
            "must have at most 12 digits before the decimal point"
        );
        assert_eq!(
            parse_decimal("123456789012345678901234567890", 2, 12).unwrap_err(),
            "must have at most 12 digits before the decimal point"
        );
        assert_eq!(
            parse_decimal("1000000000000", 2, 12).unwrap_err(),
            "must have at most 12 digits before the decimal point"
        );
        for text in ["", "abc", "1,5", "NaN", "inf", "0x10", "1.2.3"] {
            assert_eq!(
                parse_decimal(text, 2, 12).unwrap_err(),
                "must be a number",
                "{text:?}"
            );
        }
    }

    #[test]
    fn cents_round_half_up() {
        assert_eq!(round_cents(d("2.345")), d("2.35"));
        assert_eq!(round_cents(d("2.344999")), d("2.34"));
        assert_eq!(round_cents(d("-2.345")), d("-2.35"));
        assert_eq!(money(d("1900")), "1900.00");
        assert_eq!(money(d("0.005")), "0.01");
        assert_eq!(plain(d("19.00")), "19");
        assert_eq!(plain(d("2.50")), "2.5");
    }
}

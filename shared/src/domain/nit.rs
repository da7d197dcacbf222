//! Colombian tax identification numbers (NIT) and DIAN's modulo-11 check digit (DV).

/// DIAN's weights, applied from the rightmost digit of the number.
const WEIGHTS: [u32; 15] = [3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71];

/// The check digit DIAN computes for `number` (digits only, at most 15 of them).
pub fn check_digit(number: &str) -> Option<u8> {
    if number.is_empty() || number.len() > WEIGHTS.len() {
        return None;
    }
    let mut sum = 0u32;
    for (digit, weight) in number.bytes().rev().zip(WEIGHTS) {
        let value = char::from(digit).to_digit(10)?;
        sum += value * weight;
    }
    let remainder = sum % 11;
    let digit = if remainder > 1 { 11 - remainder } else { remainder };
    u8::try_from(digit).ok()
}

/// A NIT whose check digit matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nit {
    number: String,
    dv: u8,
}

/// What is wrong with a NIT, and in which of its two fields.
#[derive(Debug, PartialEq, Eq)]
pub enum NitError {
    Number(&'static str),
    CheckDigit(&'static str),
}

impl Nit {
    /// `number`: 5 to 15 digits; `dv`: the one digit DIAN's modulo 11 gives for it.
    pub fn parse(number: &str, dv: &str) -> Result<Self, NitError> {
        let number = number.trim();
        if !(5..=15).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NitError::Number("must be 5 to 15 digits"));
        }
        let dv = dv.trim();
        let given = match dv.as_bytes() {
            [digit] if digit.is_ascii_digit() => digit - b'0',
            _ => return Err(NitError::CheckDigit("must be one digit")),
        };
        match check_digit(number) {
            Some(expected) if expected == given => Ok(Self {
                number: number.to_owned(),
                dv: given,
            }),
            _ => Err(NitError::CheckDigit("does not match the NIT (DIAN modulo 11)")),
        }
    }

    pub fn number(&self) -> &str {
        &self.number
    }

    pub fn dv(&self) -> u8 {
        self.dv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_published_nits() {
        // DIAN's own NIT is 800.197.268-4; Bancolombia's 890.903.938-8; Ecopetrol's 899.999.068-1.
        assert_eq!(check_digit("800197268"), Some(4));
        assert_eq!(check_digit("890903938"), Some(8));
        assert_eq!(check_digit("899999068"), Some(1));
        assert_eq!(check_digit("12a"), None);
        assert_eq!(check_digit(""), None);
    }

    #[test]
    fn a_nit_parses_only_with_its_check_digit() {
        let nit = Nit::parse(" 800197268 ", "4").unwrap();
        assert_eq!((nit.number(), nit.dv()), ("800197268", 4));
        assert_eq!(
            Nit::parse("800197268", "5"),
            Err(NitError::CheckDigit("does not match the NIT (DIAN modulo 11)"))
        );
        assert_eq!(
            Nit::parse("800197268", "45"),
            Err(NitError::CheckDigit("must be one digit"))
        );
        assert_eq!(
            Nit::parse("80019-7268", "4"),
            Err(NitError::Number("must be 5 to 15 digits"))
        );
        assert_eq!(
            Nit::parse("1234", "1"),
            Err(NitError::Number("must be 5 to 15 digits"))
        );
    }
}

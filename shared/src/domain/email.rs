//! An email address, normalised to lower case: emails are unique across the service without
//! regard to case.

use std::fmt;

/// The longest address SMTP allows.
const MAX_LENGTH: usize = 254;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if text.is_empty() {
            return Err("must not be empty");
        }
        if text.chars().count() > MAX_LENGTH {
            return Err("must be at most 254 characters");
        }
        let Some((local, domain)) = text.split_once('@') else {
            return Err("must be an email address");
        };
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && text.chars().all(|c| !c.is_whitespace() && !c.is_control());
        if !well_formed {
            return Err("must be an email address");
        }
        Ok(Self(text.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ana.Gomez@Example.CO ").unwrap().as_str(),
            "ana.gomez@example.co"
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "plain",
            "@example.co",
            "a@",
            "a@b",
            "a@.co",
            "a@co.",
            "a@b..co",
            "a b@c.co",
            "a@b@c.co",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.co", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}

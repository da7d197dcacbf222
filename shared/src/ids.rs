//! Identifiers: ULIDs, time-ordered, so that sort keys built from them list in creation order.

/// A new identifier.
pub fn new_id() -> String {
    ulid::Ulid::generate().to_string()
}

/// Whether `text` is an identifier this service could have made, in its canonical spelling
/// (26 upper-case Crockford base-32 digits, within the ULID range).
pub fn is_id(text: &str) -> bool {
    ulid::Ulid::from_string(text).is_ok_and(|id| id.to_string() == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_recognised() {
        assert!(is_id(&new_id()));
        for other in [
            "",
            "abc",
            "../../etc/passwd",
            "01HXZ8K9Q2V3W4X5Y6Z7A8B9C!",
            &"Z".repeat(26),
        ] {
            assert!(!is_id(other), "{other}");
        }
    }
}

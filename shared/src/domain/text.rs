//! Free text with bounds: trimmed, not empty, at most N characters, no control characters but
//! line breaks and tabs (spreadsheet cells hold multi-line descriptions).

/// Trims `text` and checks it holds 1 to `max` characters and no control characters.
pub fn bounded(text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".to_owned());
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(bounded("  ACME SAS ", 10).unwrap(), "ACME SAS");
        assert_eq!(bounded(" ", 10).unwrap_err(), "must not be empty");
        assert_eq!(bounded("ñandú", 5).unwrap(), "ñandú");
        assert_eq!(bounded("ñandús", 5).unwrap_err(), "must be at most 5 characters");
        assert_eq!(
            bounded("a\u{0}b", 5).unwrap_err(),
            "must not contain control characters"
        );
    }
}

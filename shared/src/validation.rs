//! Field errors with their paths, collected so that a client learns every problem at once.

use serde::Serialize;

/// One problem with one field, e.g. `items[2].quantity`: `must be greater than 0`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects field errors while an input is parsed.
#[derive(Debug, Default)]
pub struct Problems {
    errors: Vec<FieldError>,
}

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// `Ok(value)` when nothing was reported, else every error reported.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

/// The path of a field inside its parent: `customer` + `dv` = `customer.dv`.
pub fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of an array element: `items` + 2 = `items[2]`.
pub fn element(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_the_document() {
        assert_eq!(child("", "customer"), "customer");
        assert_eq!(child("customer", "dv"), "customer.dv");
        assert_eq!(child(&element("items", 2), "quantity"), "items[2].quantity");
    }

    #[test]
    fn problems_keep_every_error_in_order() {
        let mut problems = Problems::new();
        assert!(problems.is_empty());
        problems.add("a", "is required");
        problems.add("b", "is too long");
        assert_eq!(problems.len(), 2);
        let errors = problems.finish(()).unwrap_err();
        assert_eq!(errors[0], FieldError::new("a", "is required"));
        assert_eq!(errors[1].field, "b");
    }
}

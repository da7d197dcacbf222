//! JSON read without loss, and read field by field with every problem reported.
//!
//! `serde_json` turns numbers into `f64`/`i64` on the way, which would make `0.1`, `1e400` or a
//! 30-digit amount inexact before our decimal code sees them. [`parse`] keeps each number's
//! literal text instead (through `RawValue`, so `serde_json` still does the syntax checking), and
//! [`Object`] reads fields with their paths so that missing fields, wrong types and unknown
//! fields are all reported together instead of stopping at the first.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::validation::{Problems, child, element};

/// Nesting deeper than this is refused: no document of the API comes close.
pub const MAX_DEPTH: usize = 32;

/// A JSON value whose numbers are kept as their literal text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number exactly as written, e.g. `1e400` or `-0`; always a valid JSON number literal.
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

/// Why a body is not readable JSON; the message is safe to show to the client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct SyntaxError(pub String);

/// Parses a document, keeping numbers exact.
pub fn parse(body: &[u8]) -> Result<Json, SyntaxError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| SyntaxError(format!("the body is not UTF-8 (byte {})", e.valid_up_to())))?;
    if nesting_depth(text) > MAX_DEPTH {
        return Err(SyntaxError(format!(
            "the body nests deeper than {MAX_DEPTH} levels"
        )));
    }
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| SyntaxError(describe(&e)))?;
    build(raw)
}

/// How deep arrays and objects nest in `text`, in one pass: [`build`] reads each level again,
/// so a deep document is refused before that.
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for byte in text.bytes() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'[' | b'{' if !in_string => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    // serde_json appends " at line L column C"; keep it, it helps the client find the problem.
    format!("the body is not valid JSON: {text}")
}

fn build(raw: &RawValue) -> Result<Json, SyntaxError> {
    let text = raw.get();
    let parse_err = |e: serde_json::Error| SyntaxError(describe(&e));
    match text.as_bytes().first() {
        Some(b'{') => {
            let members: BTreeMap<String, &RawValue> = serde_json::from_str(text).map_err(parse_err)?;
            members
                .into_iter()
                .map(|(key, value)| Ok((key, build(value)?)))
                .collect::<Result<_, _>>()
                .map(Json::Object)
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(parse_err)?;
            items
                .into_iter()
                .map(build)
                .collect::<Result<_, _>>()
                .map(Json::Array)
        }
        Some(b'"') => serde_json::from_str(text).map(Json::String).map_err(parse_err),
        Some(b't') => Ok(Json::Bool(true)),
        Some(b'f') => Ok(Json::Bool(false)),
        Some(b'n') => Ok(Json::Null),
        _ => Ok(Json::Number(text.to_owned())),
    }
}

impl Json {
    /// The JSON type's name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// Reads the fields of one JSON object, recording what was asked for so that [`Object::finish`]
/// can report the fields nobody knows.
pub struct Object<'a> {
    path: String,
    members: &'a BTreeMap<String, Json>,
    known: Vec<&'static str>,
}

impl<'a> Object<'a> {
    /// Starts reading `value` at `path` (`""` for the document itself); reports a non-object.
    pub fn read(value: &'a Json, path: &str, problems: &mut Problems) -> Option<Self> {
        match value {
            Json::Object(members) => Some(Self {
                path: path.to_owned(),
                members,
                known: Vec::new(),
            }),
            other => {
                let at = if path.is_empty() { "body" } else { path };
                problems.add(at, format!("must be an object, not {}", other.kind()));
                None
            }
        }
    }

    /// The path of one of this object's fields.
    pub fn path_of(&self, key: &str) -> String {
        child(&self.path, key)
    }

    /// A field that may be absent; `null` counts as absent.
    pub fn optional(&mut self, key: &'static str) -> Option<&'a Json> {
        self.known.push(key);
        match self.members.get(key) {
            None | Some(Json::Null) => None,
            Some(value) => Some(value),
        }
    }

    /// A field that must be present and not `null`.
    pub fn required(&mut self, key: &'static str, problems: &mut Problems) -> Option<&'a Json> {
        let value = self.optional(key);
        if value.is_none() {
            problems.add(self.path_of(key), "is required");
        }
        value
    }

    /// A required string field.
    pub fn required_str(&mut self, key: &'static str, problems: &mut Problems) -> Option<&'a str> {
        let value = self.required(key, problems)?;
        as_str(value, &self.path_of(key), problems)
    }

    /// An optional string field.
    pub fn optional_str(&mut self, key: &'static str, problems: &mut Problems) -> Option<&'a str> {
        let value = self.optional(key)?;
        as_str(value, &self.path_of(key), problems)
    }

    /// A required string field turned into a domain value by `parse`; its error is reported at
    /// the field's path.
    pub fn parsed<T, E: std::fmt::Display>(
        &mut self,
        key: &'static str,
        problems: &mut Problems,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let text = self.required_str(key, problems)?;
        match parse(text) {
            Ok(value) => Some(value),
            Err(error) => {
                problems.add(self.path_of(key), error.to_string());
                None
            }
        }
    }

    /// Reports every field that was never asked for.
    pub fn finish(self, problems: &mut Problems) {
        for key in self.members.keys() {
            if !self.known.contains(&key.as_str()) {
                problems.add(child(&self.path, key), "is not a known field");
            }
        }
    }
}

/// The string inside `value`, or a problem at `path`.
pub fn as_str<'a>(value: &'a Json, path: &str, problems: &mut Problems) -> Option<&'a str> {
    match value {
        Json::String(text) => Some(text),
        other => {
            problems.add(path, format!("must be a string, not {}", other.kind()));
            None
        }
    }
}

/// The boolean inside `value`, or a problem at `path`.
pub fn as_bool(value: &Json, path: &str, problems: &mut Problems) -> Option<bool> {
    match value {
        Json::Bool(flag) => Some(*flag),
        other => {
            problems.add(path, format!("must be a boolean, not {}", other.kind()));
            None
        }
    }
}

/// The text of a number, given as a JSON number or as a string, exactly as written.
pub fn as_number_text<'a>(value: &'a Json, path: &str, problems: &mut Problems) -> Option<&'a str> {
    match value {
        Json::Number(text) | Json::String(text) => Some(text),
        other => {
            problems.add(
                path,
                format!("must be a number or a numeric string, not {}", other.kind()),
            );
            None
        }
    }
}

/// The elements of an array with their paths, or a problem at `path`.
pub fn as_array<'a>(value: &'a Json, path: &str, problems: &mut Problems) -> Option<Vec<(String, &'a Json)>> {
    match value {
        Json::Array(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| (element(path, index), item))
                .collect(),
        ),
        other => {
            problems.add(path, format!("must be an array, not {}", other.kind()));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Json {
        Json::Number(text.to_owned())
    }

    #[test]
    fn numbers_keep_their_exact_text() {
        let json =
            parse(br#"{"a": 0.1, "b": 1e400, "c": -0, "d": 123456789012345678901234567890.01}"#).unwrap();
        let Json::Object(members) = json else {
            panic!("not an object")
        };
        assert_eq!(members["a"], number("0.1"));
        assert_eq!(members["b"], number("1e400"));
        assert_eq!(members["c"], number("-0"));
        assert_eq!(members["d"], number("123456789012345678901234567890.01"));
    }

    #[test]
    fn strings_are_unescaped_and_structure_is_kept() {
        let json = parse(br#"[null, true, false, "a\"b\u00e9", {"k": []}]"#).unwrap();
        assert_eq!(
            json,
            Json::Array(vec![
                Json::Null,
                Json::Bool(true),
                Json::Bool(false),
                Json::String("a\"b\u{e9}".to_owned()),
                Json::Object(BTreeMap::from([("k".to_owned(), Json::Array(vec![]))])),
            ])
        );
    }

    #[test]
    fn unreadable_bodies_say_why() {
        let cases: [(&[u8], &str); 5] = [
            (b"", "not valid JSON"),
            (b"{\"a\": }", "not valid JSON"),
            (b"{\"a\": 1} trailing", "not valid JSON"),
            (b"\xff\xfe", "not UTF-8"),
            (b"{\"a\": NaN}", "not valid JSON"),
        ];
        for (body, expected) in cases {
            let error = parse(body).unwrap_err();
            assert!(error.0.contains(expected), "{body:?}: {error}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing_without_bound() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(deep.as_bytes()).unwrap_err().0.contains("deeper"));
        let very_deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(very_deep.as_bytes()).is_err());
        let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(fine.as_bytes()).is_ok());
    }

    #[test]
    fn an_object_reader_reports_missing_wrong_and_unknown_fields_together() {
        let json = parse(br#"{"name": 5, "extra": true, "nested": {"x": "1", "y": 2}}"#).unwrap();
        let mut problems = Problems::new();
        let mut object = Object::read(&json, "", &mut problems).unwrap();
        assert_eq!(object.required_str("name", &mut problems), None);
        assert_eq!(object.required_str("email", &mut problems), None);
        let nested_value = object.required("nested", &mut problems).unwrap();
        let mut nested = Object::read(nested_value, &object.path_of("nested"), &mut problems).unwrap();
        assert_eq!(nested.optional_str("x", &mut problems), Some("1"));
        nested.finish(&mut problems);
        object.finish(&mut problems);
        let errors: Vec<(String, String)> = problems
            .into_errors()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect();
        assert_eq!(
            errors,
            vec![
                ("name".to_owned(), "must be a string, not a number".to_owned()),
                ("email".to_owned(), "is required".to_owned()),
                ("nested.y".to_owned(), "is not a known field".to_owned()),
                ("extra".to_owned(), "is not a known field".to_owned()),
            ]
        );
    }

    #[test]
    fn a_non_object_document_is_one_problem_at_the_body() {
        let json = parse(b"[1]").unwrap();
        let mut problems = Problems::new();
        assert!(Object::read(&json, "", &mut problems).is_none());
        assert_eq!(problems.into_errors()[0].field, "body");
    }

    #[test]
    fn leaf_readers_name_the_type_they_found() {
        let mut problems = Problems::new();
        assert_eq!(as_number_text(&number("2.50"), "q", &mut problems), Some("2.50"));
        assert_eq!(
            as_number_text(&Json::String("3".to_owned()), "q", &mut problems),
            Some("3")
        );
        assert_eq!(as_number_text(&Json::Bool(true), "q", &mut problems), None);
        assert_eq!(as_bool(&Json::Null, "flag", &mut problems), None);
        let array = Json::Array(vec![Json::Null]);
        let items = as_array(&array, "items", &mut problems).unwrap();
        assert_eq!(items[0].0, "items[0]");
        let errors = problems.into_errors();
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors[0].message,
            "must be a number or a numeric string, not a boolean"
        );
        assert_eq!(errors[1].message, "must be a boolean, not null");
    }
}

//! What commands print: tables for people, JSON for scripts (one document, or one line per item
//! of a list), and failures on stderr with the API's code, message, details and request id.

use std::io::Write;

use serde_json::Value;

use crate::api::{Failure, Refusal};

/// Prints one JSON document (or one line of a list) on stdout.
pub fn json_line(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
}

/// Prints text on stdout.
pub fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Prints text on stderr (what is said about the work, not its result).
pub fn note(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Prints rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|name| name.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    line(&render(header.to_vec()));
    for row in rows {
        line(&render(row.iter().map(String::as_str).collect()));
    }
}

/// A JSON value as a cell: strings bare, null empty.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An API error as people read it: its code and message, each detail, and its request id.
pub fn refusal_text(refusal: &Refusal) -> String {
    let error = &refusal.body["error"];
    let mut text = format!(
        "{} {}: {}",
        refusal.status,
        cell(&error["code"]),
        cell(&error["message"])
    );
    if text.ends_with(": ") {
        text.push_str(&cell(&refusal.body["message"]));
    }
    for detail in error["details"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "\n  {}: {}",
            cell(&detail["field"]),
            cell(&detail["message"])
        ));
    }
    if let Some(id) = refusal.body["request_id"].as_str() {
        text.push_str(&format!("\n  request id: {id}"));
    }
    text
}

/// Prints why a command failed, on stderr (as JSON with `--json`).
pub fn failure(failure: &Failure, json: bool) {
    match failure {
        Failure::Refused(refusal) | Failure::Unavailable(refusal) if json => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}", refusal.body);
        }
        Failure::Refused(refusal) | Failure::Unavailable(refusal) => {
            note(&format!("error: {}", refusal_text(refusal)));
        }
        Failure::Failed(text) | Failure::Usage(text) | Failure::Unreachable(text) => {
            note(&format!("error: {text}"));
        }
        Failure::Interrupted => {}
    }
}

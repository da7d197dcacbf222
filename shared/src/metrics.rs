//! Business metrics as CloudWatch embedded-metric-format (EMF) lines: counted during an
//! invocation, written once at its end as one JSON line on stdout, which CloudWatch Logs turns
//! into metrics in the `invoicer` namespace, by function.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Map, Value, json};

const NAMESPACE: &str = "invoicer";

/// The metrics of one invocation.
#[derive(Debug, Default)]
pub struct Metrics {
    counts: BTreeMap<&'static str, u64>,
    milliseconds: BTreeMap<&'static str, Vec<u64>>,
}

impl Metrics {
    pub fn count(&mut self, name: &'static str, by: u64) {
        *self.counts.entry(name).or_default() += by;
    }

    pub fn duration(&mut self, name: &'static str, milliseconds: u64) {
        self.milliseconds.entry(name).or_default().push(milliseconds);
    }

    pub fn merge(&mut self, other: Metrics) {
        for (name, value) in other.counts {
            self.count(name, value);
        }
        for (name, values) in other.milliseconds {
            self.milliseconds.entry(name).or_default().extend(values);
        }
    }

    /// The EMF document, or `None` when nothing was recorded.
    pub fn document(&self, function: &str, timestamp_ms: i64) -> Option<Value> {
        if self.counts.is_empty() && self.milliseconds.is_empty() {
            return None;
        }
        let mut definitions = Vec::new();
        let mut document = Map::new();
        for (name, value) in &self.counts {
            definitions.push(json!({"Name": name, "Unit": "Count"}));
            document.insert((*name).to_owned(), json!(value));
        }
        for (name, values) in &self.milliseconds {
            definitions.push(json!({"Name": name, "Unit": "Milliseconds"}));
            // EMF takes at most 100 values per metric and line.
            document.insert(
                (*name).to_owned(),
                json!(values.iter().take(100).collect::<Vec<_>>()),
            );
        }
        document.insert("Function".to_owned(), json!(function));
        document.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Function"]], "Metrics": definitions}],
            }),
        );
        Some(Value::Object(document))
    }

    /// Writes the EMF line of this invocation to stdout.
    pub fn emit(&self, function: &str) {
        if let Some(document) = self.document(function, crate::clock::epoch_ms(crate::clock::now())) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{document}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_becomes_one_emf_document() {
        let mut metrics = Metrics::default();
        metrics.count("InvoicesAccepted", 2);
        metrics.count("InvoicesAccepted", 1);
        metrics.duration("ProviderLatency", 120);
        let document = metrics.document("submit-worker", 1_000).unwrap();
        assert_eq!(document["InvoicesAccepted"], 3);
        assert_eq!(document["ProviderLatency"], json!([120]));
        assert_eq!(document["Function"], "submit-worker");
        assert_eq!(document["_aws"]["CloudWatchMetrics"][0]["Namespace"], "invoicer");
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"][0],
            json!({"Name": "InvoicesAccepted", "Unit": "Count"})
        );
        assert!(Metrics::default().document("x", 0).is_none());
    }
}

//! Partition heat: the write units each partition key of the table and of its indexes receives,
//! second by second, replayed from the functions' write ledger (`shared::write_ledger`), against
//! the 1,000 a second DynamoDB gives one partition.
//!
//! The replay follows DynamoDB's rules: a write costs one unit per started KB of the item (the
//! larger of before and after), twice inside a transaction (counted twice on the indexes too);
//! an index is written when an item enters, leaves or changes in it (a key change is a delete
//! from the old key and a put on the new); `GSI1` and `GSI2` project the whole item, `GSI3` its
//! keys only. An update's item size is the larger of the size last put and what it sets. A write
//! that did not apply (a failed condition, a cancelled transaction) costs the table its units
//! and changes nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

use shared::store::units::write_units;

use crate::logs;

/// What one partition may take a second, in write units.
pub const PARTITION_LIMIT: u64 = 1_000;

/// Each index: its name, its key attributes, whether it projects the whole item.
const INDEXES: [(&str, &str, &str, bool); 3] = [
    ("GSI1", "GSI1PK", "GSI1SK", true),
    ("GSI2", "GSI2PK", "GSI2SK", true),
    ("GSI3", "GSI3PK", "GSI3SK", false),
];

#[derive(Debug, Deserialize)]
struct ItemWrite {
    pk: String,
    sk: String,
    kind: String,
    transactional: bool,
    size: usize,
    set: HashMap<String, String>,
    remove: Vec<String>,
    applied: bool,
}

#[derive(Clone, Debug, Default)]
struct ItemState {
    size: usize,
    keys: HashMap<String, String>,
}

/// Where each function's log stood before a run: the ledger is read from there on.
pub struct Marks(Vec<(PathBuf, usize)>);

impl Marks {
    pub fn now(logs_dir: &Path) -> anyhow::Result<Self> {
        let mut marks = Vec::new();
        for entry in std::fs::read_dir(logs_dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|extension| extension == "log") {
                let length = logs::length(&path);
                marks.push((path, length));
            }
        }
        Ok(Self(marks))
    }

    /// Every write logged since the marks, in time order.
    fn writes(&self) -> anyhow::Result<Vec<(i64, ItemWrite)>> {
        let mut writes = Vec::new();
        for (path, from) in &self.0 {
            for entry in logs::entries_after(path, *from, "dynamodb write")? {
                let Some(at_ms) = entry["at_ms"].as_i64() else {
                    continue;
                };
                let items: Vec<ItemWrite> = serde_json::from_str(entry["writes"].as_str().unwrap_or("[]"))?;
                writes.extend(items.into_iter().map(|item| (at_ms, item)));
            }
        }
        writes.sort_by_key(|(at_ms, _)| *at_ms);
        Ok(writes)
    }
}

/// Write units per (place, partition key, second).
#[derive(Default)]
struct Heat(HashMap<(&'static str, String, i64), u64>);

impl Heat {
    fn charge(&mut self, place: &'static str, key: &str, second: i64, units: u64) {
        *self.0.entry((place, key.to_owned(), second)).or_default() += units;
    }

    /// Replays `writes`, charging those made from `from_ms` to `to_ms`.
    fn replay(writes: &[(i64, ItemWrite)], from_ms: i64, to_ms: i64) -> Self {
        let mut heat = Self::default();
        let mut items: HashMap<(String, String), ItemState> = HashMap::new();
        for (at_ms, write) in writes {
            let counted = (from_ms..to_ms).contains(at_ms);
            if !write.applied {
                let size = items
                    .get(&(write.pk.clone(), write.sk.clone()))
                    .map_or(write.size, |item| item.size);
                if counted {
                    heat.charge("table", &write.pk, at_ms.div_euclid(1000), write_units(size));
                }
                continue;
            }
            let second = at_ms.div_euclid(1000);
            let times = if write.transactional { 2 } else { 1 };
            let identity = (write.pk.clone(), write.sk.clone());
            let before = items.get(&identity).cloned();
            let mut after = before.clone().unwrap_or_default();
            match write.kind.as_str() {
                "put" => {
                    after.size = write.size;
                    after.keys = write.set.clone();
                }
                "update" => {
                    after.size = after.size.max(write.size);
                    after.keys.extend(write.set.clone());
                    for name in &write.remove {
                        after.keys.remove(name);
                    }
                }
                "delete" => after.keys.clear(),
                _ => {}
            }
            let size = after
                .size
                .max(before.as_ref().map_or(write.size, |item| item.size));
            if counted {
                heat.charge("table", &write.pk, second, times * write_units(size));
                if write.kind != "check" {
                    heat.index_writes(before.as_ref(), &after, second, times);
                }
            }
            match write.kind.as_str() {
                "delete" => items.remove(&identity),
                "check" => None,
                _ => items.insert(identity, after),
            };
        }
        heat
    }

    /// What a write of an item (from `before` to `after`) costs each index.
    fn index_writes(&mut self, before: Option<&ItemState>, after: &ItemState, second: i64, times: u64) {
        for (index, partition, sort, whole_item) in INDEXES {
            let old = before.and_then(|item| Some((item.keys.get(partition)?, item.keys.get(sort)?)));
            let new = Some((after.keys.get(partition), after.keys.get(sort)))
                .and_then(|(partition, sort)| Some((partition?, sort?)));
            let cost = |item: &ItemState| times * if whole_item { write_units(item.size) } else { 1 };
            match (old, new) {
                (Some(old), Some(new)) if old == new => {
                    if whole_item {
                        self.charge(index, new.0, second, cost(after));
                    }
                }
                (old, new) => {
                    if let (Some(old), Some(item)) = (old, before) {
                        self.charge(index, old.0, second, cost(item));
                    }
                    if let Some(new) = new {
                        self.charge(index, new.0, second, cost(after));
                    }
                }
            }
        }
    }

    /// For each place, its hottest partition key: the most write units it took in one second.
    fn hottest(&self) -> Vec<Value> {
        let mut peaks: HashMap<(&'static str, &str), u64> = HashMap::new();
        let mut totals: HashMap<&'static str, u64> = HashMap::new();
        for ((place, key, _), units) in &self.0 {
            let peak = peaks.entry((place, key.as_str())).or_default();
            *peak = (*peak).max(*units);
            *totals.entry(place).or_default() += units;
        }
        ["table", "GSI1", "GSI2", "GSI3"]
            .into_iter()
            .map(|place| {
                let hottest = peaks
                    .iter()
                    .filter(|((at, _), _)| *at == place)
                    .max_by_key(|(_, peak)| **peak);
                let keys = peaks.keys().filter(|(at, _)| *at == place).count();
                json!({
                    "place": place,
                    "key": hottest.map(|((_, key), _)| anonymous(key)),
                    "peak_units_per_second": hottest.map_or(0, |(_, peak)| *peak),
                    "partition_keys": keys,
                    "total_units": totals.get(place).copied().unwrap_or(0),
                })
            })
            .collect()
    }
}

/// A key with its ids (26-character ULIDs) written as `<id>`.
fn anonymous(key: &str) -> String {
    key.split('#')
        .map(|part| {
            if part.len() == 26 && part.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
                "<id>"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("#")
}

/// The hottest partition keys of each phase: `(name, from_ms, to_ms)`.
pub fn report(marks: &Marks, phases: &[(&str, i64, i64)]) -> anyhow::Result<Value> {
    let writes = marks.writes()?;
    let mut report = serde_json::Map::new();
    for (name, from_ms, to_ms) in phases {
        let heat = Heat::replay(&writes, *from_ms, *to_ms);
        report.insert(
            (*name).to_owned(),
            json!({"seconds": (to_ms - from_ms) as f64 / 1000.0, "hottest": heat.hottest()}),
        );
    }
    Ok(Value::Object(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(
        kind: &str,
        size: usize,
        set: &[(&str, &str)],
        remove: &[&str],
        transactional: bool,
    ) -> ItemWrite {
        ItemWrite {
            pk: "ORG#o".to_owned(),
            sk: "INV#i".to_owned(),
            kind: kind.to_owned(),
            transactional,
            size,
            set: set
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            remove: remove.iter().map(|name| (*name).to_owned()).collect(),
            applied: true,
        }
    }

    fn units_at(heat: &Heat, place: &'static str, key: &str) -> u64 {
        heat.0
            .iter()
            .filter(|((at, name, _), _)| *at == place && name == key)
            .map(|(_, units)| units)
            .sum()
    }

    #[test]
    fn a_status_change_moves_the_item_between_index_keys_and_costs_both() {
        let queued = [("GSI1PK", "S#queued"), ("GSI1SK", "INV#i")];
        let writes = vec![
            (1_000, write("put", 2_500, &queued, &[], true)),
            (
                2_000,
                write("update", 100, &[("GSI1PK", "S#accepted")], &[], false),
            ),
        ];
        let heat = Heat::replay(&writes, 0, 10_000);
        // Put: 3 units, twice (a transaction); update: the item's 3 units, once.
        assert_eq!(units_at(&heat, "table", "ORG#o"), 6 + 3);
        // Queued: the put (6) and the delete (3); accepted: the put (3).
        assert_eq!(units_at(&heat, "GSI1", "S#queued"), 6 + 3);
        assert_eq!(units_at(&heat, "GSI1", "S#accepted"), 3);
    }

    #[test]
    fn writes_outside_the_phase_are_not_counted_but_shape_the_items() {
        let writes = vec![
            (
                1_000,
                write("put", 5_000, &[("GSI3PK", "R#1"), ("GSI3SK", "due")], &[], false),
            ),
            (5_000, write("update", 10, &[], &["GSI3PK", "GSI3SK"], false)),
        ];
        let heat = Heat::replay(&writes, 4_000, 6_000);
        assert_eq!(units_at(&heat, "table", "ORG#o"), 5);
        assert_eq!(units_at(&heat, "GSI3", "R#1"), 1);
    }

    #[test]
    fn a_write_that_did_not_apply_costs_the_table_and_moves_nothing() {
        let queued = [("GSI1PK", "S#queued"), ("GSI1SK", "INV#i")];
        let mut refused = write("update", 10, &[("GSI1PK", "S#submitting")], &[], false);
        refused.applied = false;
        let writes = vec![
            (1_000, write("put", 1_500, &queued, &[], false)),
            (2_000, refused),
            (3_000, write("update", 10, &[], &[], false)),
        ];
        let heat = Heat::replay(&writes, 1_500, 10_000);
        assert_eq!(units_at(&heat, "table", "ORG#o"), 2 + 2);
        assert_eq!(units_at(&heat, "GSI1", "S#submitting"), 0);
        assert_eq!(
            units_at(&heat, "GSI1", "S#queued"),
            2,
            "still there, rewritten by the last update"
        );
    }

    #[test]
    fn ids_are_hidden_in_reported_keys() {
        assert_eq!(
            anonymous("ORG#01KB3J6Y1V9R0S4W5X6Y7Z8A9B#STATUS#queued#07"),
            "ORG#<id>#STATUS#queued#07"
        );
    }
}

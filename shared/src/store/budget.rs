//! The rate budget of a provider account, one item shared by every function instance. Each lane
//! of calls has its own `tat` (the earliest time, epoch ms, its next call may be made: a generic
//! cell rate algorithm, each call moving it one of the lane's intervals on): `tat` for new
//! submissions, `tat_urgent` for the calls an answer needs at once (a deletion, a look-up).
//! `uncleared` holds the references of rejected bills whose deletion at the provider failed and
//! must be made before the account submits anything else; `blocked_until`, set while a pending
//! bill blocks the account (Factus answers 409 to every other bill meanwhile), holds submissions
//! back and lets one worker at a time settle it.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::change::{Change, n};
use super::{Item, Store, keys};

/// A lane of the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// New submissions.
    Submissions,
    /// Calls an answer needs at once; a small share of the budget no submission can take.
    Urgent,
}

impl Lane {
    fn attribute(self) -> &'static str {
        match self {
            Lane::Submissions => "tat",
            Lane::Urgent => "tat_urgent",
        }
    }
}

/// How a block is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// Until then at least (a longer block stays).
    Extend,
    /// Only if the account is not blocked now: the caller settles the block.
    Take,
    /// Until then, whatever was marked.
    Set,
}

/// What the budget item says of the account besides its pace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountState {
    /// References of rejected bills still to be deleted.
    pub uncleared: Vec<String>,
    /// A pending bill blocks the account until then, or until it is settled (epoch ms).
    pub blocked_until: Option<i64>,
}

/// What a reservation moves: one attribute (a `tat`) of one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaceCell {
    key: (String, String),
    attribute: String,
}

impl PaceCell {
    /// A lane of a provider account's calls.
    pub fn provider(account: &str, lane: Lane) -> Self {
        Self {
            key: (keys::provider_account(account), keys::BUDGET.to_owned()),
            attribute: lane.attribute().to_owned(),
        }
    }

    /// An organization's batch writes to the partition keys of one shard, in write units (see
    /// [`Store::store_invoices`]).
    pub fn batch_writes(org_id: &str, shard: u32) -> Self {
        Self {
            key: (keys::org(org_id), keys::WRITE_PACE.to_owned()),
            attribute: format!("tat_{shard:02}"),
        }
    }
}

/// What a reservation got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The first reserved call may be made at `start_ms`, each next one an interval on.
    Reserved { start_ms: i64, state: AccountState },
    /// The lane's calls are promised until `free_at_ms`, past the latest start asked for.
    Busy { free_at_ms: i64, state: AccountState },
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn state(item: &Item) -> AccountState {
    AccountState {
        uncleared: match item.get("uncleared") {
            Some(AttributeValue::Ss(references)) => references.clone(),
            _ => Vec::new(),
        },
        blocked_until: number(item, "blocked_until"),
    }
}

impl Store {
    /// Reserves `span_ms` of a pace cell (a lane of a provider account's calls, an
    /// organization's batch writes), starting no sooner than `now_ms` and no later than
    /// `latest_start_ms` (else the cell is busy): one conditional update when the cell is busy
    /// (`tat` ahead of now) or idle as guessed, two when the guess is wrong.
    pub async fn reserve_span(
        &self,
        cell: &PaceCell,
        now_ms: i64,
        latest_start_ms: i64,
        span_ms: i64,
        busy_guess: bool,
    ) -> anyhow::Result<Reservation> {
        let mut busy_first = busy_guess;
        for _ in 0..4 {
            let mut values =
                HashMap::from([(":span".to_owned(), n(span_ms)), (":now".to_owned(), n(now_ms))]);
            let (expression, condition) = if busy_first {
                values.insert(":latest".to_owned(), n(latest_start_ms));
                ("SET #tat = #tat + :span", "#tat >= :now AND #tat <= :latest")
            } else {
                (
                    "SET #tat = :now + :span",
                    "attribute_not_exists(#tat) OR #tat < :now",
                )
            };
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(super::key(cell.key.0.clone(), cell.key.1.clone())))
                .update_expression(expression)
                .condition_expression(condition)
                .expression_attribute_names("#tat", &cell.attribute)
                .set_expression_attribute_values(Some(values))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(output) => {
                    let item = output.attributes.unwrap_or_default();
                    let tat = number(&item, &cell.attribute)
                        .ok_or_else(|| anyhow::anyhow!("the pace item holds no {}", cell.attribute))?;
                    return Ok(Reservation::Reserved {
                        start_ms: tat - span_ms,
                        state: state(&item),
                    });
                }
                Err(error) => {
                    let Some(UpdateItemError::ConditionalCheckFailedException(failed)) =
                        error.as_service_error()
                    else {
                        return Err(aws_sdk_dynamodb::Error::from(error).into());
                    };
                    let old = failed.item.clone().unwrap_or_default();
                    match number(&old, &cell.attribute) {
                        Some(tat) if tat > latest_start_ms => {
                            return Ok(Reservation::Busy {
                                free_at_ms: tat,
                                state: state(&old),
                            });
                        }
                        Some(tat) => busy_first = tat >= now_ms,
                        None => busy_first = false,
                    }
                }
            }
        }
        anyhow::bail!("the pace kept changing under four reservations")
    }

    /// The account's budget item: what it says of the account, and each lane's `tat` (0 when
    /// it has none).
    pub async fn read_budget(&self, account: &str) -> anyhow::Result<(AccountState, [i64; 2])> {
        let item = self
            .get(keys::provider_account(account), keys::BUDGET.to_owned(), true)
            .await?
            .unwrap_or_default();
        let tat = |lane: Lane| number(&item, lane.attribute()).unwrap_or(0);
        Ok((state(&item), [tat(Lane::Submissions), tat(Lane::Urgent)]))
    }

    /// No call of the account, in any lane, before `until_ms` (the provider said so: a 429, or
    /// no requests left in its window).
    pub async fn hold_calls_until(&self, account: &str, until_ms: i64) -> anyhow::Result<()> {
        for lane in [Lane::Submissions, Lane::Urgent] {
            let change = Change::new(
                keys::provider_account(account),
                keys::BUDGET.to_owned(),
                "SET #tat = :until",
            )
            .condition("attribute_not_exists(#tat) OR #tat < :until")
            .name("#tat", lane.attribute())
            .value(":until", n(until_ms));
            self.apply(change).await?;
        }
        Ok(())
    }

    /// Marks the account blocked until `until_ms`, as `mode` says; `false` when its condition
    /// did not hold (for [`Block::Take`]: another caller holds the settlement).
    pub async fn block_account(
        &self,
        account: &str,
        mode: Block,
        now_ms: i64,
        until_ms: i64,
    ) -> anyhow::Result<bool> {
        let change = Change::new(
            keys::provider_account(account),
            keys::BUDGET.to_owned(),
            "SET blocked_until = :until",
        )
        .value(":until", n(until_ms));
        let change = match mode {
            Block::Extend => {
                change.condition("attribute_not_exists(blocked_until) OR blocked_until < :until")
            }
            Block::Take => change
                .condition("attribute_not_exists(blocked_until) OR blocked_until < :now")
                .value(":now", n(now_ms)),
            Block::Set => change,
        };
        self.apply(change).await
    }

    /// The account is no longer blocked.
    pub async fn unblock_account(&self, account: &str) -> anyhow::Result<()> {
        let change = Change::new(
            keys::provider_account(account),
            keys::BUDGET.to_owned(),
            "REMOVE blocked_until",
        );
        self.apply(change).await.map(|_| ())
    }

    /// Records (`true`) or forgets a reference whose deletion at the provider is owed.
    pub async fn mark_uncleared(
        &self,
        account: &str,
        reference: &str,
        uncleared: bool,
    ) -> anyhow::Result<()> {
        let verb = if uncleared { "ADD" } else { "DELETE" };
        let change = Change::new(
            keys::provider_account(account),
            keys::BUDGET.to_owned(),
            format!("{verb} uncleared :reference"),
        )
        .value(":reference", AttributeValue::Ss(vec![reference.to_owned()]));
        self.apply(change).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::super::change::s;
    use super::*;

    #[test]
    fn the_item_reads_back() {
        let item = Item::from([
            ("tat".to_owned(), n(10_000)),
            ("uncleared".to_owned(), AttributeValue::Ss(vec!["o-1".to_owned()])),
            ("x".to_owned(), s("y")),
        ]);
        assert_eq!(number(&item, Lane::Submissions.attribute()), Some(10_000));
        assert_eq!(number(&item, Lane::Urgent.attribute()), None);
        assert_eq!(
            state(&item),
            AccountState {
                uncleared: vec!["o-1".to_owned()],
                blocked_until: None
            }
        );
    }
}

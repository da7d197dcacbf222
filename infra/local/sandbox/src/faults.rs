//! Fault injection, scoped to reference-code prefixes so that tests sharing the sandbox do not
//! disturb each other, and seeded so that a run can be repeated.

use serde::{Deserialize, Serialize};

/// What goes wrong for the bills whose reference code starts with `reference_prefix`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    pub reference_prefix: String,
    /// Added to every answer.
    pub latency_ms: u64,
    /// Share of submissions answered 503.
    pub error_rate: f64,
    /// Share of submissions that are issued but answered too late for any client.
    pub timeout_rate: f64,
    /// Share of submissions answered 429 with `Retry-After`.
    pub rate_limit_rate: f64,
    pub seed: u64,
}

/// What the sandbox does to one submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    ServerError,
    Timeout,
    RateLimited,
}

/// A rule with its own random sequence.
#[derive(Debug)]
pub struct ActiveRule {
    pub rule: FaultRule,
    random: fastrand::Rng,
}

impl ActiveRule {
    pub fn new(rule: FaultRule) -> Self {
        let random = fastrand::Rng::with_seed(rule.seed);
        Self { rule, random }
    }

    /// Draws the fault of the next submission.
    pub fn draw(&mut self) -> Fault {
        let roll = self.random.f64();
        let rule = &self.rule;
        if roll < rule.error_rate {
            Fault::ServerError
        } else if roll < rule.error_rate + rule.timeout_rate {
            Fault::Timeout
        } else if roll < rule.error_rate + rule.timeout_rate + rule.rate_limit_rate {
            Fault::RateLimited
        } else {
            Fault::None
        }
    }
}

/// The rule of the longest prefix that `reference` starts with.
pub fn matching<'a>(rules: &'a mut [ActiveRule], reference: &str) -> Option<&'a mut ActiveRule> {
    rules
        .iter_mut()
        .filter(|active| reference.starts_with(&active.rule.reference_prefix))
        .max_by_key(|active| active.rule.reference_prefix.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, error_rate: f64, seed: u64) -> ActiveRule {
        ActiveRule::new(FaultRule {
            reference_prefix: prefix.into(),
            error_rate,
            seed,
            ..FaultRule::default()
        })
    }

    #[test]
    fn a_seed_repeats_its_faults_and_rates_hold_roughly() {
        let draws = |seed| {
            let mut active = rule("", 0.2, seed);
            (0..1000).map(|_| active.draw()).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let mut active = rule("", 0.2, 7);
        let errors = (0..10_000)
            .filter(|_| active.draw() == Fault::ServerError)
            .count();
        assert!((1_800..2_200).contains(&errors), "{errors}");
    }

    #[test]
    fn the_longest_prefix_rules() {
        let mut rules = vec![rule("org-", 0.0, 1), rule("org-FV", 1.0, 1)];
        assert_eq!(
            matching(&mut rules, "org-FV-1").unwrap().rule.reference_prefix,
            "org-FV"
        );
        assert_eq!(
            matching(&mut rules, "org-X").unwrap().rule.reference_prefix,
            "org-"
        );
        assert!(matching(&mut rules, "other").is_none());
    }
}

//! Fault injection (not Factus: the sandbox's test control). A rule applies to the creates whose
//! reference code starts with its prefix (the longest prefix wins), so that tests sharing the
//! sandbox do not disturb each other, and draws from its own seeded sequence, so that a run
//! repeats. Each create draws one fault; `latency_ms` is added to every create.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What goes wrong for the creates whose reference code starts with `reference_prefix`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    pub reference_prefix: String,
    /// Added to every create.
    pub latency_ms: u64,
    /// Share of creates answered 503, nothing persisted.
    pub error_rate: f64,
    /// Share of creates persisted and validated, but answered 60 s late.
    pub timeout_rate: f64,
    /// Share of creates answered an injected 429 (`Retry-After: 1`), nothing persisted.
    pub rate_limit_rate: f64,
    /// Share of new documents persisted but not yet validated, with no rejection: they block the
    /// account until the same reference is sent again.
    pub dian_slow_rate: f64,
    /// Share of new documents persisted and rejected by DIAN (FAJ43b), answered in the create
    /// shape with `is_validated: false`.
    pub dian_rejection_rate: f64,
    /// Share of creates refused by Factus's input validation (422), nothing persisted.
    pub validation_error_rate: f64,
    /// Every create answered 402 (the subscription is exhausted), nothing persisted.
    pub payment_required: bool,
    pub seed: u64,
}

impl FaultRule {
    /// Why the rule cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let rates = [
            ("error_rate", self.error_rate),
            ("timeout_rate", self.timeout_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("dian_slow_rate", self.dian_slow_rate),
            ("dian_rejection_rate", self.dian_rejection_rate),
            ("validation_error_rate", self.validation_error_rate),
        ];
        if let Some((name, _)) = rates.iter().find(|(_, rate)| !(0.0..=1.0).contains(rate)) {
            return Some(format!("{name} must be between 0 and 1"));
        }
        let sum: f64 = rates.iter().map(|(_, rate)| rate).sum();
        // A little slack for the rounding of sums like 0.1 + 0.2 + 0.7.
        (sum > 1.0 + 1e-9).then(|| "the rates add up to more than 1".to_owned())
    }
}

/// What the sandbox does to one create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    PaymentRequired,
    ServerError,
    Timeout,
    RateLimited,
    DianSlow,
    DianRejection,
    ValidationError,
}

/// A rule with its own random sequence.
#[derive(Debug)]
struct ActiveRule {
    rule: FaultRule,
    random: fastrand::Rng,
}

impl ActiveRule {
    fn draw(&mut self) -> Fault {
        if self.rule.payment_required {
            return Fault::PaymentRequired;
        }
        let rule = &self.rule;
        let mut roll = self.random.f64();
        for (rate, fault) in [
            (rule.error_rate, Fault::ServerError),
            (rule.timeout_rate, Fault::Timeout),
            (rule.rate_limit_rate, Fault::RateLimited),
            (rule.dian_slow_rate, Fault::DianSlow),
            (rule.dian_rejection_rate, Fault::DianRejection),
            (rule.validation_error_rate, Fault::ValidationError),
        ] {
            if roll < rate {
                return fault;
            }
            roll -= rate;
        }
        Fault::None
    }
}

/// The rules in force.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<ActiveRule>,
}

impl Faults {
    /// Puts `rule` in force, in place of any rule of the same prefix.
    pub fn set(&mut self, rule: FaultRule) {
        self.rules
            .retain(|active| active.rule.reference_prefix != rule.reference_prefix);
        let random = fastrand::Rng::with_seed(rule.seed);
        self.rules.push(ActiveRule { rule, random });
    }

    /// Removes the rule of `prefix`, or every rule.
    pub fn clear(&mut self, prefix: Option<&str>) {
        match prefix {
            Some(prefix) => self.rules.retain(|active| active.rule.reference_prefix != prefix),
            None => self.rules.clear(),
        }
    }

    /// The fault and the latency of the next create of `reference`.
    pub fn draw(&mut self, reference: &str) -> (Fault, Duration) {
        let rule = self
            .rules
            .iter_mut()
            .filter(|active| reference.starts_with(&active.rule.reference_prefix))
            .max_by_key(|active| active.rule.reference_prefix.len());
        match rule {
            Some(active) => (active.draw(), Duration::from_millis(active.rule.latency_ms)),
            None => (Fault::None, Duration::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(rules: &[(&str, f64, u64)]) -> Faults {
        let mut faults = Faults::default();
        for (prefix, error_rate, seed) in rules {
            faults.set(FaultRule {
                reference_prefix: (*prefix).to_owned(),
                error_rate: *error_rate,
                seed: *seed,
                ..FaultRule::default()
            });
        }
        faults
    }

    #[test]
    fn a_seed_repeats_its_faults_and_rates_hold_roughly() {
        let draws = |seed| {
            let mut faults = faults(&[("", 0.2, seed)]);
            (0..1000).map(|_| faults.draw("x").0).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let mut faults = faults(&[("", 0.2, 7)]);
        let errors = (0..10_000)
            .filter(|_| faults.draw("x").0 == Fault::ServerError)
            .count();
        assert!((1_800..2_200).contains(&errors), "{errors}");
    }

    #[test]
    fn the_longest_prefix_rules_and_rules_can_be_cleared() {
        let mut faults = faults(&[("org-", 0.0, 1), ("org-FV", 1.0, 1)]);
        assert_eq!(faults.draw("org-FV-1").0, Fault::ServerError);
        assert_eq!(faults.draw("org-X").0, Fault::None);
        assert_eq!(faults.draw("other").0, Fault::None);
        faults.clear(Some("org-FV"));
        assert_eq!(faults.draw("org-FV-1").0, Fault::None);
    }

    #[test]
    fn every_fault_can_be_drawn_and_bad_rates_are_refused() {
        let rule = |rule: FaultRule| {
            let mut faults = Faults::default();
            faults.set(rule);
            faults.draw("r").0
        };
        let base = FaultRule::default;
        assert_eq!(
            rule(FaultRule {
                dian_slow_rate: 1.0,
                ..base()
            }),
            Fault::DianSlow
        );
        assert_eq!(
            rule(FaultRule {
                dian_rejection_rate: 1.0,
                ..base()
            }),
            Fault::DianRejection
        );
        assert_eq!(
            rule(FaultRule {
                validation_error_rate: 1.0,
                ..base()
            }),
            Fault::ValidationError
        );
        assert_eq!(
            rule(FaultRule {
                timeout_rate: 1.0,
                ..base()
            }),
            Fault::Timeout
        );
        assert_eq!(
            rule(FaultRule {
                rate_limit_rate: 1.0,
                ..base()
            }),
            Fault::RateLimited
        );
        assert_eq!(
            rule(FaultRule {
                payment_required: true,
                ..base()
            }),
            Fault::PaymentRequired
        );
        assert!(
            FaultRule {
                error_rate: 1.5,
                ..base()
            }
            .problem()
            .is_some()
        );
        assert!(
            FaultRule {
                error_rate: 0.6,
                timeout_rate: 0.6,
                ..base()
            }
            .problem()
            .is_some()
        );
        assert_eq!(
            FaultRule {
                error_rate: 0.5,
                timeout_rate: 0.5,
                ..base()
            }
            .problem(),
            None
        );
    }
}

//! Delivery faults of the local SQS event source, for tests: deliver a message twice (two
//! invocations at once, as SQS's at-least-once delivery may), drop an acknowledgement (as if
//! the function had crashed after its work): the message comes back about a second later, or lose
//! a message (as if its send had never arrived): it is deleted unseen.
//! Faults are scoped to one organization (the `org_id` of the messages), so that tests sharing
//! the stack do not disturb each other, and seeded so that a run can be repeated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryFaults {
    pub org_id: String,
    /// Share of messages delivered twice.
    pub duplicate_rate: f64,
    /// Share of successful messages whose deletion is skipped.
    pub drop_ack_rate: f64,
    /// Share of messages deleted without being delivered.
    pub lose_rate: f64,
    pub seed: u64,
}

/// What happens to one delivered message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Draw {
    pub duplicate: bool,
    pub drop_ack: bool,
    pub lose: bool,
}

/// The faults in force, by organization.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<HashMap<String, (DeliveryFaults, fastrand::Rng)>>>);

impl Faults {
    fn set(&self, faults: DeliveryFaults) {
        let random = fastrand::Rng::with_seed(faults.seed);
        self.lock().insert(faults.org_id.clone(), (faults, random));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (DeliveryFaults, fastrand::Rng)>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The faults drawn for one message of an organization.
    pub fn draw(&self, org_id: Option<&str>) -> Draw {
        let Some(org_id) = org_id else {
            return Draw::default();
        };
        let mut faults = self.lock();
        let Some((rule, random)) = faults.get_mut(org_id) else {
            return Draw::default();
        };
        Draw {
            duplicate: random.f64() < rule.duplicate_rate,
            drop_ack: random.f64() < rule.drop_ack_rate,
            lose: random.f64() < rule.lose_rate,
        }
    }

    /// `POST /poller/faults` (a [`DeliveryFaults`]) and `DELETE /poller/faults/{org_id}`.
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/poller/faults", post(set_faults))
            .route("/poller/faults/{org_id}", delete(clear_faults))
            .with_state(self)
    }
}

async fn set_faults(State(faults): State<Faults>, Json(rule): Json<DeliveryFaults>) -> StatusCode {
    faults.set(rule);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(faults): State<Faults>, Path(org_id): Path<String>) -> StatusCode {
    faults.lock().remove(&org_id);
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_to_their_organization_only_and_repeat_with_their_seed() {
        let faults = Faults::default();
        faults.set(DeliveryFaults {
            org_id: "o1".into(),
            duplicate_rate: 0.5,
            drop_ack_rate: 0.5,
            lose_rate: 0.0,
            seed: 3,
        });
        assert_eq!(faults.draw(Some("o2")), Draw::default());
        assert_eq!(faults.draw(None), Draw::default());
        let first: Vec<Draw> = (0..50).map(|_| faults.draw(Some("o1"))).collect();
        assert!(first.iter().any(|d| d.duplicate) && first.iter().any(|d| !d.duplicate));
        faults.set(DeliveryFaults {
            org_id: "o1".into(),
            duplicate_rate: 0.5,
            drop_ack_rate: 0.5,
            lose_rate: 0.0,
            seed: 3,
        });
        let again: Vec<Draw> = (0..50).map(|_| faults.draw(Some("o1"))).collect();
        assert_eq!(first, again);
    }
}

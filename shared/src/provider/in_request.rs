//! Provider calls an API request waits for: none starts later than a whole call (and a margin
//! to answer) before the request's deadline, so a slow Factus is a 503, never the function
//! timing out; and what the client hears when a call cannot be made.

use std::time::Duration;

use super::{CallError, Calls};
use crate::http::{ApiError, Request};
use crate::validation::FieldError;

/// Time kept in hand before the request's deadline for answering.
const ANSWER_MARGIN_MS: i64 = 2_000;
/// The request's time when it says no deadline: an API function's longest timeout.
const WITHOUT_DEADLINE_MS: i64 = 25_000;

/// The calls `request` may make, each taking up to `call_timeout`.
pub fn calls_within(request: &Request, call_timeout: Duration) -> Calls {
    let now_ms = crate::clock::epoch_ms(crate::clock::now());
    let call_ms = i64::try_from(call_timeout.as_millis()).unwrap_or(i64::MAX / 2);
    let deadline = crate::http::deadline_ms(request).unwrap_or(now_ms + WITHOUT_DEADLINE_MS);
    Calls::new(0, deadline - call_ms - ANSWER_MARGIN_MS)
}

/// A provider call that could not be made: 503 when it may work later, 409 when the account
/// itself cannot work (its credentials refused).
pub fn refusal(error: CallError) -> ApiError {
    match error {
        CallError::AccountProblem(reason) => ApiError::InvalidState(format!(
            "the organization's Factus account cannot be used: {reason}"
        )),
        CallError::Paced(wait) => unavailable(wait),
        CallError::Transient(cause) => {
            tracing::warn!(cause, "a provider call failed: answering 503");
            unavailable(Duration::from_secs(5))
        }
    }
}

fn unavailable(wait: Duration) -> ApiError {
    ApiError::Unavailable {
        failing: vec![FieldError::new(
            "provider",
            "Factus cannot be reached at the moment",
        )],
        retry_after_seconds: wait.as_secs().max(1),
    }
}

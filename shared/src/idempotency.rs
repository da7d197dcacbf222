//! `Idempotency-Key` (docs/DESIGN.md, "Idempotency"): scoped to the organization, the concrete
//! path and the key; the first answer is replayed, with `Idempotent-Replayed: true`, to a
//! request with the same key and body, and another body under the same key is 422
//! `IDEMPOTENCY_KEY_REUSED`.

use aws_lc_rs::digest;
use lambda_http::http::{HeaderValue, StatusCode};

use crate::http::{ApiError, HandlerResult, Request, body_bytes, header};
use crate::store::{IdempotencyRecord, Replay, Store};
use crate::validation::FieldError;

/// How long a key is remembered.
pub const RETENTION_SECONDS: i64 = 24 * 60 * 60;
const MAX_KEY_LENGTH: usize = 255;

/// The key of a request, with what it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub scope: String,
    pub fingerprint: String,
}

fn hex_digest(parts: &[&[u8]]) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in parts {
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part);
    }
    context
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl IdempotencyKey {
    /// The request's key, if it sent one; 422 when the key is not 1–255 printable characters.
    pub fn of(request: &Request) -> Result<Option<Self>, ApiError> {
        let Some(value) = request.headers().get("idempotency-key") else {
            return Ok(None);
        };
        let key = value.to_str().ok().filter(|key| {
            (1..=MAX_KEY_LENGTH).contains(&key.len()) && key.bytes().all(|b| (0x20..0x7f).contains(&b))
        });
        let Some(key) = key else {
            return Err(ApiError::Validation(vec![FieldError::new(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"),
            )]));
        };
        let path = request.uri().path();
        let content_type = header(request, "content-type").unwrap_or_default();
        Ok(Some(Self {
            scope: hex_digest(&[path.as_bytes(), key.as_bytes()]),
            fingerprint: hex_digest(&[
                request.method().as_str().as_bytes(),
                path.as_bytes(),
                content_type.as_bytes(),
                body_bytes(request),
            ]),
        }))
    }

    /// The record that replays `status` with `replay`, for 24 hours from `now`.
    pub fn record(&self, status: StatusCode, replay: Replay, now: i64) -> IdempotencyRecord {
        IdempotencyRecord {
            scope: self.scope.clone(),
            fingerprint: self.fingerprint.clone(),
            status: status.as_u16(),
            replay,
            expires_at: now + RETENTION_SECONDS,
            in_progress_until: None,
        }
    }

    /// The record that holds the key while a long request runs, until `until_ms`.
    pub fn in_progress(&self, now: i64, until_ms: i64) -> IdempotencyRecord {
        IdempotencyRecord {
            in_progress_until: Some(until_ms),
            ..self.record(StatusCode::ACCEPTED, Replay::Pending, now)
        }
    }
}

/// The first answer again when the request's key was used before (or 422 when the request
/// differs from the first); `None` when it was not, or there is no key.
pub async fn replay_if_recorded(
    store: &Store,
    org_id: &str,
    key: Option<&IdempotencyKey>,
) -> Result<Option<lambda_http::Response<lambda_http::Body>>, ApiError> {
    let Some(key) = key else {
        return Ok(None);
    };
    if store.get_idempotency(org_id, &key.scope).await?.is_none() {
        return Ok(None);
    }
    replay(store, org_id, key).await.map(Some)
}

/// The answer to a request whose key was used before: the first answer again, or 422 when the
/// request differs from the first.
pub async fn replay(store: &Store, org_id: &str, key: &IdempotencyKey) -> HandlerResult {
    let record = store
        .get_idempotency(org_id, &key.scope)
        .await?
        .ok_or_else(|| anyhow::anyhow!("an idempotency record vanished between its conflict and its read"))?;
    if record.fingerprint != key.fingerprint {
        return Err(ApiError::IdempotencyKeyReused);
    }
    if record.in_progress_until.is_some() {
        return Err(ApiError::IdempotencyInProgress);
    }
    let status = StatusCode::from_u16(record.status).map_err(anyhow::Error::from)?;
    let mut response = match record.replay {
        Replay::Body { body } => {
            let mut response = crate::http::json(status, &serde_json::Value::Null);
            *response.body_mut() = lambda_http::Body::Text(body);
            response
        }
        Replay::Pending => return Err(ApiError::IdempotencyInProgress),
        Replay::Invoice { invoice_id, state } => {
            let mut invoice = store
                .get_invoice(org_id, &invoice_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the invoice of an idempotency record is missing"))?;
            invoice.state = *state;
            crate::http::json(status, &invoice.view())
        }
    };
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, key: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json");
        if let Some(key) = key {
            builder = builder.header("idempotency-key", key);
        }
        builder.body(lambda_http::Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn a_key_is_scoped_to_its_path_and_bound_to_its_body() {
        let first = IdempotencyKey::of(&request("/v1/invoices", Some("k-1"), "{}"))
            .unwrap()
            .unwrap();
        let same = IdempotencyKey::of(&request("/v1/invoices", Some("k-1"), "{}"))
            .unwrap()
            .unwrap();
        let other_body = IdempotencyKey::of(&request("/v1/invoices", Some("k-1"), "{ }"))
            .unwrap()
            .unwrap();
        let other_path = IdempotencyKey::of(&request("/v1/batches", Some("k-1"), "{}"))
            .unwrap()
            .unwrap();
        assert_eq!(first, same);
        assert_eq!(first.scope, other_body.scope);
        assert_ne!(first.fingerprint, other_body.fingerprint);
        assert_ne!(first.scope, other_path.scope);
        assert_eq!(
            IdempotencyKey::of(&request("/v1/invoices", None, "{}")).unwrap(),
            None
        );
    }

    #[test]
    fn a_key_is_1_to_255_printable_characters() {
        for bad in ["", &"k".repeat(256), "tab\there"] {
            let error = IdempotencyKey::of(&request("/v1/invoices", Some(bad), "{}")).unwrap_err();
            assert_eq!(error.code(), "VALIDATION_ERROR", "{bad:?}");
        }
        assert!(
            IdempotencyKey::of(&request("/v1/invoices", Some(&"k".repeat(255)), "{}"))
                .unwrap()
                .is_some()
        );
    }
}

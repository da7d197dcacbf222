//! The one error type of the HTTP API and its one mapping to status, code and body.
//!
//! Client errors say what is wrong; server errors are opaque to the client and logged with their
//! cause. Every variant is a row of the error table in docs/API.md.

use lambda_http::http::StatusCode;
use serde::Serialize;

use crate::auth::keyring::KeysUnavailable;
use crate::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidCsv {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("the cursor is not valid for this request")]
    InvalidCursor,
    #[error("the query string is invalid")]
    InvalidQuery(Vec<FieldError>),
    #[error("authentication is required")]
    Unauthenticated,
    #[error("your role may not do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allowed: Vec<String> },
    #[error("reference_code {reference_code} is already used by {holder} {existing_id}")]
    DuplicateReference {
        reference_code: String,
        existing_id: String,
        /// What holds it: `invoice` or `credit note`.
        holder: &'static str,
    },
    #[error("the email is already registered")]
    EmailTaken,
    #[error("a request with this idempotency key is still in progress")]
    IdempotencyInProgress,
    #[error("{0}")]
    InvalidState(String),
    #[error("the organization has no Factus account connected: PUT /v1/organization/provider first")]
    ProviderNotConfigured,
    #[error("the body is larger than {limit}")]
    PayloadTooLarge { limit: String },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{}", count_message(.0))]
    Validation(Vec<FieldError>),
    #[error("this idempotency key was used with another request")]
    IdempotencyKeyReused,
    #[error("too many failed logins: try again later")]
    AccountLocked { retry_after_seconds: u64 },
    #[error("a dependency is unavailable")]
    Unavailable {
        failing: Vec<FieldError>,
        retry_after_seconds: u64,
    },
    /// Anything unexpected: the client sees an opaque message, the log sees the cause.
    #[error("internal error")]
    Internal(anyhow::Error),
}

/// Seconds a client waits before retrying when the signing keys cannot be read.
const KEYS_RETRY_SECONDS: u64 = 5;

impl From<anyhow::Error> for ApiError {
    /// Internal, unless a dependency that comes back on its own is the cause: then 503.
    fn from(error: anyhow::Error) -> Self {
        if error.chain().any(|cause| cause.is::<KeysUnavailable>()) {
            tracing::warn!(error = format!("{error:#}"), "answering 503");
            return ApiError::Unavailable {
                failing: vec![FieldError::new("signing_keys", "cannot be read at the moment")],
                retry_after_seconds: KEYS_RETRY_SECONDS,
            };
        }
        ApiError::Internal(error)
    }
}

impl From<KeysUnavailable> for ApiError {
    fn from(error: KeysUnavailable) -> Self {
        anyhow::Error::new(error).into()
    }
}

fn count_message(errors: &[FieldError]) -> String {
    match errors.len() {
        1 => "1 field is invalid".to_owned(),
        n => format!("{n} fields are invalid"),
    }
}

/// The error body of docs/API.md.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail,
    pub request_id: &'a str,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_)
            | ApiError::InvalidCsv { .. }
            | ApiError::InvalidCursor
            | ApiError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::DuplicateReference { .. }
            | ApiError::EmailTaken
            | ApiError::IdempotencyInProgress
            | ApiError::InvalidState(_)
            | ApiError::ProviderNotConfigured => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) | ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::AccountLocked { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "INVALID_JSON",
            ApiError::InvalidCsv { .. } => "INVALID_CSV",
            ApiError::InvalidCursor => "INVALID_CURSOR",
            ApiError::InvalidQuery(_) => "INVALID_QUERY",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::Forbidden => "FORBIDDEN",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::DuplicateReference { .. } => "DUPLICATE_REFERENCE",
            ApiError::EmailTaken => "EMAIL_TAKEN",
            ApiError::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            ApiError::InvalidState(_) => "INVALID_STATE",
            ApiError::ProviderNotConfigured => "PROVIDER_NOT_CONFIGURED",
            ApiError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::Validation(_) => "VALIDATION_ERROR",
            ApiError::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ApiError::AccountLocked { .. } => "ACCOUNT_LOCKED",
            ApiError::Unavailable { .. } => "UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    /// The field-level details shown to the client.
    pub fn details(&self) -> Vec<FieldError> {
        match self {
            ApiError::InvalidCsv { details, .. }
            | ApiError::InvalidQuery(details)
            | ApiError::Validation(details)
            | ApiError::Unavailable { failing: details, .. } => details.clone(),
            ApiError::DuplicateReference {
                existing_id, holder, ..
            } => vec![FieldError::new(
                "reference_code",
                format!("already used by {holder} {existing_id}"),
            )],
            _ => Vec::new(),
        }
    }

    /// Extra response headers: `retry-after` on 429 and 503, `allow` on 405.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::AccountLocked { retry_after_seconds }
            | ApiError::Unavailable {
                retry_after_seconds, ..
            } => vec![("retry-after", retry_after_seconds.to_string())],
            ApiError::MethodNotAllowed { allowed } => vec![("allow", allowed.join(", "))],
            _ => Vec::new(),
        }
    }

    /// The body of docs/API.md; a 5xx never carries its cause.
    pub fn body<'a>(&self, request_id: &'a str) -> ErrorBody<'a> {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                details: self.details(),
            },
            request_id,
        }
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        ApiError::Validation(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_the_status_and_code_of_the_api_table() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::InvalidJson("x".into()), 400, "INVALID_JSON"),
            (
                ApiError::InvalidCsv {
                    message: "x".into(),
                    details: vec![],
                },
                400,
                "INVALID_CSV",
            ),
            (ApiError::InvalidCursor, 400, "INVALID_CURSOR"),
            (ApiError::InvalidQuery(vec![]), 400, "INVALID_QUERY"),
            (ApiError::Unauthenticated, 401, "UNAUTHENTICATED"),
            (ApiError::Forbidden, 403, "FORBIDDEN"),
            (ApiError::NotFound, 404, "NOT_FOUND"),
            (
                ApiError::MethodNotAllowed { allowed: vec![] },
                405,
                "METHOD_NOT_ALLOWED",
            ),
            (
                ApiError::DuplicateReference {
                    reference_code: "r".into(),
                    existing_id: "i".into(),
                    holder: "invoice",
                },
                409,
                "DUPLICATE_REFERENCE",
            ),
            (ApiError::EmailTaken, 409, "EMAIL_TAKEN"),
            (ApiError::IdempotencyInProgress, 409, "IDEMPOTENCY_IN_PROGRESS"),
            (ApiError::InvalidState("x".into()), 409, "INVALID_STATE"),
            (ApiError::ProviderNotConfigured, 409, "PROVIDER_NOT_CONFIGURED"),
            (
                ApiError::PayloadTooLarge { limit: "5 MB".into() },
                413,
                "PAYLOAD_TOO_LARGE",
            ),
            (
                ApiError::UnsupportedMediaType("x".into()),
                415,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (ApiError::Validation(vec![]), 422, "VALIDATION_ERROR"),
            (ApiError::IdempotencyKeyReused, 422, "IDEMPOTENCY_KEY_REUSED"),
            (
                ApiError::AccountLocked {
                    retry_after_seconds: 1,
                },
                429,
                "ACCOUNT_LOCKED",
            ),
            (
                ApiError::Unavailable {
                    failing: vec![],
                    retry_after_seconds: 1,
                },
                503,
                "UNAVAILABLE",
            ),
            (ApiError::Internal(anyhow::anyhow!("boom")), 500, "INTERNAL"),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status, "{code}");
            assert_eq!(error.code(), code);
        }
    }

    #[test]
    fn a_server_error_body_does_not_carry_its_cause() {
        let error = ApiError::Internal(anyhow::anyhow!("table arn:aws:dynamodb:secret-table"));
        let body = serde_json::to_string(&error.body("req-1")).unwrap();
        assert_eq!(
            body,
            r#"{"error":{"code":"INTERNAL","message":"internal error"},"request_id":"req-1"}"#
        );
    }

    #[test]
    fn validation_errors_count_their_fields_and_list_them() {
        let error = ApiError::Validation(vec![
            FieldError::new("items[0].quantity", "must be greater than 0"),
            FieldError::new("customer.dv", "is required"),
        ]);
        let body = serde_json::to_value(error.body("r")).unwrap();
        assert_eq!(body["error"]["message"], "2 fields are invalid");
        assert_eq!(body["error"]["details"][0]["field"], "items[0].quantity");
        assert_eq!(body["error"]["details"][1]["message"], "is required");
    }

    #[test]
    fn throttling_and_unavailability_say_when_to_retry() {
        let locked = ApiError::AccountLocked {
            retry_after_seconds: 900,
        };
        assert_eq!(locked.headers(), vec![("retry-after", "900".to_owned())]);
        let not_allowed = ApiError::MethodNotAllowed {
            allowed: vec!["GET".into(), "POST".into()],
        };
        assert_eq!(not_allowed.headers(), vec![("allow", "GET, POST".to_owned())]);
    }
}

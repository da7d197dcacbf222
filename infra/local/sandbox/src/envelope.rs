//! The shapes of Factus's answers: results as `{"status", "message", "data"}`; lists as
//! `data: {"data": [...], "pagination": {"total", "per_page", "current_page", "last_page",
//! "from", "to", "links"}}` (Laravel's paginator: `from` and `to` are null on an empty page);
//! validation errors as `{"status": "Validation error", "message", "data": {"message", "errors":
//! {field or DIAN rule: message}}}`; the other errors as `{"status", "message"}` or Laravel's
//! bare `{"message"}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::rules::Problem;

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// 200 with `data`.
pub fn ok(message: &str, data: Value) -> Response {
    answer(
        StatusCode::OK,
        json!({"status": "OK", "message": message, "data": data}),
    )
}

/// 201 with `data`.
pub fn created(message: &str, data: Value) -> Response {
    answer(
        StatusCode::CREATED,
        json!({"status": "Created", "message": message, "data": data}),
    )
}

/// 200 with no `data` (a deletion, an email sent).
pub fn done(message: &str) -> Response {
    answer(StatusCode::OK, json!({"status": "OK", "message": message}))
}

/// 422: input validation (field paths) or DIAN's rejection (rule codes).
pub fn validation(message: &str, errors: &[Problem]) -> Response {
    let errors: serde_json::Map<String, Value> = errors
        .iter()
        .map(|(field, text)| (field.clone(), Value::String(text.clone())))
        .collect();
    answer(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"status": "Validation error", "message": message, "data": {"message": message, "errors": errors}}),
    )
}

/// 422 of input validation.
pub fn invalid(errors: &[Problem]) -> Response {
    validation("Los datos proporcionados no son válidos.", errors)
}

pub fn not_found(message: &str) -> Response {
    answer(
        StatusCode::NOT_FOUND,
        json!({"status": "Not Found", "message": message}),
    )
}

pub fn conflict(message: &str) -> Response {
    answer(
        StatusCode::CONFLICT,
        json!({"status": "Conflict", "message": message}),
    )
}

/// 402: the account's subscription has no documents left.
pub fn payment_required() -> Response {
    answer(
        StatusCode::PAYMENT_REQUIRED,
        json!({"status": "Payment Required", "message": "No cuenta con documentos disponibles en su suscripción."}),
    )
}

/// 503, as Laravel's maintenance mode answers it.
pub fn unavailable() -> Response {
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"message": "Service Unavailable"}),
    )
}

/// 401, as Laravel's `auth:api` answers it.
pub fn unauthenticated() -> Response {
    answer(StatusCode::UNAUTHORIZED, json!({"message": "Unauthenticated."}))
}

/// 429, as Laravel's throttle answers it.
pub fn too_many(limit: u32, retry_after: u64, reset_epoch: u64) -> Response {
    let mut response = answer(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"message": "Too Many Attempts."}),
    );
    let headers = response.headers_mut();
    headers.insert("retry-after", HeaderValue::from(retry_after));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset_epoch));
    rate_headers(headers, limit, 0);
    response
}

/// `X-RateLimit-Limit` and `X-RateLimit-Remaining`.
pub fn rate_headers(headers: &mut HeaderMap, limit: u32, remaining: u32) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
}

/// Which page of a list: `page`, and `per_page` (top level, as the SDK sends it) or
/// `filter[per_page]` (as the docs say), 10 by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub page: usize,
    pub per_page: usize,
}

impl Paging {
    pub fn of(query: &HashMap<String, String>) -> Self {
        let positive = |key: &str| {
            query
                .get(key)
                .and_then(|value| value.trim().parse::<usize>().ok())
                .filter(|value| *value > 0)
        };
        Self {
            page: positive("page").unwrap_or(1),
            per_page: positive("per_page")
                .or_else(|| positive("filter[per_page]"))
                .unwrap_or(10),
        }
    }

    /// `data: {"data", "pagination"}` of this page of `items`, each rendered by `render`; links
    /// point at `base`.
    pub fn page<T>(self, items: Vec<T>, base: &str, render: impl FnMut(T) -> Value) -> Value {
        let total = items.len();
        let last_page = total.div_ceil(self.per_page).max(1);
        let skip = (self.page - 1).saturating_mul(self.per_page);
        let rows: Vec<Value> = items
            .into_iter()
            .skip(skip)
            .take(self.per_page)
            .map(render)
            .collect();
        let (from, to) = if rows.is_empty() {
            (Value::Null, Value::Null)
        } else {
            (json!(skip + 1), json!(skip + rows.len()))
        };
        let link = |page: usize| format!("{base}?page={page}");
        let mut links = vec![json!({
            "url": (self.page > 1 && self.page <= last_page + 1).then(|| link(self.page - 1)),
            "label": "&laquo; Anterior", "active": false, "page": Value::Null,
        })];
        let mut previous = 0;
        for page in 1..=last_page {
            let near = page <= 2 || page + 2 > last_page || page.abs_diff(self.page) <= 2;
            if !near {
                continue;
            }
            if page > previous + 1 {
                links.push(json!({"url": Value::Null, "label": "...", "active": false, "page": Value::Null}));
            }
            links.push(json!({"url": link(page), "label": page.to_string(), "active": page == self.page, "page": page}));
            previous = page;
        }
        links.push(json!({
            "url": (self.page < last_page).then(|| link(self.page + 1)),
            "label": "Siguiente &raquo;", "active": false, "page": Value::Null,
        }));
        json!({
            "data": rows,
            "pagination": {
                "total": total, "per_page": self.per_page, "current_page": self.page, "last_page": last_page,
                "from": from, "to": to, "links": links,
            }
        })
    }
}

/// The absolute URL of the request's path, for pagination links.
fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    let host = headers
        .get("host")
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{}", uri.path())
}

/// A list request: its query (the filters and the [`Paging`]) and the absolute URL of its path.
pub struct Listing {
    pub query: HashMap<String, String>,
    base_url: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Listing {
    type Rejection = QueryRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::from_request_parts(parts, state).await?;
        Ok(Self {
            query,
            base_url: base_url(&parts.headers, &parts.uri),
        })
    }
}

impl Listing {
    /// 200 with the requested page of `items`, each rendered by `render`.
    pub fn page<T>(&self, items: Vec<T>, render: impl FnMut(T) -> Value) -> Response {
        let page = Paging::of(&self.query).page(items, &self.base_url, render);
        ok("Solicitud exitosa", page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_laravels_paginator() {
        let query = HashMap::from([
            ("page".to_owned(), "2".to_owned()),
            ("filter[per_page]".to_owned(), "2".to_owned()),
        ]);
        let paging = Paging::of(&query);
        assert_eq!(paging, Paging { page: 2, per_page: 2 });
        let page = paging.page((1..=5).collect(), "http://h/v2/bills", |n: i32| json!(n));
        assert_eq!(page["data"], json!([3, 4]));
        let pagination = &page["pagination"];
        assert_eq!(
            (
                &pagination["total"],
                &pagination["last_page"],
                &pagination["from"],
                &pagination["to"]
            ),
            (&json!(5), &json!(3), &json!(3), &json!(4))
        );
        let links = pagination["links"].as_array().unwrap();
        assert_eq!(links.len(), 5);
        assert_eq!(links[0]["url"], "http://h/v2/bills?page=1");
        assert_eq!(links[2]["active"], true);
        let empty = Paging {
            page: 9,
            per_page: 10,
        }
        .page(Vec::<Value>::new(), "b", |row| row);
        assert_eq!(empty["data"], json!([]));
        assert_eq!(empty["pagination"]["from"], Value::Null);
        let top_level = HashMap::from([
            ("per_page".to_owned(), "5".to_owned()),
            ("page".to_owned(), "x".to_owned()),
        ]);
        assert_eq!(Paging::of(&top_level), Paging { page: 1, per_page: 5 });
    }
}

//! API Gateway's CORS, as the template's HTTP API `CorsConfiguration` sets it up: a preflight
//! (`OPTIONS` with `origin` and `access-control-request-method`) is answered by the gateway itself
//! with 204 and the configured headers, whatever the routes; any other request with an allowed
//! `origin` gets `access-control-allow-origin` and the exposed headers added to the function's
//! answer, and CORS headers the function set itself are dropped, as in AWS.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::template::{Resolver, Template, scalar_text};

/// A `CorsConfiguration`, resolved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cors {
    allow_origins: Vec<String>,
    allow_methods: Vec<String>,
    allow_headers: Vec<String>,
    expose_headers: Vec<String>,
    max_age: Option<String>,
    allow_credentials: bool,
}

impl Cors {
    /// The CORS configuration of the template's HTTP API, if it has one.
    pub fn of(template: &Template, resolver: &Resolver<'_>) -> anyhow::Result<Option<Self>> {
        let Some(configuration) = template
            .resources
            .values()
            .filter(|resource| resource.kind == "AWS::Serverless::HttpApi")
            .find_map(|api| api.properties.get("CorsConfiguration"))
        else {
            return Ok(None);
        };
        let configuration = resolver.resolve(configuration)?;
        let list = |name: &str| -> Vec<String> {
            configuration
                .get(name)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(scalar_text)
                .collect()
        };
        Ok(Some(Self {
            allow_origins: list("AllowOrigins"),
            allow_methods: list("AllowMethods"),
            allow_headers: list("AllowHeaders"),
            expose_headers: list("ExposeHeaders"),
            max_age: configuration.get("MaxAge").map(scalar_text),
            allow_credentials: configuration.get("AllowCredentials").map(scalar_text).as_deref()
                == Some("true"),
        }))
    }

    /// What `access-control-allow-origin` says to `origin`: `*`, the origin itself, or nothing.
    fn allowed(&self, origin: &str) -> Option<String> {
        self.allow_origins.iter().find_map(|allowed| {
            if allowed == "*" {
                Some("*".to_owned())
            } else if allowed.eq_ignore_ascii_case(origin)
                || allowed
                    .strip_suffix('*')
                    .is_some_and(|prefix| origin.starts_with(prefix))
            {
                Some(origin.to_owned())
            } else {
                None
            }
        })
    }

    /// The gateway's own answer to a preflight request; `None` when the request is not one.
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Response> {
        let origin = header(headers, "origin")?;
        header(headers, "access-control-request-method")?;
        if *method != Method::OPTIONS {
            return None;
        }
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        if let Some(allowed) = self.allowed(origin) {
            let out = response.headers_mut();
            insert(out, "access-control-allow-origin", &allowed);
            insert(out, "access-control-allow-methods", &self.allow_methods.join(","));
            insert(out, "access-control-allow-headers", &self.allow_headers.join(","));
            if let Some(max_age) = &self.max_age {
                insert(out, "access-control-max-age", max_age);
            }
            if self.allow_credentials {
                insert(out, "access-control-allow-credentials", "true");
            }
        }
        Some(response)
    }

    /// Adds the CORS headers of a request from `origin` to a function's answer.
    pub fn decorate(&self, request: &HeaderMap, response: &mut Response) {
        let out = response.headers_mut();
        let own: Vec<_> = out
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in own {
            out.remove(name);
        }
        let Some(allowed) = header(request, "origin").and_then(|origin| self.allowed(origin)) else {
            return;
        };
        insert(out, "access-control-allow-origin", &allowed);
        if !self.expose_headers.is_empty() {
            insert(
                out,
                "access-control-expose-headers",
                &self.expose_headers.join(","),
            );
        }
        if self.allow_credentials {
            insert(out, "access-control-allow-credentials", "true");
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors {
            allow_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["authorization".into()],
            expose_headers: vec!["x-request-id".into()],
            max_age: Some("600".into()),
            allow_credentials: false,
        }
    }

    fn request(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            insert(&mut headers, name, value);
        }
        headers
    }

    #[test]
    fn a_preflight_needs_an_origin_and_a_requested_method() {
        let cors = cors(&["*"]);
        let full = request(&[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
        ]);
        let answer = cors.preflight(&Method::OPTIONS, &full).unwrap();
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
        assert_eq!(answer.headers()["access-control-allow-origin"], "*");
        assert_eq!(answer.headers()["access-control-allow-methods"], "GET,POST");
        assert_eq!(answer.headers()["access-control-max-age"], "600");
        let no_method = request(&[("origin", "https://app.example")]);
        assert!(cors.preflight(&Method::OPTIONS, &no_method).is_none());
        assert!(cors.preflight(&Method::GET, &full).is_none());
    }

    #[test]
    fn only_allowed_origins_are_named_and_a_function_s_own_cors_headers_are_dropped() {
        let cors = cors(&["https://app.example", "http://*"]);
        let mut answer = Response::new(Body::empty());
        insert(
            answer.headers_mut(),
            "access-control-allow-origin",
            "https://evil.example",
        );
        cors.decorate(&request(&[("origin", "https://evil.example")]), &mut answer);
        assert!(answer.headers().get("access-control-allow-origin").is_none());
        cors.decorate(&request(&[("origin", "http://localhost:5173")]), &mut answer);
        assert_eq!(
            answer.headers()["access-control-allow-origin"],
            "http://localhost:5173"
        );
        assert_eq!(answer.headers()["access-control-expose-headers"], "x-request-id");
    }
}

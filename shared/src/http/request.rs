//! Reading requests: the request id, headers, path and query parameters, and JSON bodies.

use std::collections::BTreeMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use super::ApiError;
use crate::json::{self, Json};
use crate::validation::FieldError;

/// The API Gateway request id (what clients see as `x-request-id`), else Lambda's.
pub fn request_id(request: &Request) -> String {
    let from_gateway = request
        .request_context_ref()
        .and_then(|context| match context {
            RequestContext::ApiGatewayV2(context) => context.request_id.clone(),
            _ => None,
        })
        .filter(|id| !id.is_empty());
    from_gateway
        .or_else(|| {
            request
                .lambda_context_ref()
                .map(|context| context.request_id.clone())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// When Lambda stops this invocation (epoch milliseconds), if it says so usably.
pub fn deadline_ms(request: &Request) -> Option<i64> {
    request.lambda_context_ref().and_then(crate::clock::deadline_ms)
}

/// A header's value, when present and readable.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name)?.to_str().ok()
}

/// The raw bytes of the body, whether API Gateway sent it as text or base64.
pub fn body_bytes(request: &Request) -> &[u8] {
    request.body().as_ref()
}

/// A path parameter; a route without it cannot match, so its absence is a 404.
pub fn path_param(request: &Request, name: &str) -> Result<String, ApiError> {
    request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
        .ok_or(ApiError::NotFound)
}

/// Reads a JSON body of at most `max_bytes`, requiring `Content-Type: application/json`.
/// Numbers keep their exact text (see [`crate::json`]).
pub fn read_json(request: &Request, max_bytes: usize) -> Result<Json, ApiError> {
    let content_type = header(request, "content-type").unwrap_or_default();
    if !is_json(content_type) {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be application/json".to_owned(),
        ));
    }
    let body = body_bytes(request);
    if body.len() > max_bytes {
        return Err(ApiError::PayloadTooLarge {
            limit: human_size(max_bytes),
        });
    }
    json::parse(body).map_err(|e| ApiError::InvalidJson(e.0))
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// `5242880` → `5 MB`; `1000` → `1000 bytes`.
pub(crate) fn human_size(bytes: usize) -> String {
    const MB: usize = 1024 * 1024;
    const KB: usize = 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else if bytes >= KB && bytes.is_multiple_of(KB) {
        format!("{} KB", bytes / KB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The query string, with every parameter checked against the names a route accepts.
#[derive(Debug)]
pub struct Query {
    values: BTreeMap<String, String>,
}

impl Query {
    /// Reads the query string; a parameter outside `allowed`, or repeated, is a 400.
    pub fn read(request: &Request, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut values = BTreeMap::new();
        let mut problems = Vec::new();
        if let Some(params) = request.query_string_parameters_ref() {
            for (name, _) in params.iter() {
                if values.contains_key(name) {
                    continue;
                }
                let all = params.all(name).unwrap_or_default();
                if !allowed.contains(&name) {
                    problems.push(FieldError::new(name, "is not a known parameter"));
                } else if all.len() > 1 {
                    problems.push(FieldError::new(name, "must be given once"));
                } else if let Some(value) = all.first() {
                    values.insert(name.to_owned(), (*value).to_owned());
                }
            }
        }
        if problems.is_empty() {
            Ok(Self { values })
        } else {
            Err(ApiError::InvalidQuery(problems))
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A boolean parameter: `true` or `false`, absent = `false`.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::InvalidQuery(vec![FieldError::new(
                name,
                "must be true or false",
            )])),
        }
    }

    /// An integer parameter within `min..=max`, or `default` when absent.
    pub fn integer(&self, name: &str, min: u32, max: u32, default: u32) -> Result<u32, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(default);
        };
        match text.parse::<u32>() {
            Ok(value) if (min..=max).contains(&value) => Ok(value),
            _ => Err(ApiError::InvalidQuery(vec![FieldError::new(
                name,
                format!("must be an integer from {min} to {max}"),
            )])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use std::collections::HashMap;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder().method("POST").uri("/v1/x");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn a_json_body_is_read_exactly() {
        let json = read_json(
            &request(Some("application/json; charset=utf-8"), r#"{"a": 0.10}"#),
            100,
        )
        .unwrap();
        let Json::Object(members) = json else { panic!() };
        assert_eq!(members["a"], Json::Number("0.10".to_owned()));
    }

    #[test]
    fn json_bodies_are_refused_with_the_documented_errors() {
        let cases = [
            (Some("text/plain"), "{}", "UNSUPPORTED_MEDIA_TYPE"),
            (None, "{}", "UNSUPPORTED_MEDIA_TYPE"),
            (Some("application/json"), "{", "INVALID_JSON"),
            (Some("application/json"), &"x".repeat(101), "PAYLOAD_TOO_LARGE"),
        ];
        for (content_type, body, code) in cases {
            let error = read_json(&request(content_type, body), 100).unwrap_err();
            assert_eq!(error.code(), code, "{content_type:?}");
        }
    }

    #[test]
    fn sizes_are_named_as_people_say_them() {
        assert_eq!(human_size(5 * 1024 * 1024), "5 MB");
        assert_eq!(human_size(64 * 1024), "64 KB");
        assert_eq!(human_size(1000), "1000 bytes");
    }

    fn with_query(pairs: &[(&str, &str)]) -> Request {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in pairs {
            map.entry((*name).to_owned())
                .or_default()
                .push((*value).to_owned());
        }
        request(None, "").with_query_string_parameters(map)
    }

    #[test]
    fn query_parameters_are_checked_against_the_route() {
        let query = Query::read(
            &with_query(&[("limit", "10"), ("deep", "true")]),
            &["limit", "deep"],
        )
        .unwrap();
        assert_eq!(query.integer("limit", 1, 100, 25).unwrap(), 10);
        assert!(query.flag("deep").unwrap());
        assert_eq!(query.integer("absent", 1, 100, 25).unwrap(), 25);

        let unknown = Query::read(&with_query(&[("sort", "x")]), &["limit"]).unwrap_err();
        assert_eq!(unknown.details()[0].field, "sort");
        let repeated = Query::read(&with_query(&[("limit", "1"), ("limit", "2")]), &["limit"]).unwrap_err();
        assert_eq!(repeated.details()[0].message, "must be given once");

        let bad = Query::read(
            &with_query(&[("limit", "0"), ("deep", "yes")]),
            &["limit", "deep"],
        )
        .unwrap();
        assert_eq!(
            bad.integer("limit", 1, 100, 25).unwrap_err().code(),
            "INVALID_QUERY"
        );
        assert_eq!(bad.flag("deep").unwrap_err().code(), "INVALID_QUERY");
    }
}

//! The HTTP gateway: what API Gateway (HTTP API, payload format 2.0) does in front of the
//! functions. Each request becomes the event of the function that the template's routes name
//! (or the `$default` route's), is invoked through the Lambda Runtime API emulator, and the
//! function's answer becomes the HTTP response; CORS is the gateway's, as the template configures
//! it ([`crate::cors`]). Gateway-made errors use API Gateway's own
//! `{"message": ...}` bodies, as in AWS.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use shared::http::route::{Route, percent_decode, select};

use crate::cors::Cors;
use crate::state::FunctionSpec;

/// API Gateway's limit on a request body.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// API Gateway's longest wait for an integration.
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The routing table and the way to invoke functions.
pub struct Gateway {
    /// Every route of the template, and the function that serves it at the same index.
    routes: Vec<Route>,
    targets: Vec<String>,
    default_function: Option<String>,
    runtime_api_url: String,
    client: reqwest::Client,
    account_id: String,
    cors: Option<Cors>,
}

impl Gateway {
    pub fn new(
        functions: &[FunctionSpec],
        runtime_api_url: &str,
        account_id: &str,
        cors: Option<Cors>,
    ) -> Self {
        let (routes, targets) = functions
            .iter()
            .flat_map(|f| {
                f.routes
                    .iter()
                    .map(|(method, path)| (Route::new(method, path), f.name.clone()))
            })
            .unzip();
        Self {
            routes,
            targets,
            default_function: functions.iter().find(|f| f.default_route).map(|f| f.name.clone()),
            runtime_api_url: runtime_api_url.to_owned(),
            client: reqwest::Client::new(),
            account_id: account_id.to_owned(),
            cors,
        }
    }

    /// The function, route key and path parameters for a request, as API Gateway selects them.
    fn target(&self, method: &str, path: &str) -> Option<Target> {
        match select(&self.routes, method, path) {
            Some((route, path_parameters)) => {
                let index = self.routes.iter().position(|r| std::ptr::eq(r, route))?;
                Some(Target {
                    function: self.targets[index].clone(),
                    route_key: format!("{} {}", route.method, route.path),
                    path_parameters,
                })
            }
            None => Some(Target {
                function: self.default_function.clone()?,
                route_key: "$default".to_owned(),
                path_parameters: Vec::new(),
            }),
        }
    }

    pub fn router(self) -> axum::Router {
        axum::Router::new().fallback(serve).with_state(Arc::new(self))
    }
}

/// Where a request goes.
struct Target {
    function: String,
    route_key: String,
    path_parameters: Vec<(String, String)>,
}

async fn serve(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let request_id = ulid::Ulid::generate().to_string();
    let cors = gateway.cors.as_ref();
    if let Some(preflight) = cors.and_then(|cors| cors.preflight(request.method(), request.headers())) {
        return preflight;
    }
    let request_headers = cors.map(|_| request.headers().clone());
    let mut response = match forward(&gateway, &request_id, request).await {
        Ok(response) => response,
        Err((status, message)) => gateway_error(status, message),
    };
    if let (Some(cors), Some(headers)) = (cors, &request_headers) {
        cors.decorate(headers, &mut response);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    response
}

type GatewayError = (StatusCode, &'static str);

async fn forward(gateway: &Gateway, request_id: &str, request: Request) -> Result<Response, GatewayError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"))?;
    let path = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();
    let Target {
        function,
        route_key,
        path_parameters,
    } = gateway
        .target(&method, &path)
        .ok_or((StatusCode::NOT_FOUND, "Not Found"))?;
    let event = Event {
        request_id,
        account_id: &gateway.account_id,
        route_key: &route_key,
        method: &method,
        path: &path,
        query: parts.uri.query().unwrap_or_default(),
        headers: &parts.headers,
        path_parameters: &path_parameters,
        body: &body,
    }
    .to_json();
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        gateway.runtime_api_url
    );
    let answer = gateway
        .client
        .post(url)
        .json(&event)
        .timeout(INTEGRATION_TIMEOUT)
        .send()
        .await
        .map_err(|error| {
            if error.is_timeout() {
                (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
            } else {
                tracing::error!(%function, "invocation failed: {error}");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        })?;
    if !answer.status().is_success() {
        tracing::warn!(%function, status = %answer.status(), "the function failed");
        return Err((StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"));
    }
    let output = answer
        .bytes()
        .await
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))?;
    into_response(&output).ok_or((StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

/// The parts of a request that make its API Gateway v2 event.
struct Event<'a> {
    request_id: &'a str,
    account_id: &'a str,
    route_key: &'a str,
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a HeaderMap,
    path_parameters: &'a [(String, String)],
    body: &'a [u8],
}

impl Event<'_> {
    fn to_json(&self) -> Value {
        let mut headers = Map::new();
        let mut cookies = Vec::new();
        for (name, value) in self.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if name == "cookie" {
                cookies.extend(value.split(';').map(|c| Value::String(c.trim().to_owned())));
                continue;
            }
            match headers.get_mut(name.as_str()) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(&value);
                }
                _ => {
                    headers.insert(name.as_str().to_owned(), Value::String(value));
                }
            }
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let now = time::OffsetDateTime::now_utc();
        let mut event = json!({
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": "local",
                "domainName": header("host"),
                "domainPrefix": header("host").split('.').next().unwrap_or_default(),
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": header("user-agent"),
                },
                "requestId": self.request_id,
                "routeKey": self.route_key,
                "stage": "$default",
                "time": request_time(now),
                "timeEpoch": now.unix_timestamp_nanos() / 1_000_000,
            },
            "isBase64Encoded": false,
        });
        if !cookies.is_empty() {
            event["cookies"] = Value::Array(cookies);
        }
        let query = query_parameters(self.query);
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if !self.path_parameters.is_empty() {
            event["pathParameters"] = self
                .path_parameters
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect::<Map<_, _>>()
                .into();
        }
        if !self.body.is_empty() {
            // HTTP APIs pass text as a string and anything else base64-encoded.
            match std::str::from_utf8(self.body) {
                Ok(text) if is_text(&header("content-type")) => event["body"] = text.into(),
                _ => {
                    event["body"] = BASE64.encode(self.body).into();
                    event["isBase64Encoded"] = true.into();
                }
            }
        }
        event
    }
}

/// `12/Mar/2020:19:03:58 +0000`, as API Gateway writes `requestContext.time`.
fn request_time(now: time::OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[usize::from(u8::from(now.month())) - 1];
    format!(
        "{:02}/{month}/{}:{:02}:{:02}:{:02} +0000",
        now.day(),
        now.year(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// Query parameters as HTTP APIs give them: decoded, repeated ones joined by commas.
fn query_parameters(query: &str) -> Map<String, Value> {
    let mut parameters = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(name), percent_decode(value));
        match parameters.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                parameters.insert(name, Value::String(value));
            }
        }
    }
    parameters
}

fn is_text(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json" | "application/xml" | "application/javascript"
        )
}

/// A function's answer in payload format 2.0 as an HTTP response; `None` when malformed.
fn into_response(output: &[u8]) -> Option<Response> {
    let answer: Value = serde_json::from_slice(output).ok()?;
    let Some(status) = answer.get("statusCode") else {
        // Format 2.0: an answer without statusCode is a 200 whose body is the answer itself.
        return Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(Body::from(output.to_vec()))
            .ok();
    };
    let status = StatusCode::from_u16(u16::try_from(status.as_u64()?).ok()?).ok()?;
    let mut builder = Response::builder().status(status);
    let headers = builder.headers_mut()?;
    for (name, value) in answer
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        append(headers, name, value);
    }
    for (name, values) in answer
        .get("multiValueHeaders")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if headers.contains_key(name.as_str()) {
            continue;
        }
        for value in values.as_array().into_iter().flatten() {
            append(headers, name, value);
        }
    }
    for cookie in answer
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        append(headers, "set-cookie", cookie);
    }
    let body = match answer.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if answer.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            BASE64.decode(text).ok()?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    builder.body(Body::from(body)).ok()
}

fn append(headers: &mut HeaderMap, name: &str, value: &Value) {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(text)) {
        headers.append(name, value);
    }
}

fn gateway_error(status: StatusCode, message: &str) -> Response {
    let mut response = Response::new(Body::from(json!({ "message": message }).to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_query_parameters_are_joined_like_http_apis_do() {
        let query = query_parameters("status=queued&limit=2&status=failed&name=a%20b&flag");
        assert_eq!(query["status"], "queued,failed");
        assert_eq!(query["name"], "a b");
        assert_eq!(query["flag"], "");
    }

    #[test]
    fn only_text_bodies_travel_as_strings() {
        assert!(is_text("application/json; charset=utf-8"));
        assert!(is_text("text/csv"));
        assert!(is_text("application/problem+json"));
        assert!(!is_text("application/octet-stream"));
        assert!(!is_text(""));
    }

    #[test]
    fn a_binary_request_body_is_base64_encoded() {
        let headers = HeaderMap::from_iter([(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("text/csv"),
        )]);
        let event = Event {
            request_id: "r",
            account_id: "0",
            route_key: "$default",
            method: "POST",
            path: "/x",
            query: "",
            headers: &headers,
            path_parameters: &[],
            body: b"caf\xe9",
        }
        .to_json();
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(
            BASE64.decode(event["body"].as_str().unwrap()).unwrap(),
            b"caf\xe9"
        );
    }

    #[test]
    fn a_function_answer_becomes_the_response() {
        let answer = br#"{"statusCode":201,"headers":{"content-type":"application/json","x-request-id":"r1"},
            "multiValueHeaders":{"x-request-id":["ignored"]},"cookies":["a=b"],"body":"{\"ok\":true}","isBase64Encoded":false}"#;
        let response = into_response(answer).unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["x-request-id"], "r1");
        assert_eq!(response.headers().get_all("x-request-id").iter().count(), 1);
        assert_eq!(response.headers()["set-cookie"], "a=b");
        assert!(into_response(b"not json").is_none());
        assert_eq!(into_response(br#"{"hello":1}"#).unwrap().status(), StatusCode::OK);
    }

    #[test]
    fn the_request_time_reads_like_api_gateway_s() {
        let at = time::OffsetDateTime::from_unix_timestamp(1_583_348_638).unwrap();
        assert_eq!(request_time(at), "04/Mar/2020:19:03:58 +0000");
    }
}

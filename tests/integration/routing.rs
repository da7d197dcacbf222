//! Requests no route of the template takes go to the `$default` function, as in AWS.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::accounts::{login, signup};
use crate::support::{api, http, local_only};

#[tokio::test]
async fn an_unknown_path_is_a_404_in_the_error_shape() {
    let response = http().get(api("/v1/no-such-thing")).send().await.unwrap();

    assert_eq!(response.status(), 404);
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    assert_eq!(body["request_id"], request_id);
}

#[tokio::test]
async fn a_known_path_with_another_method_is_a_405_listing_the_allowed_ones() {
    let response = http().delete(api("/v1/health")).send().await.unwrap();

    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn every_answer_carries_its_own_request_id() {
    let client = http();
    let first = client.get(api("/v1/health")).send().await.unwrap();
    let second = client.get(api("/v1/nowhere")).send().await.unwrap();

    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!id(&first).is_empty());
    assert_ne!(id(&first), id(&second));
}

#[tokio::test]
async fn every_answer_carries_the_headers_browsers_and_proxies_rely_on() {
    let account = signup().await;
    let client = http();
    let answers = [
        client.get(api("/v1/health")).send().await.unwrap(),
        client.get(api("/v1/nowhere")).send().await.unwrap(),
        client
            .get(api("/v1/users/me"))
            .bearer_auth(&account.access)
            .send()
            .await
            .unwrap(),
        login(&account.email, &account.password).await,
    ];
    for answer in &answers {
        let headers = answer.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{}", answer.url());
        let hsts = headers["strict-transport-security"].to_str().unwrap();
        assert!(hsts.starts_with("max-age="), "{hsts}");
        assert_eq!(headers["cache-control"], "no-store", "{}", answer.url());
    }
    let spec = client.get(api("/v1/openapi.json")).send().await.unwrap();
    assert_eq!(spec.headers()["x-content-type-options"], "nosniff");
    assert!(
        spec.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
}

#[tokio::test]
async fn a_browser_s_preflight_is_answered_as_the_template_configures_cors() {
    let preflight = http()
        .request(reqwest::Method::OPTIONS, api("/v1/invoices"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,idempotency-key")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    let methods = headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    // Every method the API serves: a browser client connects the Factus account (PUT), picks
    // its default ranges (PATCH) and disconnects it (DELETE) too.
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{method} is not allowed: {methods}");
    }
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("idempotency-key") && allowed.contains("authorization"),
        "{allowed}"
    );
    assert_eq!(headers["access-control-max-age"], "600");

    // The request itself: the origin is allowed and the API's own headers are exposed.
    let answer = http()
        .get(api("/v1/health"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    let exposed = answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.to_ascii_lowercase().contains("x-request-id"), "{exposed}");
}

#[tokio::test]
async fn the_served_openapi_document_describes_exactly_the_routes_of_the_template() {
    let response = http().get(api("/v1/openapi.json")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let spec: Value = response.json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let Some(stack) = local_only("the template's routes") else {
        return;
    };
    let described: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            let methods = operations.as_object().unwrap().keys();
            methods
                .filter(|method| ["get", "post", "put", "patch", "delete"].contains(&method.as_str()))
                .map(|method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let routes: BTreeSet<(String, String)> = stack
        .functions
        .iter()
        .flat_map(|function| function.routes.iter().cloned())
        .collect();
    assert_eq!(described, routes);
}

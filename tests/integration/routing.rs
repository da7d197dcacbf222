//! Requests no route of the template takes go to the `$default` function, as in AWS.

use serde_json::Value;

use crate::support::{api, http};

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

//! Rotating the JWT key ring: tokens signed with the previous key keep working until they
//! expire; a key removed from the ring stops working once a function re-reads the ring.
//!
//! The shared stack's ring must not change under the other tests, so this runs a `users-me`
//! process of its own on a key ring of its own, with a one-second cache.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::support::accounts::signup;
use crate::support::runtime::{LoneFunction, environment_of};
use crate::support::tokens::{claims_of, sign};
use crate::support::{emulator_sdk, local_only, stack, unique};

const K1: &str = "first-key-0123456789abcdef0123456789abcdef";
const K2: &str = "second-key-0123456789abcdef0123456789abcdef";

fn me_event(token: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../events/users-me/me.json")).unwrap();
    event["headers"]["authorization"] = json!(format!("Bearer {token}"));
    event
}

async fn status(function: &LoneFunction, token: &str) -> u64 {
    function.invoke(me_event(token)).await.unwrap()["statusCode"]
        .as_u64()
        .unwrap()
}

/// A key ring of its own holding k1, and the environment of a `users-me` that reads it with a
/// one-second cache; with the claims of a new account's token.
async fn own_ring(
    name: &str,
) -> (
    aws_sdk_secretsmanager::Client,
    String,
    BTreeMap<String, String>,
    Map<String, Value>,
) {
    let account = signup().await;
    let claims: Map<String, Value> = claims_of(&account.access);
    let secrets = aws_sdk_secretsmanager::Client::new(&emulator_sdk().await);
    let ring = secrets
        .create_secret()
        .name(unique(name))
        .secret_string(json!({"active": "k1", "k1": K1}).to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let mut environment = environment_of("users-me", &stack().emulator_url);
    environment.insert("JWT_SECRET_ID".to_owned(), ring.clone());
    environment.insert("KEY_RING_CACHE_SECONDS".to_owned(), "1".to_owned());
    (secrets, ring, environment, claims)
}

#[tokio::test]
async fn a_rotated_key_keeps_verifying_and_a_removed_one_stops() {
    let Some(_) = local_only("to write the key ring and start a function with it") else {
        return;
    };
    let (secrets, ring, environment, claims) = own_ring("rotation-ring").await;
    let users_me = LoneFunction::start("users-me", &environment).await;
    let before = sign(&claims, "k1", K1.as_bytes());
    assert_eq!(status(&users_me, &before).await, 200);

    // Rotation: add k2 and make it active.
    let rotated = json!({"active": "k2", "k1": K1, "k2": K2}).to_string();
    secrets
        .put_secret_value()
        .secret_id(&ring)
        .secret_string(rotated)
        .send()
        .await
        .unwrap();
    let after = sign(&claims, "k2", K2.as_bytes());
    assert_eq!(status(&users_me, &after).await, 200, "a new kid is read at once");
    assert_eq!(
        status(&users_me, &before).await,
        200,
        "the previous key still verifies"
    );

    // Removal: k1 leaves the ring; once the cache expires, its tokens fail.
    let removed = json!({"active": "k2", "k2": K2}).to_string();
    secrets
        .put_secret_value()
        .secret_id(&ring)
        .secret_string(removed)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(status(&users_me, &before).await, 401);
    assert_eq!(status(&users_me, &after).await, 200);
}

#[tokio::test]
async fn a_secrets_manager_outage_serves_the_last_keys_and_without_any_answers_503() {
    let Some(_) = local_only("to delete a key ring and start functions with it") else {
        return;
    };
    let (secrets, ring, environment, claims) = own_ring("outage-ring").await;
    let token = sign(&claims, "k1", K1.as_bytes());
    let users_me = LoneFunction::start("users-me", &environment).await;
    assert_eq!(status(&users_me, &token).await, 200);

    // The ring can no longer be read: the keys read before keep serving past the cache's life.
    secrets
        .delete_secret()
        .secret_id(&ring)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(status(&users_me, &token).await, 200);

    // A function that never read its ring has no keys: 503 with retry-after, never 500.
    let unread = LoneFunction::start("users-me", &environment).await;
    let answer = unread.invoke(me_event(&token)).await.unwrap();
    assert_eq!(answer["statusCode"], 503, "{answer}");
    let retry_after = answer["headers"]["retry-after"].as_str().unwrap_or_default();
    assert!(retry_after.parse::<u64>().is_ok_and(|s| s > 0), "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "UNAVAILABLE");
}

//! Tokens made by hand, to attack the API with: signed with the stack's own key ring (read from
//! the emulator, as only an insider could), or forged.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

use super::accounts::Account;
use super::{emulator_sdk, stack};

/// The stack's key ring: the active kid and its key.
pub async fn active_key() -> (String, Vec<u8>) {
    let secrets = aws_sdk_secretsmanager::Client::new(&emulator_sdk().await);
    let value = secrets
        .get_secret_value()
        .secret_id(stack().reference("JwtKeyRing").unwrap())
        .send()
        .await
        .unwrap();
    let ring: Map<String, Value> = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    let kid = ring["active"].as_str().unwrap().to_owned();
    let key = ring[&kid].as_str().unwrap().as_bytes().to_vec();
    (kid, key)
}

/// The claims of `token`, read without verifying.
pub fn claims_of(token: &str) -> Map<String, Value> {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Signs `claims` with HS256 under `kid`.
pub fn sign(claims: &Map<String, Value>, kid: &str, key: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key)).unwrap()
}

/// A token with any header, unsigned or with a made-up signature.
pub fn forge(header: &Value, claims: &Map<String, Value>, signature: &str) -> String {
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
    format!(
        "{}.{}.{signature}",
        part(header),
        part(&Value::Object(claims.clone()))
    )
}

/// Every way an `Authorization` header can be wrong for `account` (`None`: no header), by
/// name: each must be a 401. Needs the local stack: some are signed with its real key.
pub async fn attacks(account: &Account) -> Vec<(&'static str, Option<String>)> {
    let (kid, key) = active_key().await;
    let claims = claims_of(&account.access);
    let with = |changes: &[(&str, Value)], removed: &[&str]| -> Map<String, Value> {
        let mut changed = claims.clone();
        for (name, value) in changes {
            changed.insert((*name).to_owned(), value.clone());
        }
        for name in removed {
            changed.remove(*name);
        }
        changed
    };
    let now = claims["iat"].as_i64().unwrap();
    let mut parts = account.access.split('.');
    let (header, payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let tampered = with(
        &[
            ("role", json!("owner")),
            ("org", json!("01ANOTHERORGANIZATION0000")),
        ],
        &[],
    );
    let bearer = |token: String| Some(format!("Bearer {token}"));
    vec![
        ("no header", None),
        ("not bearer", Some(format!("Basic {}", account.access))),
        ("garbage", bearer("not.a.token".to_owned())),
        ("empty bearer", bearer(String::new())),
        ("8 KB bearer", bearer("A".repeat(8 * 1024))),
        (
            "alg none",
            bearer(forge(&json!({"alg": "none", "typ": "JWT"}), &claims, "")),
        ),
        (
            "alg HS512",
            bearer(forge(&json!({"alg": "HS512", "kid": kid}), &claims, signature)),
        ),
        (
            "alg RS256",
            bearer(forge(&json!({"alg": "RS256", "kid": kid}), &claims, signature)),
        ),
        (
            "tampered payload",
            bearer(forge(
                &json!({"alg": "HS256", "kid": kid, "typ": "JWT"}),
                &tampered,
                signature,
            )),
        ),
        (
            "wrong signature",
            bearer(format!("{header}.{payload}.{}", "A".repeat(43))),
        ),
        (
            "signed with another key",
            bearer(sign(&claims, &kid, b"an attacker's key of 32 bytes...")),
        ),
        (
            "expired",
            bearer(sign(
                &with(&[("iat", json!(now - 3600)), ("exp", json!(now - 1800))], &[]),
                &kid,
                &key,
            )),
        ),
        (
            "wrong audience",
            bearer(sign(&with(&[("aud", json!("someone-else"))], &[]), &kid, &key)),
        ),
        (
            "wrong issuer",
            bearer(sign(&with(&[("iss", json!("someone-else"))], &[]), &kid, &key)),
        ),
        ("no expiry", bearer(sign(&with(&[], &["exp"]), &kid, &key))),
        ("refresh token as access", bearer(account.refresh.clone())),
        ("unknown kid", bearer(sign(&claims, "k-unknown", &key))),
    ]
}
